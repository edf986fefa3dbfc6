/**
 * Options and SLO thresholds the scenarios share. The SLOs: a served claim p99 < 100 ms, a shed answer p99 < 50 ms (shedding must stay cheap
 * and fast, or callers give up before they hear "come back in N s"), more than 99% of answers in
 * the contract's shape, and less than 1% of requests failed (no answer in time, or a status the
 * contract does not define; 409/410/429/503 are answers, not failures: see expectClaimAnswers()).
 */

import type { Options } from 'k6/options';
import { SUMMARY_TREND_STATS } from './metrics.ts';

export const SLO = {
  servedP99Ms: 100,
  shedP99Ms: 50,
  checksRate: 0.99,
  failedRate: 0.01,
  /** Share of planned arrivals the generator may drop before its figures stop counting. */
  droppedShare: 0.01,
} as const;

export function baseOptions(): Options {
  return {
    summaryTrendStats: SUMMARY_TREND_STATS,
    setupTimeout: '60s',
    teardownTimeout: '60s',
    userAgent: 'coupons-k6',
  };
}

/** The SLO thresholds of an open-model run; `plannedArrivals` sizes the dropped-iterations one. */
export function sloThresholds(plannedArrivals: number): NonNullable<Options['thresholds']> {
  return {
    claim_served_duration: [`p(99)<${SLO.servedP99Ms}`],
    claim_shed_duration: [`p(99)<${SLO.shedP99Ms}`],
    checks: [`rate>${SLO.checksRate}`],
    http_req_failed: [`rate<${SLO.failedRate}`],
    // Dropped arrivals mean the generator ran out of VUs: the offered load was not what the
    // scenario says, so the run does not count (raise MAX_VUS or use a bigger generator).
    dropped_iterations: [`count<=${Math.floor(plannedArrivals * SLO.droppedShare)}`],
  };
}

/**
 * The options of an open-model run held to the SLOs: the base options, the `scenarios`, and
 * `thresholds` on top of the SLO thresholds (`plannedArrivals` as for sloThresholds()).
 */
export function openModelOptions(
  scenarios: NonNullable<Options['scenarios']>,
  plannedArrivals: number,
  thresholds: NonNullable<Options['thresholds']> = {},
): Options {
  return {
    ...baseOptions(),
    scenarios,
    thresholds: { ...sloThresholds(plannedArrivals), ...thresholds },
  };
}

/**
 * An open-model scenario: k6 starts iterations at the rate (per second) the `stages` ramp through,
 * from 0, whatever the service answers.
 */
export function rampingArrivals(stages: { duration: string; target: number }[]) {
  return { executor: 'ramping-arrival-rate' as const, startRate: 0, timeUnit: '1s', stages };
}

/** Arrivals ramped from 0 to `rate` in `rampUpS` seconds, then held there for `hold`. */
export function rampAndHold(rampUpS: number, hold: string, rate: number) {
  return rampingArrivals([
    { duration: `${rampUpS}s`, target: rate },
    { duration: hold, target: rate },
  ]);
}

/**
 * Thresholds that always hold, on sub-metrics the summary should show: k6 reports a tagged
 * sub-metric (e.g. `claim_goodput{population:polite}`) only when a threshold names it. Each metric
 * type has its own statistics (a Rate with no samples is NaN, so only name Rates that get some).
 */
export const REPORT_ONLY: Readonly<Record<'counter' | 'trend' | 'rate', string[]>> = {
  counter: ['count>=0'],
  trend: ['max>=0'],
  rate: ['rate>=0'],
};

/**
 * The same thresholds on the sub-metric of each tag value: `taggedThresholds('window', ['w1',
 * 'w2'], { claim_shed: REPORT_ONLY.counter })` names `claim_shed{window:w1}` and
 * `claim_shed{window:w2}`.
 */
export function taggedThresholds(
  tag: string,
  values: readonly string[],
  thresholds: Readonly<Record<string, string[]>>,
): Record<string, string[]> {
  return Object.fromEntries(
    values.flatMap((value) =>
      Object.entries(thresholds).map(([metric, expressions]) => [
        `${metric}{${tag}:${value}}`,
        expressions,
      ]),
    ),
  );
}
