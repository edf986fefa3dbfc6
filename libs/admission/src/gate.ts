import type { IncomingHttpHeaders } from 'node:http';
import {
  isBulk,
  PRIORITIES,
  type Priority,
  DEFAULT_DEADLINE,
  deadlineFrom,
  TIMED_OUT,
  within,
  type Deadline,
  type DeadlineOptions,
} from './request';
import type { Permit } from './saturation';
import type {
  ConcurrencyCheck,
  EventLoopCheck,
  LimitCheck,
  RateCheck,
  SoldOutCheck,
} from './layers';
import {
  RejectionCache,
  SHED_REASONS,
  SoldOutAnswers,
  type Rejection,
  type ShedReason,
  type SoldOutBody,
} from './rejection';
import { retryAfterSeconds } from './retryAfter';
import type { SoldOutEntry } from './soldOutCache';

/**
 * What the gate is told of a request: the service has routed it (priority, campaign), checked
 * its key (keyId) and the user it is for (userId, when a header names one), so nothing the gate
 * remembers or asks Redis about comes from an unchecked value.
 */
export interface GateRequest {
  readonly priority: Priority;
  readonly headers: IncomingHttpHeaders;
  readonly campaignId?: string | undefined;
  readonly userId?: string | undefined;
  /** The user's shard in the campaign (the sold-out layer's key), when the user is known. */
  readonly shard?: number | undefined;
  /** The claim's idempotency scope (the sold-out layer asks whether it was served). */
  readonly scopeHash?: string | undefined;
  /** The authenticated API key: per-key limits count per key. */
  readonly keyId?: string | undefined;
  /**
   * The caller asked drainingAnswer when the request arrived (before its body was read): a
   * request that arrived before draining began is served, as every request in flight is.
   */
  readonly arrivedBeforeDraining?: boolean;
  /**
   * screen() already passed this request (when its headers arrived, before its body was read):
   * admit counts it and checks draining, the event loop and the token bucket no second time.
   */
  readonly screened?: boolean;
}

export interface Admitted {
  readonly admitted: true;
  readonly priority: Priority;
  readonly campaignId: string | undefined;
  readonly userId: string | undefined;
  readonly shard: number | undefined;
  readonly scopeHash: string | undefined;
  readonly keyId: string | undefined;
  /** Release when the answer is written: `permit.release({ latencyMs, dropped })`. */
  readonly permit: Permit;
  /** When the caller stops waiting: drop work past it, give Redis at most `remainingMs`. */
  readonly deadline: Deadline;
}

export type Decision = Admitted | Rejection;

export interface AdmissionGateOptions {
  /**
   * Epoch ms now; the service passes its Redis-tracked clock so sold-out ends at the ledger's
   * release. Default Date.now.
   */
  now?: () => number;
  /** 0 <= r < 1, for Retry-After jitter. */
  random?: () => number;
  eventLoop?: EventLoopCheck;
  /** Off when absent (ADMISSION_RATE unset). */
  tokenBucket?: RateCheck;
  concurrency: ConcurrencyCheck;
  deadline?: Partial<DeadlineOptions> & {
    /** Refuse when less than max(this, the median service time) remains. */
    minRemainingMs?: number;
  };
  /**
   * Per-user request limit; counts requests of `priorities` (default claims) that carry a user
   * id, per user (the platform's user, whichever of the platform's services sends the request).
   */
  userLimit?: { limiter: LimitCheck; priorities?: readonly Priority[] };
  /** Per-API-key limit, off unless given. */
  keyLimit?: { limiter: LimitCheck; priorities?: readonly Priority[] };
  /** Sold-out fast path for claims (those that name their user's shard). */
  soldOut?: {
    cache: SoldOutCheck;
    /** The answer's body, in the service's words. */
    body: SoldOutBody;
    /**
     * Whether this claim is the replay of one that was served (same idempotency scope): it is
     * admitted, so its caller gets its coupon, never "sold out". A promise that rejects admits
     * too (the ledger then answers). Absent: every claim on a sold-out shard is refused.
     */
    served?: (claim: {
      campaignId: string;
      shard: number;
      userId: string;
      scopeHash: string | undefined;
    }) => boolean | Promise<boolean>;
  };
  retry?: Partial<RetryOptions>;
}

export interface RetryOptions {
  /** OVERLOADED: minSeconds .. minSeconds + spreadSeconds. */
  overloaded: { minSeconds: number; spreadSeconds: number };
  /** UNAVAILABLE while draining: come back soon, to another pod. */
  draining: { minSeconds: number; spreadSeconds: number };
  /** RATE_LIMITED: the end of the window plus up to this many seconds. */
  rateLimitedSpreadSeconds: number;
  /** TRANCHE_EXHAUSTED: the next release plus up to this many seconds. */
  soldOutSpreadSeconds: number;
}

export const DEFAULT_RETRY: RetryOptions = Object.freeze({
  overloaded: Object.freeze({ minSeconds: 1, spreadSeconds: 4 }),
  draining: Object.freeze({ minSeconds: 1, spreadSeconds: 1 }),
  rateLimitedSpreadSeconds: 2,
  soldOutSpreadSeconds: 60,
});

export interface AdmissionSnapshot {
  received: Record<Priority, number>;
  shed: Record<ShedReason, Record<Priority, number>>;
  inflight: Record<Priority, number>;
  concurrencyLimit: number;
  /**
   * 0..1: the larger of slots in use and token-bucket use, both as claims see them (claims may
   * hold only their share of the slots and must leave the bucket's reserve), so a pod shedding
   * claims reads 1 even while reads and redemptions still have room.
   */
  saturation: number;
  eventLoopActiveSeconds: number;
  eventLoopUtilization: number;
  /** Per-user/per-key limit checks still waiting on Redis. */
  limitChecksPending: number;
}

/**
 * Admission before the framework, cheapest layer first: draining -> event loop ->
 * token bucket -> concurrency (priority partitions) -> deadline -> per-user / per-key limits ->
 * sold-out. Everything is synchronous except the Redis-backed limits, which run only for the
 * priorities they cover and only after the cheap layers admitted; `admit` then returns a promise
 * (that never rejects). A shed answer is precomputed: writing it is one writeHead and one end.
 */
export class AdmissionGate {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly retry: RetryOptions;
  private readonly deadlineOptions: DeadlineOptions;
  private readonly minRemainingMs: number;
  private readonly userPriorities: ReadonlySet<Priority>;
  private readonly keyPriorities: ReadonlySet<Priority>;
  private readonly bucketReserve: number;
  private readonly rejections = new RejectionCache();
  private readonly soldOutAnswers: SoldOutAnswers | undefined;
  private draining = false;
  private pending = 0;
  private readonly received: Record<Priority, number> = perPriority();
  private readonly shed = Object.fromEntries(SHED_REASONS.map((r) => [r, perPriority()])) as Record<
    ShedReason,
    Record<Priority, number>
  >;

  constructor(private readonly options: AdmissionGateOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.deadlineOptions = { ...DEFAULT_DEADLINE, ...options.deadline };
    this.minRemainingMs = options.deadline?.minRemainingMs ?? 5;
    this.soldOutAnswers =
      options.soldOut === undefined ? undefined : new SoldOutAnswers(options.soldOut.body);
    this.userPriorities = new Set(options.userLimit?.priorities ?? ['claim']);
    this.keyPriorities = new Set(options.keyLimit?.priorities ?? PRIORITIES);
    // Claims leave redemptions and reads a reserve of tokens, as they leave them slots.
    const bucket = options.tokenBucket;
    const share = options.concurrency.options.claimShare;
    this.bucketReserve =
      bucket === undefined
        ? 0
        : bucket.options.burst - Math.max(1, Math.floor(bucket.options.burst * share));
  }

  /** From now on every request is answered 503 UNAVAILABLE (with Connection: close). */
  startDraining(): void {
    this.draining = true;
  }

  /** Draining's answer, when draining: asked first, before anything else is looked at. */
  drainingAnswer(priority: Priority): Rejection | undefined {
    if (!this.draining) return undefined;
    this.received[priority]++;
    return this.reject('draining', priority, this.retry.draining);
  }

  /**
   * The refusals that need nothing but the priority: draining, the event loop, the token bucket.
   * The front door asks them when a request's headers arrive, before it reads a body, so a
   * request refused for capacity costs the pod no body read and no JSON parse (a shed answer
   * stays a small fraction of a claim); the slot is taken by admit once the body is in.
   */
  screen(priority: Priority, arrivedBeforeDraining = false): Rejection | undefined {
    const o = this.options;
    this.received[priority]++;
    if (this.draining && !arrivedBeforeDraining)
      return this.reject('draining', priority, this.retry.draining);
    if (o.eventLoop !== undefined && !o.eventLoop.admits(priority))
      return this.reject('event_loop', priority, this.retry.overloaded);
    if (
      o.tokenBucket !== undefined &&
      !o.tokenBucket.tryTake(this.now(), isBulk(priority) ? this.bucketReserve : 0)
    )
      return this.reject('token_bucket', priority, this.retry.overloaded);
    return undefined;
  }

  admit(req: GateRequest): Decision | Promise<Decision> {
    const o = this.options;
    const p = req.priority;
    if (req.screened !== true) {
      const refused = this.screen(p, req.arrivedBeforeDraining === true);
      if (refused !== undefined) return refused;
    }
    const now = this.now();
    const deadline = deadlineFrom(req.headers, now, this.deadlineOptions);
    const floorMs = Math.max(this.minRemainingMs, o.concurrency.medianLatencyMs);
    const spareMs = deadline.remainingMs(now) - floorMs;
    // Past the limit, a request waits only what its deadline leaves after its own service time.
    const permit = o.concurrency.tryAcquire(p, spareMs);
    if (permit === undefined) return this.reject('concurrency', p, this.retry.overloaded);
    if (spareMs < 0) {
      permit.release();
      return this.reject('deadline', p, this.retry.overloaded);
    }

    const { userId, keyId } = req;
    let user =
      userId !== undefined && this.userPriorities.has(p) ? o.userLimit?.limiter : undefined;
    const key = keyId !== undefined && this.keyPriorities.has(p) ? o.keyLimit?.limiter : undefined;
    const admitted: Admitted = {
      admitted: true,
      priority: p,
      campaignId: req.campaignId,
      userId,
      shard: req.shard,
      scopeHash: req.scopeHash,
      keyId,
      permit,
      deadline,
    };
    const userKey = userId ?? '';
    // An id over its limit is refused from memory, synchronously; only the others ask Redis.
    const userBlockedMs = user !== undefined ? user.blockedMs(userKey, now) : 0;
    if (userBlockedMs > 0) return this.rateLimited('user_rate', admitted, userBlockedMs);
    if (user?.freePass?.(userKey, now) === true) user = undefined;
    if (user === undefined && key === undefined) return this.soldOutOrAdmit(admitted, now);
    const keyBlockedMs = key !== undefined ? key.blockedMs(keyId as string, now) : 0;
    if (keyBlockedMs > 0) return this.rateLimited('key_rate', admitted, keyBlockedMs);
    return this.checkLimits(admitted, user, keyId, key, now);
  }

  /**
   * Claims (and `other`) that reached the gate, and those it kept up with: served to the end, or
   * answered for what they are (sold out, over a rate limit), not for lack of capacity. For the
   * event-loop guard: a pod 100% busy answering a sold-out crowd is not short of capacity.
   */
  bulkDemand(): { arrivals: number; completions: number } {
    const answered = (reason: ShedReason) => this.shed[reason].claim + this.shed[reason].other;
    return {
      arrivals: this.received.claim + this.received.other,
      completions:
        (this.options.concurrency.bulkCompleted ?? 0) +
        answered('sold_out') +
        answered('user_rate') +
        answered('key_rate'),
    };
  }

  /** Counters and gauges for the service's metrics, read on scrape. */
  snapshot(): AdmissionSnapshot {
    const o = this.options;
    const now = this.now();
    const limit = o.concurrency.limit;
    const inflight = o.concurrency.inflightByPriority;
    const bulkInflight = inflight.claim + inflight.other;
    // Claims stop at their share of the slots and at the bucket's reserve: a pod shedding claims
    // is saturated for them (1) though reads and redemptions still have room.
    const bucket = o.tokenBucket;
    const bucketUse = bucket === undefined ? 0 : bucket.use(now, this.bucketReserve);
    const slotsUse = Math.max(
      o.concurrency.inflight / limit,
      bulkInflight / o.concurrency.claimLimit,
    );
    return {
      received: { ...this.received },
      shed: Object.fromEntries(
        SHED_REASONS.map((r) => [r, { ...this.shed[r] }]),
      ) as AdmissionSnapshot['shed'],
      inflight: { ...inflight },
      concurrencyLimit: limit,
      saturation: Math.min(1, Math.max(slotsUse, bucketUse)),
      eventLoopActiveSeconds: o.eventLoop?.activeSeconds ?? 0,
      eventLoopUtilization: o.eventLoop?.utilization ?? 0,
      limitChecksPending: this.pending,
    };
  }

  private async checkLimits(
    admitted: Admitted,
    user: LimitCheck | undefined,
    keyId: string | undefined,
    key: LimitCheck | undefined,
    now: number,
  ): Promise<Decision> {
    this.pending++;
    // The caller's deadline bounds the wait for the store (a hung Redis answers only at its
    // command timeout); past it the request is shed, whatever the store says later.
    const { deadline } = admitted;
    try {
      if (user !== undefined && admitted.userId !== undefined) {
        const verdict = await within(
          user.consume(admitted.userId, now),
          deadline.remainingMs(this.now()),
        );
        if (verdict === TIMED_OUT) return this.deadlinePassed(admitted);
        if (verdict.limited) return this.rateLimited('user_rate', admitted, verdict.retryAfterMs);
      }
      if (key !== undefined && keyId !== undefined) {
        const verdict = await within(key.consume(keyId, now), deadline.remainingMs(this.now()));
        if (verdict === TIMED_OUT) return this.deadlinePassed(admitted);
        if (verdict.limited) return this.rateLimited('key_rate', admitted, verdict.retryAfterMs);
      }
    } catch {
      // A limiter that throws (RequestLimiter never does) admits: a request limit fails open.
    } finally {
      this.pending--;
    }
    return this.soldOutOrAdmit(admitted, this.now());
  }

  private deadlinePassed(admitted: Admitted): Rejection {
    admitted.permit.release();
    return this.reject('deadline', admitted.priority, this.retry.overloaded);
  }

  /**
   * The last layer: claims on a shard known to be sold out until its next release, unless the
   * claim is the replay of a served one (its caller gets its coupon).
   */
  private soldOutOrAdmit(admitted: Admitted, now: number): Decision | Promise<Decision> {
    const soldOut = this.options.soldOut;
    const { priority, campaignId, userId, shard, scopeHash } = admitted;
    if (soldOut === undefined || priority !== 'claim') return admitted;
    if (campaignId === undefined || userId === undefined || shard === undefined) return admitted;
    const entry = soldOut.cache.lookup(campaignId, shard, now);
    if (entry === undefined) return admitted;
    const served = soldOut.served?.({ campaignId, shard, userId, scopeHash }) ?? false;
    if (served === true) return admitted;
    if (served === false) return this.soldOutAnswer(admitted, entry, now);
    this.pending++;
    return served
      .then(
        (yes) => (yes ? admitted : this.soldOutAnswer(admitted, entry, this.now())),
        () => admitted,
      )
      .finally(() => {
        this.pending--;
      });
  }

  private soldOutAnswer(admitted: Admitted, entry: SoldOutEntry, now: number): Rejection {
    const { priority } = admitted;
    admitted.permit.release();
    this.shed.sold_out[priority]++;
    const spreadSeconds = this.retry.soldOutSpreadSeconds;
    const seconds = retryAfterSeconds(
      { kind: 'at', nowMs: now, atMs: entry.untilMs, spreadSeconds },
      this.random,
    );
    return this.soldOutAnswers!.get(entry, seconds);
  }

  private reject(
    reason: Exclude<ShedReason, 'sold_out' | 'user_rate' | 'key_rate'>,
    p: Priority,
    backoff: { minSeconds: number; spreadSeconds: number },
  ): Rejection {
    this.shed[reason][p]++;
    const seconds = retryAfterSeconds({ kind: 'backoff', ...backoff }, this.random);
    return this.rejections.get(reason, p, seconds);
  }

  private rateLimited(
    reason: 'user_rate' | 'key_rate',
    admitted: Admitted,
    retryAfterMs: number,
  ): Rejection {
    admitted.permit.release();
    this.shed[reason][admitted.priority]++;
    const spreadSeconds = this.retry.rateLimitedSpreadSeconds;
    const seconds = retryAfterSeconds(
      { kind: 'at', nowMs: 0, atMs: retryAfterMs, spreadSeconds },
      this.random,
    );
    return this.rejections.get(reason, admitted.priority, seconds);
  }
}

function perPriority(): Record<Priority, number> {
  return { redeem: 0, read: 0, claim: 0, other: 0 };
}
