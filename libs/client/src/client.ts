import { BulkheadRejectedError, bulkhead, type BulkheadPolicy } from 'cockatiel';
import { readAnswer, transientReading, unexpected, type Answer, type Reading } from './answers';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffOptions } from './backoff';
import { systemClientClock, type ClientClock, type Random } from './clock';
import { CouponClientError } from './errors';
import type { ClientMetrics, LocalReason } from './metrics';
import type {
  BudgetOutcome,
  CampaignOutcome,
  ClaimOutcome,
  CouponOutcome,
  NotDone,
  Overloaded,
  ProtocolViolation,
  RedeemOutcome,
  ReverseOutcome,
  Transient,
} from './outcomes';
import { DEFAULT_RETRY_BUDGET, RetryBudget } from './retryBudget';
import {
  budgetRoute,
  campaignRoute,
  claimRoute,
  couponRoute,
  redeemRoute,
  reverseRoute,
  type ClaimInput,
  type ClaimMemory,
  type CouponInput,
  type RedeemInput,
  type ReverseInput,
  type Route,
} from './routes';
import { DEFAULT_SOLD_OUT_MEMORY, SoldOutMemory } from './soldOutMemory';
import { AdaptiveThrottle, DEFAULT_THROTTLE } from './throttle';
import {
  DEFAULT_UNDICI_TRANSPORT,
  TransportError,
  UndiciTransport,
  type HttpRequest,
  type Transport,
} from './transport';
import { UncertainClaims } from './uncertainClaims';
import { HEADER, MAX_REQUEST_TIMEOUT_MS } from './wire';

import {
  atLeast1,
  DEFAULTS,
  positive,
  type CallOptions,
  type ClientState,
  type CouponClientOptions,
} from './options';

export type { ClaimInput, CouponInput, RedeemInput, ReverseInput } from './routes';
export type { CallOptions, ClientState, CouponClientOptions } from './options';

/** How one attempt ended, before reading. */
type Exchange =
  | { type: 'answer'; answer: Answer }
  | { type: 'lost'; error: TransportError }
  /** The deadline came while the call waited for a request slot here: nothing was sent. */
  | { type: 'late' };

class AttemptDeadline extends Error {
  constructor() {
    super('the attempt reached the call deadline');
  }
}

/**
 * The coupon service's client. One per process (or per simulated instance): its retry budget,
 * throttles and sold-out memory are that instance's view of the service. Every call ends in an
 * outcome (a discriminated union) within its deadline; faults the caller cannot act on throw
 * CouponClientError.
 *
 * Per call: a local answer when one is due (sold-out memory for claims, the throttle, a full
 * bulkhead); otherwise attempts, each with the deadline's remainder in X-Request-Timeout-Ms,
 * retried only for answers that say "not now" (503, 429, 408) or a lost exchange, after
 * Retry-After and a jittered backoff, while the retry budget has a token and the wait fits
 * the deadline.
 */
export class CouponClient {
  private readonly transport: Transport;
  private readonly clock: ClientClock;
  private readonly random: Random;
  private readonly metrics: ClientMetrics;
  private readonly deadlineMs: number;
  private readonly maxAttempts: number;
  private readonly minAttemptMs: number;
  private readonly backoff: BackoffOptions;
  private readonly localSeconds: { min: number; max: number };
  private readonly horizonMs: number;
  private readonly authorization: string;
  private readonly retryBudget: RetryBudget;
  private readonly throttles: { claim: AdaptiveThrottle; other: AdaptiveThrottle } | undefined;
  private readonly claimMemory: ClaimMemory;
  private readonly bulkhead: BulkheadPolicy;
  private closed = false;

  constructor(options: CouponClientOptions) {
    this.clock = options.clock ?? systemClientClock;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? {};
    this.deadlineMs = positive('deadlineMs', options.deadlineMs ?? DEFAULTS.deadlineMs);
    this.maxAttempts = atLeast1('maxAttempts', options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.minAttemptMs = options.minAttemptMs ?? DEFAULTS.minAttemptMs;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.localSeconds = options.localRetryAfterSeconds ?? DEFAULTS.localRetryAfterSeconds;
    if (!(this.localSeconds.min >= 1 && this.localSeconds.max >= this.localSeconds.min))
      throw new RangeError('localRetryAfterSeconds needs 1 <= min <= max');
    this.horizonMs = positive('horizonMs', options.horizonMs ?? DEFAULTS.horizonMs);
    if (this.horizonMs < 1_000) throw new RangeError('horizonMs must be at least 1000');
    if (options.apiKey === '') throw new RangeError('apiKey must not be empty');
    this.authorization = `Bearer ${options.apiKey}`;
    this.retryBudget = new RetryBudget(
      { ...DEFAULT_RETRY_BUDGET, ...options.retryBudget },
      this.clock,
    );
    if (options.throttle !== false) {
      const throttle = { ...DEFAULT_THROTTLE, ...options.throttle };
      this.throttles = {
        claim: new AdaptiveThrottle(throttle, this.clock, this.random),
        other: new AdaptiveThrottle(throttle, this.clock, this.random),
      };
    }
    this.claimMemory = {
      namespace: options.idempotencyNamespace ?? DEFAULTS.idempotencyNamespace,
      uncertain: new UncertainClaims(),
      soldOut:
        options.soldOutMemory === false
          ? undefined
          : new SoldOutMemory(
              { ...DEFAULT_SOLD_OUT_MEMORY, ...options.soldOutMemory, horizonMs: this.horizonMs },
              this.clock,
              this.random,
            ),
    };
    const connection = { ...DEFAULT_UNDICI_TRANSPORT, ...options.connection };
    this.transport = options.transport ?? new UndiciTransport(options.baseUrl, connection);
    const maxConcurrent = options.bulkhead?.maxConcurrent ?? connection.connections;
    this.bulkhead = bulkhead(
      atLeast1('bulkhead.maxConcurrent', maxConcurrent),
      options.bulkhead?.maxQueued ?? 4 * maxConcurrent,
    );
  }

  /**
   * Claims a coupon for the user. The Idempotency-Key comes from `intentId` (derived), from
   * `idempotencyKey`, or is made here; every retry reuses it, and the outcome carries it.
   */
  async claim(input: ClaimInput, options: CallOptions = {}): Promise<ClaimOutcome> {
    this.open();
    const route = claimRoute(input, this.claimMemory);
    return { ...(await this.call(route, options)), idempotencyKey: route.idempotencyKey };
  }

  /** Redeems a coupon for an order; the same orderId again is a replay, so retries are safe. */
  async redeem(input: RedeemInput, options: CallOptions = {}): Promise<RedeemOutcome> {
    this.open();
    return this.call(redeemRoute(input), options);
  }

  /** The order was cancelled: the coupon becomes usable again. Idempotent. */
  async reverse(input: ReverseInput, options: CallOptions = {}): Promise<ReverseOutcome> {
    this.open();
    return this.call(reverseRoute(input), options);
  }

  /** A coupon, shown to its owner only (anyone else: not_found). */
  async coupon(input: CouponInput, options: CallOptions = {}): Promise<CouponOutcome> {
    this.open();
    return this.call(couponRoute(input), options);
  }

  /** The campaign: window, value, per-user limits, time zone, today's tranche, next release. */
  async campaign(campaignId: string, options: CallOptions = {}): Promise<CampaignOutcome> {
    this.open();
    return this.call(campaignRoute(campaignId), options);
  }

  /** The budget in fen: pool, released, issued, remaining, today, next release, per shard. */
  async budget(campaignId: string, options: CallOptions = {}): Promise<BudgetOutcome> {
    this.open();
    return this.call(budgetRoute(campaignId), options);
  }

  state(): ClientState {
    return {
      throttle: {
        claim: this.throttles?.claim.rejectProbability() ?? 0,
        other: this.throttles?.other.rejectProbability() ?? 0,
      },
      retryTokens: this.retryBudget.balance(),
      closedCampaigns: this.claimMemory.soldOut?.snapshot() ?? {},
      uncertainClaims: this.claimMemory.uncertain.size,
      bulkhead: { free: this.bulkhead.executionSlots, queueFree: this.bulkhead.queueSlots },
    };
  }

  /** Closes the connections; calls made afterwards throw CouponClientError CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }

  private open(): void {
    if (this.closed) throw new CouponClientError('CLOSED', 'the client is closed');
  }

  /** The route's request with what every request carries: the key, the deadline's remainder. */
  private request<R>(route: Route<R>, timeoutMs: number): HttpRequest {
    const { method, path, body } = route;
    const headers = {
      [HEADER.authorization]: this.authorization,
      [HEADER.requestTimeoutMs]: String(
        Math.max(1, Math.min(MAX_REQUEST_TIMEOUT_MS, Math.floor(timeoutMs))),
      ),
      ...(body === undefined ? {} : { [HEADER.contentType]: 'application/json' }),
      ...route.headers,
    };
    return body === undefined ? { method, path, headers } : { method, path, headers, body };
  }

  private localSecondsDraw(): number {
    const { min, max } = this.localSeconds;
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private localOverload(source: 'throttle' | 'bulkhead'): Overloaded {
    return { kind: 'overloaded', retryAfterSeconds: this.localSecondsDraw(), source };
  }

  /** The retry loop every route goes through. */
  private async call<R extends { kind: string }>(
    route: Route<R>,
    options: CallOptions,
  ): Promise<R & { attempts: number; maybeDone: boolean }> {
    const { op } = route;
    const deadlineMs = positive('deadlineMs', options.deadlineMs ?? this.deadlineMs);
    const deadlineAt = this.clock.now() + deadlineMs;
    // A deadline shorter than minAttemptMs still gets its first attempt.
    const minAttemptMs = Math.min(this.minAttemptMs, deadlineMs);
    let attempts = 0;
    let maybeDone = false;
    let last: Transient | undefined;
    const end = (result: R | NotDone): R & { attempts: number; maybeDone: boolean } => {
      this.metrics.outcome?.(op, result.kind);
      return { ...(result as R), attempts, maybeDone };
    };
    const local = (result: R | NotDone, reason: LocalReason) => {
      this.metrics.localRejection?.(op, reason);
      return end(result);
    };
    const throttle = this.throttles?.[route.priority];

    try {
      for (;;) {
        options.signal?.throwIfAborted();
        const remembered = route.local?.();
        if (remembered !== undefined) return local(remembered, 'sold_out');
        if (deadlineAt - this.clock.now() < minAttemptMs) return end(last ?? this.noTime());
        if (this.bulkhead.executionSlots <= 0 && this.bulkhead.queueSlots <= 0)
          return local(this.localOverload('bulkhead'), 'bulkhead');
        if (throttle !== undefined && !throttle.admit())
          return local(this.localOverload('throttle'), 'throttle');
        if (attempts === 0) this.retryBudget.deposit();

        const exchange = await this.exchange(route, deadlineAt, minAttemptMs, options.signal);
        if (exchange.type === 'late') return local(this.localOverload('bulkhead'), 'bulkhead');
        attempts += 1;
        const reading = this.readExchange(route, exchange);
        this.metrics.attempt?.(
          op,
          exchange.type === 'answer' ? String(exchange.answer.status) : exchange.error.kind,
        );
        throttle?.settle(reading.accepted);
        if (reading.maybeDone) maybeDone = true;
        route.observe?.(reading);

        const step = reading.step;
        if (step.type === 'final') return end(step.result);
        if (step.type === 'fault') throw step.error;
        if (step.type === 'protocol') return end(this.protocol(step.violation));
        last = step.result;
        if (attempts >= this.maxAttempts) return end(last);
        const wait = retryDelayMs(attempts, step.retryAfterSeconds, this.backoff, this.random);
        // A wait that leaves no time for the attempt after it: answer now.
        if (this.clock.now() + wait + minAttemptMs > deadlineAt) return end(last);
        if (!this.retryBudget.tryWithdraw()) {
          this.metrics.retryBudgetExhausted?.(op);
          return end(last);
        }
        this.metrics.retry?.(op, step.reason);
        await this.clock.sleep(wait, options.signal);
      }
    } catch (err) {
      this.metrics.outcome?.(op, 'error');
      // An abort while waiting to retry rejects with the caller's reason, as one before it does.
      if (options.signal?.aborted === true) throw options.signal.reason;
      throw err;
    }
  }

  private protocol(violation: Omit<ProtocolViolation, 'kind' | 'retryAfterSeconds'>) {
    return { kind: 'protocol', ...violation, retryAfterSeconds: this.localSecondsDraw() } as const;
  }

  /** A call whose deadline leaves no time for a request. */
  private noTime(): Transient {
    return { kind: 'unavailable', retryAfterSeconds: this.localSecondsDraw(), cause: 'no_answer' };
  }

  private readExchange<R>(route: Route<R>, exchange: Exchange): Reading<R> {
    if (exchange.type === 'lost') {
      const sent = exchange.error.kind === 'no_answer';
      return {
        step: {
          type: 'retry',
          result: {
            kind: 'unavailable',
            retryAfterSeconds: this.localSecondsDraw(),
            cause: exchange.error.kind,
          },
          reason: exchange.error.kind,
        },
        accepted: false,
        maybeDone: sent,
      };
    }
    if (exchange.type === 'late') throw new Error('unreachable: a late exchange is not read');
    const answer = exchange.answer;
    return (
      transientReading(answer, () => this.localSecondsDraw()) ??
      route.read(answer, {
        nowMs: this.clock.now(),
        horizonMs: this.horizonMs,
        expect: route.expect,
      }) ??
      unexpected<R>(answer)
    );
  }

  /**
   * One attempt: a request slot from the bulkhead (waiting in its queue if need be), then the
   * request with what is left of the deadline. The deadline ends it wherever it is.
   */
  private async exchange<R>(
    route: Route<R>,
    deadlineAt: number,
    minAttemptMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<Exchange> {
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new AttemptDeadline()),
      Math.max(0, deadlineAt - this.clock.now()),
    );
    timer.unref();
    const signal =
      callerSignal === undefined ? timeout.signal : AbortSignal.any([callerSignal, timeout.signal]);
    let sent = false;
    try {
      const response = await untilAborted(
        this.bulkhead.execute(async () => {
          const left = deadlineAt - this.clock.now();
          if (left < minAttemptMs) throw new AttemptDeadline();
          sent = true;
          return this.transport.send(this.request(route, left), signal);
        }, signal),
        signal,
      );
      return {
        type: 'answer',
        answer: readAnswer(response, this.clock.now(), this.horizonMs),
      };
    } catch (err) {
      if (callerSignal?.aborted === true) throw callerSignal.reason;
      if (!sent && (err instanceof AttemptDeadline || timeout.signal.aborted))
        return { type: 'late' };
      if (err instanceof AttemptDeadline || timeout.signal.aborted)
        return {
          type: 'lost',
          error: new TransportError('no_answer', 'no answer within the deadline'),
        };
      if (err instanceof TransportError) return { type: 'lost', error: err };
      if (err instanceof BulkheadRejectedError) return { type: 'late' };
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
