import { isBulk, type Priority } from './request';

export interface ConcurrencyLimitOptions {
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  /** Claims (and `other`) may hold at most this share of the limit; redemptions and reads all of it. */
  claimShare: number;
  /** Gradient2: how much the current latency may exceed the long-term one before the limit shrinks. */
  tolerance: number;
  /** Gradient2: weight of a new estimate. */
  smoothing: number;
  /** Gradient2: headroom added at each update, so the limit probes upwards. */
  queueSize: number;
  /** Samples the long-term latency average spans (after a 10-sample warm-up, as Gradient2). */
  longWindow: number;
  /**
   * The limit also shrinks whenever latency exceeds this, whatever the long-term average:
   * Gradient2 alone takes a sustained slowdown for the new normal within ~longWindow samples,
   * which at thousands of requests a second is well under a second.
   */
  latencyTargetMs: number;
  /** A dropped request (timeout, overload fault) multiplies the limit by this. */
  backoffRatio: number;
  /**
   * Past the limit a request still gets a slot when the wait it adds is at most this (and within
   * what its deadline leaves): a burst is served late rather than refused, unless the queueing
   * it causes is real. The wait is the excess over the limit times the median service time
   * divided by the limit (the time the limit's slots take to serve the excess).
   */
  maxQueueDelayMs: number;
}

export const DEFAULT_CONCURRENCY_LIMIT: ConcurrencyLimitOptions = Object.freeze({
  initialLimit: 32,
  minLimit: 8,
  maxLimit: 512,
  claimShare: 0.8,
  tolerance: 1.5,
  smoothing: 0.2,
  queueSize: 4,
  longWindow: 600,
  latencyTargetMs: 100,
  backoffRatio: 0.9,
  maxQueueDelayMs: 50,
});

export interface PermitOutcome {
  /** Service time of the request, ms. */
  latencyMs: number;
  /** The request failed for lack of capacity (timed out, Redis timeout): shrink the limit. */
  dropped: boolean;
}

/** One slot; released exactly once (later calls do nothing). */
export interface Permit {
  readonly priority: Priority;
  /** With an outcome the limit learns from it; without, the slot is only freed (a request shed later). */
  release(outcome?: PermitOutcome): void;
}

/**
 * Adaptive concurrency limit after Netflix concurrency-limits' Gradient2: the limit moves with
 * min(max(tolerance x long-term latency, maxQueueDelayMs), latency target) / current latency,
 * smoothed and bounded.
 * The limit is where queueing starts, not where refusals start: past it a request is refused
 * only when the wait it would add exceeds maxQueueDelayMs or what its deadline leaves
 * (`tryAcquire`'s budget), and never past maxLimit. A burst a pod with headroom serves within
 * its deadline is served; a crowd that would queue for real is refused at once, because a
 * queue in a flash crowd adds waiting, not goodput.
 */
export class ConcurrencyLimit {
  readonly options: ConcurrencyLimitOptions;
  readonly inflightByPriority: Record<Priority, number> = {
    redeem: 0,
    read: 0,
    claim: 0,
    other: 0,
  };
  /** Claims (and `other`) released with an outcome: served to the end, cumulative. */
  bulkCompleted = 0;
  private inflightCount = 0;
  private bulkInflight = 0;
  private estimate: number;
  private longLatencyMs = 0;
  private samples = 0;
  /** Streaming median of latency (frugal estimate, multiplicative steps). */
  private medianMs = 0;

  constructor(options: Partial<ConcurrencyLimitOptions> = {}) {
    this.options = { ...DEFAULT_CONCURRENCY_LIMIT, ...options };
    const { minLimit, maxLimit, initialLimit, claimShare } = this.options;
    if (!(minLimit >= 1 && minLimit <= maxLimit) || !(claimShare > 0 && claimShare <= 1)) {
      throw new RangeError(
        'concurrency limit: need 1 <= minLimit <= maxLimit and 0 < claimShare <= 1',
      );
    }
    this.estimate = clamp(initialLimit, minLimit, maxLimit);
  }

  /** Slots taken now, every priority. */
  get inflight(): number {
    return this.inflightCount;
  }

  /** The current limit (whole slots). */
  get limit(): number {
    return Math.floor(this.estimate);
  }

  /** Slots claims (and `other`) may hold. */
  get claimLimit(): number {
    return Math.max(1, Math.floor(this.estimate * this.options.claimShare));
  }

  /** Median service time seen so far, ms (0 before the first sample). */
  get medianLatencyMs(): number {
    return this.medianMs;
  }

  /**
   * A slot, or undefined. `budgetMs`: how long this request may wait for one (what its deadline
   * leaves after its own service time); 0 refuses it as soon as the limit is reached.
   */
  tryAcquire(priority: Priority, budgetMs = 0): Permit | undefined {
    const bulk = isBulk(priority);
    const waitBudgetMs = Math.min(budgetMs, this.options.maxQueueDelayMs);
    if (!this.fits(this.inflightCount, this.limit, this.options.maxLimit, waitBudgetMs))
      return undefined;
    const share = this.options.claimShare;
    if (
      bulk &&
      !this.fits(this.bulkInflight, this.claimLimit, this.options.maxLimit * share, waitBudgetMs)
    )
      return undefined;
    this.inflightCount++;
    if (bulk) this.bulkInflight++;
    this.inflightByPriority[priority]++;
    return new Slot(this, priority, bulk, this.inflightCount);
  }

  /** Whether one more request fits: under the limit, or past it by a wait within the budget. */
  private fits(held: number, limit: number, hardCap: number, waitBudgetMs: number): boolean {
    if (held < limit) return true;
    // Before the first latency is known the wait cannot be told: the limit is the limit.
    if (held >= hardCap || waitBudgetMs <= 0 || this.medianMs === 0) return false;
    return ((held - limit + 1) * this.medianMs) / limit <= waitBudgetMs;
  }

  /** @internal called by a permit, once. */
  free(slot: Slot, outcome: PermitOutcome | undefined): void {
    this.inflightCount--;
    if (slot.bulk) this.bulkInflight--;
    this.inflightByPriority[slot.priority]--;
    if (outcome === undefined) return;
    if (slot.bulk && !outcome.dropped) this.bulkCompleted++;
    this.update(outcome, slot.inflightAtStart);
  }

  private update({ latencyMs, dropped }: PermitOutcome, inflight: number): void {
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) return;
    this.trackMedian(latencyMs);
    const o = this.options;
    if (dropped) {
      this.estimate = clamp(this.estimate * o.backoffRatio, o.minLimit, o.maxLimit);
      return;
    }
    const short = Math.max(latencyMs, 0.001);
    this.samples++;
    const weight = this.samples <= WARMUP_SAMPLES ? 1 / this.samples : 2 / (o.longWindow + 1);
    this.longLatencyMs += (short - this.longLatencyMs) * weight;
    // After a long overload the average lags far above a recovered latency: pull it down faster.
    if (this.longLatencyMs / short > 2) this.longLatencyMs *= 0.95;
    // Application-limited: little of the limit in use says nothing about a higher limit.
    if (inflight < this.estimate / 2) return;
    // A rise within the queueing the limit accepts anyway (a burst served late) is no reason to
    // shrink: only latency past it, or past the tolerance of a slower normal, is.
    const acceptable = Math.min(
      Math.max(o.tolerance * this.longLatencyMs, o.maxQueueDelayMs),
      o.latencyTargetMs,
    );
    const gradient = clamp(acceptable / short, 0.5, 1);
    const next = this.estimate * gradient + o.queueSize;
    this.estimate = clamp(
      this.estimate * (1 - o.smoothing) + next * o.smoothing,
      o.minLimit,
      o.maxLimit,
    );
  }

  private trackMedian(latencyMs: number): void {
    if (this.medianMs === 0) this.medianMs = latencyMs;
    else if (latencyMs > this.medianMs) this.medianMs *= 1.02;
    else if (latencyMs < this.medianMs) this.medianMs *= 0.98;
  }
}

const WARMUP_SAMPLES = 10;

class Slot implements Permit {
  private released = false;

  constructor(
    private readonly owner: ConcurrencyLimit,
    readonly priority: Priority,
    readonly bulk: boolean,
    readonly inflightAtStart: number,
  ) {}

  release(outcome?: PermitOutcome): void {
    if (this.released) return;
    this.released = true;
    this.owner.free(this, outcome);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
