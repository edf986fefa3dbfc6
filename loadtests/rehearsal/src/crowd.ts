/**
 * The crowd the rehearsal sends, in the seed's shape: an ordinary hour (compressed), with the
 * herd of its slice opening; then, at the day's tranche release, a step to 15 times the ordinary
 * rate within a minute, held; then the next slice's herd as the crowd thins. Shed claims come
 * back (the retry storm, in the load generator). Pure: the rate at each second of the run.
 */

export interface CrowdPlan {
  /** fresh claims per second in an ordinary hour */
  ordinaryRate: number;
  /** the ordinary hour, compressed to this many seconds */
  ordinarySeconds: number;
  /** seconds the ordinary hour really lasts (3600): the compression is reported */
  hourSeconds: number;
  /** a slice opening: the rate multiplied for a few seconds */
  slice: { multiple: number; seconds: number };
  /** the tranche release: the ordinary rate times `multiple`, reached over `rampSeconds` */
  step: { multiple: number; rampSeconds: number; holdSeconds: number };
  /** after the hold, the crowd thinning at `multiple`, with the next slice's herd */
  tail: { multiple: number; seconds: number };
}

export interface CrowdTimes {
  /** second the ordinary hour's slice opens */
  sliceAt: number;
  /** second the step starts (the tranche release) */
  stepAt: number;
  /** second the step reaches its full rate */
  stepFullAt: number;
  /** second the hold ends */
  holdEnd: number;
  /** second the tail's slice opens */
  tailSliceAt: number;
  /** the run's length */
  end: number;
}

export function crowdTimes(plan: CrowdPlan): CrowdTimes {
  const stepAt = plan.ordinarySeconds;
  const stepFullAt = stepAt + plan.step.rampSeconds;
  const holdEnd = stepFullAt + plan.step.holdSeconds;
  return {
    sliceAt: Math.round(plan.ordinarySeconds / 2),
    stepAt,
    stepFullAt,
    holdEnd,
    tailSliceAt: holdEnd + Math.round(plan.tail.seconds / 3),
    end: holdEnd + plan.tail.seconds,
  };
}

/** Fresh claims per second at second `t` of the run (0 outside it). */
export function rateAt(plan: CrowdPlan, t: number): number {
  const at = crowdTimes(plan);
  const base = plan.ordinaryRate;
  const inSlice = (from: number) => t >= from && t < from + plan.slice.seconds;
  if (t < 0 || t >= at.end) return 0;
  if (t < at.stepAt) return inSlice(at.sliceAt) ? base * plan.slice.multiple : base;
  if (t < at.stepFullAt)
    return base + (base * (plan.step.multiple - 1) * (t - at.stepAt)) / plan.step.rampSeconds;
  if (t < at.holdEnd) return base * plan.step.multiple;
  const tail = base * plan.tail.multiple;
  return inSlice(at.tailSliceAt) ? tail * plan.slice.multiple : tail;
}

/** How much the ordinary hour is compressed (60 means a minute of the run is an hour). */
export const compression = (plan: CrowdPlan): number => plan.hourSeconds / plan.ordinarySeconds;

/** The full rehearsal's crowd, and a short one for a quick look: the same multiples, shorter. */
export function crowdPlan(short: boolean, ordinaryRate: number): CrowdPlan {
  const seconds = short
    ? { ordinary: 30, slice: 5, ramp: 20, hold: 90, tail: 15 }
    : { ordinary: 60, slice: 8, ramp: 30, hold: 120, tail: 30 };
  return {
    ordinaryRate,
    ordinarySeconds: seconds.ordinary,
    hourSeconds: 3600,
    slice: { multiple: 3, seconds: seconds.slice },
    step: { multiple: 15, rampSeconds: seconds.ramp, holdSeconds: seconds.hold },
    tail: { multiple: 2, seconds: seconds.tail },
  };
}
