import { BulkheadRejectedError, bulkhead, type BulkheadPolicy } from 'cockatiel';
import {
  readAnswer,
  readBudget,
  readCampaign,
  readClaim,
  readCoupon,
  readRedemption,
  readReversal,
  transientReading,
  unexpected,
  type Answer,
  type Reading,
} from './answers';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffOptions } from './backoff';
import { systemClock, type Clock, type Random } from './clock';
import { CouponClientError } from './errors';
import { claimKeyFor, newClaimKey } from './idempotency';
import type { ClientMetrics, LocalReason } from './metrics';
import type {
  BudgetOutcome,
  BudgetResult,
  CampaignOutcome,
  CampaignResult,
  ClaimOutcome,
  ClaimResult,
  CouponOutcome,
  CouponResult,
  Operation,
  Overloaded,
  RedeemOutcome,
  RedeemResult,
  ReverseOutcome,
  ReverseResult,
  Transient,
} from './outcomes';
import { DEFAULT_RETRY_BUDGET, RetryBudget, type RetryBudgetOptions } from './retryBudget';
import {
  DEFAULT_SOLD_OUT_MEMORY,
  SoldOutMemory,
  type ClosedEntry,
  type SoldOutMemoryOptions,
} from './soldOutMemory';
import { AdaptiveThrottle, DEFAULT_THROTTLE, type ThrottleOptions } from './throttle';
import {
  DEFAULT_UNDICI_TRANSPORT,
  TransportError,
  UndiciTransport,
  type HttpRequest,
  type Transport,
  type UndiciTransportOptions,
} from './transport';
import { UncertainClaims } from './uncertainClaims';
import {
  HEADER,
  isCampaignId,
  isIdempotencyKey,
  isOrderId,
  isUserId,
  MAX_REQUEST_TIMEOUT_MS,
  PATHS,
} from './wire';

export interface CouponClientOptions {
  /** The service's origin, e.g. http://coupon-service:8080. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** The whole call, every retry and wait included, ends within this. Default 5000. */
  deadlineMs?: number;
  /** Requests per call at most, the first included. Default 3. */
  maxAttempts?: number;
  /** No attempt starts with less of the deadline left than this. Default 100. */
  minAttemptMs?: number;
  /** Default { baseMs: 100, capMs: 2000 }. */
  backoff?: Partial<BackoffOptions>;
  /** Default { ratio: 0.1, windowMs: 10000, minRetries: 2 }. */
  retryBudget?: Partial<RetryBudgetOptions>;
  /** Default { k: 2, windowMs: 5000, minRequests: 10 }; one for claims, one for the rest; false: off. */
  throttle?: Partial<ThrottleOptions> | false;
  /** Default { spreadMs: 60000, finalMs: 60000 }; false: every claim goes to the service. */
  soldOutMemory?: Partial<SoldOutMemoryOptions> | false;
  /** In-flight requests at most, and calls waiting for one. Default connections, 4 x connections. */
  bulkhead?: { maxConcurrent?: number; maxQueued?: number };
  /** The undici pool. Default { connections: 16, keepAliveTimeoutMs: 4000, connectTimeoutMs: 1000 }. */
  connection?: Partial<UndiciTransportOptions>;
  /** The wait a local refusal or a lost answer suggests, uniform in [min, max]. Default 1..5. */
  localRetryAfterSeconds?: { min: number; max: number };
  /** Keys derived from intent ids are hashed with this. Default 'coupons-client'. */
  idempotencyNamespace?: string;
  /** Replaces the undici pool (tests, instrumentation). */
  transport?: Transport;
  clock?: Clock;
  random?: Random;
  metrics?: ClientMetrics;
}

export interface CallOptions {
  /** This call's deadline instead of the client's. */
  deadlineMs?: number;
  /** Ends the call: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ClaimInput {
  campaignId: string;
  userId: string;
  /**
   * The caller's own id of the user's intent (a chat message id): the Idempotency-Key is derived
   * from it, so the same intent never gets two coupons however often it is processed.
   */
  intentId?: string;
  /** A key of the caller's own (e.g. one returned by an earlier outcome); else one is made. */
  idempotencyKey?: string;
}

export interface RedeemInput {
  campaignId: string;
  code: string;
  userId: string;
  /** One redemption per orderId: a retry with it is a replay. */
  orderId: string;
  orderAmountFen: number;
}

export interface ReverseInput {
  campaignId: string;
  code: string;
  userId: string;
  orderId: string;
}

export interface CouponInput {
  campaignId: string;
  code: string;
  userId: string;
}

/** The policies' state now, for dashboards, benches and tests. */
export interface ClientState {
  /** The local refusal probability of each throttle (0 while the service accepts everything). */
  throttle: { claim: number; other: number };
  /** Retry tokens left. */
  retryTokens: number;
  /** Campaigns answered from memory now. */
  closedCampaigns: Record<string, ClosedEntry>;
  /** Claims that may have been served without an answer, remembered. */
  uncertainClaims: number;
  /** Free request slots and free queue places. */
  bulkhead: { free: number; queueFree: number };
}

/** How one attempt ended, before reading. */
type Exchange =
  | { type: 'answer'; answer: Answer }
  | { type: 'lost'; error: TransportError }
  /** The deadline came while the call waited for a request slot here: nothing was sent. */
  | { type: 'late' };

/** One route, as the retry loop needs it. */
interface Route<R> {
  op: Operation;
  build: (timeoutMs: number) => HttpRequest;
  read: (answer: Answer, nowMs: number) => Reading<R> | undefined;
  priority: 'claim' | 'other';
  /** An answer from memory before an attempt, if any (claims: the sold-out memory). */
  local?: () => R | undefined;
  /** After every attempt's reading (claims: uncertainty and the sold-out memory). */
  observe?: (reading: Reading<R>) => void;
}

class AttemptDeadline extends Error {
  constructor() {
    super('the attempt reached the call deadline');
  }
}

const DEFAULTS = {
  deadlineMs: 5_000,
  maxAttempts: 3,
  minAttemptMs: 100,
  localRetryAfterSeconds: { min: 1, max: 5 },
  idempotencyNamespace: 'coupons-client',
} as const;

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
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly metrics: ClientMetrics;
  private readonly deadlineMs: number;
  private readonly maxAttempts: number;
  private readonly minAttemptMs: number;
  private readonly backoff: BackoffOptions;
  private readonly localSeconds: { min: number; max: number };
  private readonly namespace: string;
  private readonly authorization: string;
  private readonly retryBudget: RetryBudget;
  private readonly throttles: { claim: AdaptiveThrottle; other: AdaptiveThrottle } | undefined;
  private readonly soldOut: SoldOutMemory | undefined;
  private readonly uncertain = new UncertainClaims();
  private readonly bulkhead: BulkheadPolicy;
  private closed = false;

  constructor(options: CouponClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? {};
    this.deadlineMs = positive('deadlineMs', options.deadlineMs ?? DEFAULTS.deadlineMs);
    this.maxAttempts = atLeast1('maxAttempts', options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.minAttemptMs = options.minAttemptMs ?? DEFAULTS.minAttemptMs;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.localSeconds = options.localRetryAfterSeconds ?? DEFAULTS.localRetryAfterSeconds;
    if (!(this.localSeconds.min >= 1 && this.localSeconds.max >= this.localSeconds.min))
      throw new RangeError('localRetryAfterSeconds needs 1 <= min <= max');
    this.namespace = options.idempotencyNamespace ?? DEFAULTS.idempotencyNamespace;
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
    if (options.soldOutMemory !== false)
      this.soldOut = new SoldOutMemory(
        { ...DEFAULT_SOLD_OUT_MEMORY, ...options.soldOutMemory },
        this.clock,
        this.random,
      );
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
    checkCampaign(input.campaignId);
    checkUser(input.userId);
    if (input.intentId !== undefined && input.idempotencyKey !== undefined)
      throw invalid('give intentId or idempotencyKey, not both');
    const idempotencyKey =
      input.idempotencyKey ??
      (input.intentId === undefined ? newClaimKey() : claimKeyFor(this.namespace, input.intentId));
    if (!isIdempotencyKey(idempotencyKey))
      throw invalid('idempotencyKey must be 1-255 printable ASCII characters');
    const { campaignId, userId } = input;
    const uncertainKey = UncertainClaims.keyOf(campaignId, userId, idempotencyKey);
    const body = JSON.stringify({ userId });
    const outcome = await this.call<ClaimResult>(
      {
        op: 'claim',
        priority: 'claim',
        build: (timeoutMs) => ({
          method: 'POST',
          path: PATHS.claim(campaignId),
          headers: {
            ...this.headers(timeoutMs, true),
            [HEADER.idempotencyKey]: idempotencyKey,
            [HEADER.userId]: userId,
          },
          body,
        }),
        read: readClaim,
        // A claim that may have been served must reach the service: it answers its coupon even
        // when the campaign is sold out now.
        local: () => (this.uncertain.has(uncertainKey) ? undefined : this.closedAnswer(campaignId)),
        observe: (reading) => {
          if (reading.maybeDone) this.uncertain.add(uncertainKey);
          const step = reading.step;
          if (step.type !== 'final') return;
          const kind = step.result.kind;
          if (kind === 'issued' || kind === 'replayed') this.uncertain.settle(uncertainKey);
          // A fresh coupon: the campaign has budget again (a release, rebalancing).
          if (kind === 'issued') this.soldOut?.forget(campaignId);
          if (reading.closed !== undefined) this.soldOut?.learn(campaignId, reading.closed);
        },
      },
      options,
    );
    return { ...outcome, idempotencyKey };
  }

  /** Redeems a coupon for an order; the same orderId again is a replay, so retries are safe. */
  async redeem(input: RedeemInput, options: CallOptions = {}): Promise<RedeemOutcome> {
    this.open();
    checkCampaign(input.campaignId);
    checkUser(input.userId);
    checkCode(input.code);
    if (!isOrderId(input.orderId))
      throw invalid('orderId must be 1-128 letters, digits, ".", "_" or "-"');
    if (!Number.isSafeInteger(input.orderAmountFen) || input.orderAmountFen < 0)
      throw invalid('orderAmountFen must be a non-negative whole number of fen');
    const body = JSON.stringify({
      userId: input.userId,
      orderId: input.orderId,
      orderAmountFen: input.orderAmountFen,
    });
    return this.call<RedeemResult>(
      {
        op: 'redeem',
        priority: 'other',
        build: (timeoutMs) => ({
          method: 'POST',
          path: PATHS.redemptions(input.campaignId, input.code),
          headers: this.headers(timeoutMs, true),
          body,
        }),
        read: readRedemption,
      },
      options,
    );
  }

  /** The order was cancelled: the coupon becomes usable again. Idempotent. */
  async reverse(input: ReverseInput, options: CallOptions = {}): Promise<ReverseOutcome> {
    this.open();
    checkCampaign(input.campaignId);
    checkUser(input.userId);
    checkCode(input.code);
    if (!isOrderId(input.orderId))
      throw invalid('orderId must be 1-128 letters, digits, ".", "_" or "-"');
    return this.call<ReverseResult>(
      {
        op: 'reverse',
        priority: 'other',
        build: (timeoutMs) => ({
          method: 'DELETE',
          path: PATHS.redemption(input.campaignId, input.code, input.orderId, input.userId),
          headers: this.headers(timeoutMs, false),
        }),
        read: readReversal,
      },
      options,
    );
  }

  /** A coupon, shown to its owner only (anyone else: not_found). */
  async coupon(input: CouponInput, options: CallOptions = {}): Promise<CouponOutcome> {
    this.open();
    checkCampaign(input.campaignId);
    checkUser(input.userId);
    checkCode(input.code);
    return this.call<CouponResult>(
      {
        op: 'coupon',
        priority: 'other',
        build: (timeoutMs) => ({
          method: 'GET',
          path: PATHS.coupon(input.campaignId, input.code, input.userId),
          headers: this.headers(timeoutMs, false),
        }),
        read: readCoupon,
      },
      options,
    );
  }

  /** The campaign: window, value, per-user limits, time zone, today's tranche, next release. */
  async campaign(campaignId: string, options: CallOptions = {}): Promise<CampaignOutcome> {
    this.open();
    checkCampaign(campaignId);
    return this.call<CampaignResult>(
      {
        op: 'campaign',
        priority: 'other',
        build: (timeoutMs) => ({
          method: 'GET',
          path: PATHS.campaign(campaignId),
          headers: this.headers(timeoutMs, false),
        }),
        read: readCampaign,
      },
      options,
    );
  }

  /** The budget in fen: pool, released, issued, remaining, today, next release, per shard. */
  async budget(campaignId: string, options: CallOptions = {}): Promise<BudgetOutcome> {
    this.open();
    checkCampaign(campaignId);
    return this.call<BudgetResult>(
      {
        op: 'budget',
        priority: 'other',
        build: (timeoutMs) => ({
          method: 'GET',
          path: PATHS.budget(campaignId),
          headers: this.headers(timeoutMs, false),
        }),
        read: readBudget,
      },
      options,
    );
  }

  state(): ClientState {
    return {
      throttle: {
        claim: this.throttles?.claim.rejectProbability() ?? 0,
        other: this.throttles?.other.rejectProbability() ?? 0,
      },
      retryTokens: this.retryBudget.balance(),
      closedCampaigns: this.soldOut?.snapshot() ?? {},
      uncertainClaims: this.uncertain.size,
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

  private headers(timeoutMs: number, json: boolean): Record<string, string> {
    return {
      [HEADER.authorization]: this.authorization,
      [HEADER.requestTimeoutMs]: String(
        Math.max(1, Math.min(MAX_REQUEST_TIMEOUT_MS, Math.floor(timeoutMs))),
      ),
      ...(json ? { [HEADER.contentType]: 'application/json' } : {}),
    };
  }

  /** The sold-out memory's answer to a claim of this campaign now, if it has one. */
  private closedAnswer(campaignId: string): ClaimResult | undefined {
    const entry = this.soldOut?.lookup(campaignId);
    if (entry === undefined) return undefined;
    const seconds = Math.max(1, Math.ceil((entry.untilMs - this.clock.now()) / 1000));
    const reason = entry.reason;
    switch (reason.kind) {
      case 'sold_out':
        return {
          kind: 'sold_out',
          nextReleaseAt: reason.nextReleaseAt,
          retryAfterSeconds: seconds,
          local: true,
        };
      case 'not_started':
        return {
          kind: 'not_started',
          startsAt: reason.startsAt,
          retryAfterSeconds: seconds,
          local: true,
        };
      case 'ended':
        return { kind: 'ended', local: true };
      case 'budget_exhausted':
        return { kind: 'budget_exhausted', local: true };
    }
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
    const end = (result: R | Transient): R & { attempts: number; maybeDone: boolean } => {
      this.metrics.outcome?.(op, result.kind);
      return { ...(result as R), attempts, maybeDone };
    };
    const local = (result: R | Transient, reason: LocalReason) => {
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
      route.read(answer, this.clock.now()) ??
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
          return this.transport.send(route.build(left), signal);
        }, signal),
        signal,
      );
      return { type: 'answer', answer: readAnswer(response, this.clock.now()) };
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

function invalid(message: string): CouponClientError {
  return new CouponClientError('INVALID_ARGUMENT', message);
}

function checkCampaign(campaignId: string): void {
  if (!isCampaignId(campaignId))
    throw invalid('campaignId must be 1-128 letters, digits, ".", "_" or "-"');
}

function checkUser(userId: string): void {
  if (!isUserId(userId)) throw invalid('userId must be 1-64 letters, digits, ".", "_" or "-"');
}

function checkCode(code: string): void {
  if (!/^[A-Za-z0-9 -]{1,64}$/.test(code))
    throw invalid('code must be a coupon code (letters, digits, hyphens)');
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be > 0: ${value}`);
  return value;
}

function atLeast1(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer >= 1: ${value}`);
  return value;
}
