import SHAPES from './shapes.json';
import type { Stage } from './types';

// The scenario shapes, from shapes.json: the k6 scenarios (loadtests/k6) read the same file, so
// the two drivers cannot drift. Rates are requests/s; each list starts from 0 requests/s (a 0 ms
// stage is a step).

export { SHAPES };

const SECOND = 1000;

/** SHAPES.smoke (k6: SMOKE_RATE, DURATION override it there): does it answer at all. */
export function smoke(): Stage[] {
  const { ratePerSecond, durationS } = SHAPES.smoke;
  return [
    { durationMs: 0, targetRate: ratePerSecond },
    { durationMs: durationS * SECOND, targetRate: ratePerSecond },
  ];
}

/** Ramp to SHAPES.flashCrowd.peakFactor x capacity, hold, ramp down. */
export function flashCrowd(capacity: number): Stage[] {
  const { peakFactor, rampUpS, holdS, rampDownS } = SHAPES.flashCrowd;
  const peak = peakFactor * capacity;
  return [
    { durationMs: rampUpS * SECOND, targetRate: peak },
    { durationMs: holdS * SECOND, targetRate: peak },
    { durationMs: rampDownS * SECOND, targetRate: 0 },
  ];
}

/**
 * A constant rate long enough to drain a small campaign (the default: 200/s for 60 s, 12,000
 * claims); every claim after the drain must be TRANCHE_EXHAUSTED or CAMPAIGN_BUDGET_EXHAUSTED.
 */
export function trancheExhaustion(
  ratePerSecond: number = SHAPES.trancheExhaustion.ratePerSecond,
  durationMs: number = SHAPES.trancheExhaustion.durationS * SECOND,
): Stage[] {
  return [
    { durationMs: 0, targetRate: ratePerSecond },
    { durationMs, targetRate: ratePerSecond },
  ];
}

/** 3x capacity after a short ramp, held long enough for retries to pile up. */
export function retryStorm(capacity: number): Stage[] {
  const { offeredFactor, rampUpS, holdS } = SHAPES.retryStorm;
  return [
    { durationMs: rampUpS * SECOND, targetRate: offeredFactor * capacity },
    { durationMs: holdS * SECOND, targetRate: offeredFactor * capacity },
  ];
}

/** 70% of capacity for an hour, after a 1 min ramp. */
export function soak(capacity: number): Stage[] {
  const { loadFactor, rampUpS, holdS } = SHAPES.soak;
  return [
    { durationMs: rampUpS * SECOND, targetRate: loadFactor * capacity },
    { durationMs: holdS * SECOND, targetRate: loadFactor * capacity },
  ];
}

/** The same shape in factor of the time (0.1: ten times shorter); rates are unchanged. */
export function scale(stages: readonly Stage[], factor: number): Stage[] {
  if (!(factor > 0) || !Number.isFinite(factor)) {
    throw new RangeError(`scale factor must be a finite number > 0: ${factor}`);
  }
  return stages.map((stage) => ({
    durationMs: Math.round(stage.durationMs * factor),
    targetRate: stage.targetRate,
  }));
}

/** Length of a shape in ms. */
export function totalDurationMs(stages: readonly Stage[]): number {
  return stages.reduce((sum, stage) => sum + stage.durationMs, 0);
}
