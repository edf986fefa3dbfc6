import type { Stage } from './types';

// Guards ceil-like comparisons against float noise: 200/s for 1 s must be 200 arrivals, not 201.
const EPSILON = 1e-9;

/**
 * The open model's fixed timeline: arrival k happens when the integral of the rate reaches k,
 * so arrival 0 is at t=0 and a constant rate R over D seconds gives exactly R*D arrivals.
 * Within a stage the rate ramps linearly, so each arrival time solves a quadratic; the schedule
 * is computed lazily, one arrival at a time, without allocating.
 */
export class ArrivalSchedule {
  readonly durationMs: number;
  /** arrivals over the whole schedule */
  readonly total: number;

  private stageIndex = 0;
  private stageStartMs = 0;
  private stageStartRate: number;
  private arrivalsBeforeStage = 0;
  private index = 0;
  private nextAtMs = 0;

  constructor(
    private readonly stages: readonly Stage[],
    startRate = 0,
  ) {
    assertRate(startRate);
    let durationMs = 0;
    let area = 0;
    let rate = startRate;
    for (const stage of stages) {
      if (!(stage.durationMs >= 0) || !Number.isFinite(stage.durationMs)) {
        throw new RangeError(`stage durationMs must be a finite number >= 0: ${stage.durationMs}`);
      }
      assertRate(stage.targetRate);
      durationMs += stage.durationMs;
      area += stageArrivals(rate, stage);
      rate = stage.targetRate;
    }
    this.durationMs = durationMs;
    this.total = Math.max(0, Math.ceil(area - EPSILON));
    this.stageStartRate = startRate;
    this.nextAtMs = this.locate(0);
  }

  static constant(ratePerSecond: number, durationMs: number): ArrivalSchedule {
    return new ArrivalSchedule([{ durationMs, targetRate: ratePerSecond }], ratePerSecond);
  }

  /** index of the next arrival */
  get nextIndex(): number {
    return this.index;
  }

  /** ms from the start of the next arrival; Infinity when the schedule is exhausted */
  get nextAtMsOffset(): number {
    return this.nextAtMs;
  }

  advance(): void {
    this.index += 1;
    this.nextAtMs = this.locate(this.index);
  }

  /** Every arrival time in order; for tests and tools (allocates). */
  static times(stages: readonly Stage[], startRate = 0): number[] {
    const schedule = new ArrivalSchedule(stages, startRate);
    const times: number[] = [];
    while (schedule.nextAtMs !== Infinity) {
      times.push(schedule.nextAtMs);
      schedule.advance();
    }
    return times;
  }

  private locate(k: number): number {
    if (k >= this.total) return Infinity;
    for (;;) {
      const stage = this.stages[this.stageIndex];
      if (stage === undefined) return Infinity;
      const r0 = this.stageStartRate;
      const inStage = k - this.arrivalsBeforeStage;
      const area = stageArrivals(r0, stage);
      if (inStage < area - EPSILON) {
        return this.stageStartMs + 1000 * secondsToReach(inStage, r0, stage);
      }
      this.arrivalsBeforeStage += area;
      this.stageStartMs += stage.durationMs;
      this.stageStartRate = stage.targetRate;
      this.stageIndex += 1;
    }
  }
}

/** arrivals during a stage that ramps from r0: the area under the rate */
function stageArrivals(r0: number, stage: Stage): number {
  return ((r0 + stage.targetRate) / 2) * (stage.durationMs / 1000);
}

/** seconds into the stage at which n arrivals have accumulated: r0*t + (r1-r0)*t^2/(2D) = n */
function secondsToReach(n: number, r0: number, stage: Stage): number {
  if (n <= 0) return 0;
  const a = (stage.targetRate - r0) / (2 * (stage.durationMs / 1000));
  // 2n / (r0 + sqrt(r0^2 + 4an)) is the stable root for ramps up, down and flat (a = 0).
  return (2 * n) / (r0 + Math.sqrt(Math.max(0, r0 * r0 + 4 * a * n)));
}

function assertRate(rate: number): void {
  if (!(rate >= 0) || !Number.isFinite(rate)) {
    throw new RangeError(`rate must be a finite number >= 0 requests/s: ${rate}`);
  }
}
