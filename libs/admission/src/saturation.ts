import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { isBulk, type Priority } from './request';

// How busy the pod is, as the two layers that shed for it see it: the concurrency limit (slots,
// adapted to the latency claims see) and the event-loop guard (delay and utilisation).

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
 * smoothed and bounded. Latency measured while the event loop is saturated (`loopSaturated`, the
 * event-loop guard's reading) does not shrink it: that latency is the pod's own CPU queue, which
 * a lower limit does not shorten. It only turns claims into refusals, which cost the same loop
 * about a quarter of a claim each and bring a caller that ignores Retry-After straight back (a
 * capped pod under a closed-loop flood served 47-50 claims/s so, 263-288 with admission off:
 * docs/capacity.md). CPU overload is the event-loop guard's to shed.
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

  /**
   * @param loopSaturated whether the event loop is saturated now (EventLoopGuard's `saturated`);
   *   by default never.
   */
  constructor(
    options: Partial<ConcurrencyLimitOptions> = {},
    private readonly loopSaturated: () => boolean = () => false,
  ) {
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
    // The loop's own queue is no queueing at the limit: the limit probes upwards as if latency held.
    const gradient = this.loopSaturated() ? 1 : clamp(acceptable / short, 0.5, 1);
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

/** One look at the event loop, covering the time since the previous sample. */
export interface EventLoopSample {
  /** p99 of the event-loop delay over the interval, ms. */
  delayP99Ms: number;
  /** Event-loop utilisation over the interval, 0..1. */
  utilization: number;
  /** Milliseconds the loop was active during the interval (ELU's `active`). */
  activeMs: number;
}

export interface EventLoopSampler {
  sample(): EventLoopSample;
  close(): void;
}

/**
 * The real sampler: perf_hooks' delay histogram (reset at every sample; idle reads about 0) and
 * ELU deltas.
 */
export function perfHooksSampler(resolutionMs = 10): EventLoopSampler {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    sample() {
      // The histogram holds the timer's whole period; the delay is what comes on top of it.
      const p99Ms = histogram.count > 0 ? histogram.percentile(99) / 1e6 - resolutionMs : 0;
      histogram.reset();
      const delta = performance.eventLoopUtilization(last);
      last = performance.eventLoopUtilization();
      return {
        delayP99Ms: Math.max(0, p99Ms),
        utilization: delta.utilization,
        activeMs: delta.active,
      };
    },
    close() {
      histogram.disable();
    },
  };
}

export interface EventLoopThreshold {
  /** Over this p99 delay (ms) the threshold is crossed; Infinity = never. */
  delayP99Ms: number;
  /** Over this utilisation (0..1) the threshold is crossed; Infinity = never. */
  utilization: number;
}

export interface EventLoopGuardOptions {
  intervalMs: number;
  /** Crossed: claims (and `other`) are throttled. */
  claims: EventLoopThreshold;
  /** Crossed: every priority is throttled. */
  all: EventLoopThreshold;
  /** Multiplies the admitted fraction at every sample over a threshold. */
  decrease: number;
  /** Added to the admitted fraction at every sample under the thresholds. */
  increase: number;
  /** Never admit less than this fraction: a loop busy answering 503s must still serve some work. */
  minFraction: number;
  /**
   * Consecutive samples over a threshold before throttling starts: one busy interval (a GC, a
   * burst of JIT, a pod's first requests) is not an overload, a sustained one is.
   */
  sustainSamples: number;
  /**
   * At or above this utilisation over the last sample the loop is saturated (`saturated`): the
   * concurrency limit then does not shrink on latency (see ConcurrencyLimit).
   */
  saturatedUtilization: number;
  /**
   * Utilisation counts as overload only while claims arrive faster than they complete by this
   * ratio (when a demand source is set, `watchDemand`): a closed loop at capacity keeps the loop
   * 100% busy with arrivals equal to completions, and must not be throttled into a spiral of
   * instant retries; a crowd beyond capacity shows as arrivals well above completions.
   */
  excessDemand: number;
}

/** Cumulative counts of claims (and `other`) seen at the gate and served to the end. */
export interface DemandCounts {
  arrivals: number;
  completions: number;
}

export const DEFAULT_EVENT_LOOP_GUARD: EventLoopGuardOptions = Object.freeze({
  intervalMs: 50,
  // Utilisation alone is no overload: a pod at capacity is rightly ~100% busy (a closed loop keeps
  // it there). Off by default; when set it counts only with excess demand (see excessDemand).
  claims: Object.freeze({ delayP99Ms: 200, utilization: Infinity }),
  all: Object.freeze({ delayP99Ms: 1000, utilization: Infinity }),
  decrease: 0.5,
  increase: 0.05,
  // At 10x offered load a tenth of the claims is already the whole core: go lower.
  minFraction: 0.02,
  sustainSamples: 2,
  saturatedUtilization: 0.95,
  excessDemand: 1.25,
});

/**
 * Throttles by event-loop health. A crossed threshold does not shut the door: it halves the
 * fraction of requests let through (AIMD, floor `minFraction`), because at 10x offered load the
 * shed path alone keeps the loop busy, and a guard that refused every claim while the loop stays
 * busy would take goodput to zero. Admission within the fraction is a deterministic credit
 * counter, no random draw. The check on the request path reads two fields; sampling runs on an
 * unref'd timer (or `tick()` in tests).
 */
export class EventLoopGuard {
  readonly options: EventLoopGuardOptions;
  /** Fraction of throttled requests let through, 0..1 (1 = not throttling). */
  fraction = 1;
  /** Whether the throttle covers every priority (the `all` threshold was crossed). */
  throttlingAll = false;
  delayP99Ms = 0;
  utilization = 0;
  /** Cumulative active time of the loop since the guard started, for a counter. */
  activeSeconds = 0;
  private credit = 0;
  private crossedSamples = 0;
  private demand: (() => DemandCounts) | undefined;
  private lastDemand: DemandCounts = { arrivals: 0, completions: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    options: Partial<EventLoopGuardOptions> = {},
    private readonly sampler: EventLoopSampler = perfHooksSampler(),
  ) {
    this.options = { ...DEFAULT_EVENT_LOOP_GUARD, ...options };
  }

  start(): this {
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.options.intervalMs);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sampler.close();
  }

  /** Takes a sample and moves the fraction. */
  tick(): void {
    const s = this.sampler.sample();
    this.delayP99Ms = s.delayP99Ms;
    this.utilization = s.utilization;
    this.activeSeconds += s.activeMs / 1000;
    const { claims, all, decrease, increase, minFraction, sustainSamples } = this.options;
    const excess = this.excessDemandSince();
    const overAll = crossed(s, all, excess);
    if (overAll || crossed(s, claims, excess)) {
      this.crossedSamples++;
      if (this.crossedSamples >= sustainSamples)
        this.fraction = Math.max(minFraction, this.fraction * decrease);
    } else {
      this.crossedSamples = 0;
      this.fraction = Math.min(1, this.fraction + increase);
      if (this.fraction === 1) this.credit = 0;
    }
    this.throttlingAll = overAll && this.crossedSamples >= sustainSamples;
  }

  /** Where claim arrivals and completions are counted (the gate); see `excessDemand`. */
  watchDemand(source: () => DemandCounts): this {
    this.demand = source;
    this.lastDemand = { ...source() };
    return this;
  }

  /** Whether claims arrived faster than they completed since the last sample (true without a source). */
  private excessDemandSince(): boolean {
    if (this.demand === undefined) return true;
    const now = this.demand();
    const arrivals = now.arrivals - this.lastDemand.arrivals;
    const completions = now.completions - this.lastDemand.completions;
    this.lastDemand = { ...now };
    return arrivals > completions * this.options.excessDemand;
  }

  /** Whether the loop was saturated over the last sample (`saturatedUtilization`). */
  get saturated(): boolean {
    return this.utilization >= this.options.saturatedUtilization;
  }

  admits(priority: Priority): boolean {
    if (this.fraction >= 1) return true;
    if (!this.throttlingAll && !isBulk(priority)) return true;
    this.credit += this.fraction;
    if (this.credit < CREDIT_EPSILON) return false;
    this.credit -= 1;
    return true;
  }
}

/** Just under 1, so that ten additions of 0.1 make a whole credit. */
const CREDIT_EPSILON = 1 - 1e-9;

function crossed(s: EventLoopSample, t: EventLoopThreshold, excessDemand: boolean): boolean {
  return s.delayP99Ms > t.delayP99Ms || (excessDemand && s.utilization > t.utilization);
}
