import type { Stage } from './types';

// The shapes the k6 scenarios (loadtests/k6) use too; rates are requests/s, each list starts
// from 0 requests/s (a 0 ms stage is a step). Change them here and there together.

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** 2/s for 30 s (k6: SMOKE_RATE, DURATION): does it answer at all. */
export function smoke(): Stage[] {
  return [
    { durationMs: 0, targetRate: 2 },
    { durationMs: 30 * SECOND, targetRate: 2 },
  ];
}

/** Ramp to 10x capacity in 60 s, hold 60 s, ramp down in 30 s. */
export function flashCrowd(capacity: number): Stage[] {
  const peak = 10 * capacity;
  return [
    { durationMs: 60 * SECOND, targetRate: peak },
    { durationMs: 60 * SECOND, targetRate: peak },
    { durationMs: 30 * SECOND, targetRate: 0 },
  ];
}

/**
 * A constant rate long enough to drain a small campaign (the default: 200/s for 60 s, 12,000
 * claims); every claim after the drain must be TRANCHE_EXHAUSTED or CAMPAIGN_BUDGET_EXHAUSTED.
 */
export function trancheExhaustion(ratePerSecond = 200, durationMs = 60 * SECOND): Stage[] {
  return [
    { durationMs: 0, targetRate: ratePerSecond },
    { durationMs, targetRate: ratePerSecond },
  ];
}

/** 3x capacity after a 10 s ramp, held 60 s: long enough for retries to pile up. */
export function retryStorm(capacity: number): Stage[] {
  return [
    { durationMs: 10 * SECOND, targetRate: 3 * capacity },
    { durationMs: 60 * SECOND, targetRate: 3 * capacity },
  ];
}

/** 70% of capacity for an hour, after a 1 min ramp. */
export function soak(capacity: number): Stage[] {
  return [
    { durationMs: MINUTE, targetRate: 0.7 * capacity },
    { durationMs: 60 * MINUTE, targetRate: 0.7 * capacity },
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
