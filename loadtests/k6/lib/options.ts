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
 * Thresholds that always hold, on sub-metrics the summary should show: k6 reports a tagged
 * sub-metric (e.g. `claim_goodput{population:polite}`) only when a threshold names it. Each metric
 * type has its own statistics (a Rate with no samples is NaN, so only name Rates that get some).
 */
export const REPORT_ONLY: Readonly<Record<'counter' | 'trend' | 'rate', string[]>> = {
  counter: ['count>=0'],
  trend: ['max>=0'],
  rate: ['rate>=0'],
};
