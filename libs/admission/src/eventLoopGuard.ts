import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { isBulk, type Priority } from './request';

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
