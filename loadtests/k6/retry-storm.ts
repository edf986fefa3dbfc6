/**
 * Retry storm: two populations of clients arrive at once, together 3x CAPACITY (1.5x each, a
 * 10 s ramp, then DURATION, default 60 s: the shape in loadtests/runner/src/shapes.json), and
 * differ only in what they do with "slow down" (429/503):
 *
 * - greedy: retries at once, up to MAX_RETRIES times (default 5); an unanswered request too;
 * - polite: waits Retry-After (spread by up to a quarter), up to MAX_RETRIES times, and gives up
 *   on a Retry-After longer than MAX_WAIT_S (default 10); after no answer it backs off 1 s.
 *
 * Every retry reuses the claim's Idempotency-Key; a sold-out answer or another refusal ends the
 * claim for both. Metrics are tagged population=greedy|polite (scenario tags), and the summary
 * compares them: logical claims, goodput (coupons received), share of claims that got a coupon,
 * requests sent per claim (the amplification a retry storm adds), shed answers.
 *
 * The SLOs hold for the service whatever its callers do: a served claim p99 < 100 ms, a shed answer
 * p99 < 50 ms, > 99% of answers in shape, < 1% failed, < 1% of arrivals dropped by the generator.
 * Which population fares better is the finding, reported rather than asserted.
 *
 *   k6 run -e API_KEY=... -e CAPACITY=1000 [-e DURATION=60s] loadtests/k6/retry-storm.ts
 *
 * A polite claim holds its VU while it waits, so this scenario needs many VUs: up to
 * rate x (requests x REQUEST_TIMEOUT_MS + waits); MAX_VUS caps them for a smaller generator (a
 * dropped arrival then fails the dropped_iterations threshold rather than skewing the comparison
 * quietly). Waiting out Retry-After with sleep() is the behaviour under test here, the one place
 * an iteration sleeps.
 */

import type { Options } from 'k6/options';
import { loadClaimScenario, setupRun, type SetupData } from './lib/api.ts';
import { claim, claimIds, type RetryPolicy } from './lib/claim.ts';
import { durationEnv, durationSeconds, numberEnv, vusFor } from './lib/config.ts';
import { openModelOptions, rampAndHold, REPORT_ONLY, taggedThresholds } from './lib/options.ts';
import { SHAPES } from './lib/shapes.ts';
import { ms, pct, perSecond, summaryOutputs, tagged, type SummaryData } from './lib/summary.ts';

const config = loadClaimScenario();

const OFFERED_FACTOR = SHAPES.retryStorm.offeredFactor;
const RATE = (OFFERED_FACTOR * config.capacity) / 2; // per population
/** The hold at the full rate, after the ramp. */
const DURATION = durationEnv('DURATION', `${SHAPES.retryStorm.holdS}s`);
const DURATION_S = durationSeconds(DURATION) + SHAPES.retryStorm.rampUpS / 2;
const MAX_RETRIES = numberEnv('MAX_RETRIES', 5, { min: 0, integer: true });
const MAX_WAIT_S = numberEnv('MAX_WAIT_S', 10, { min: 0 });
const TIMEOUT_S = config.requestTimeoutMs / 1000;

const GREEDY: RetryPolicy = {
  maxAttempts: 1 + MAX_RETRIES,
  onShed: 'at-once',
  onLost: 'at-once',
  lostBackoffS: 0,
  maxWaitS: 0,
};
const POLITE: RetryPolicy = {
  maxAttempts: 1 + MAX_RETRIES,
  onShed: 'after-retry-after',
  onLost: 'after-backoff',
  lostBackoffS: 1,
  maxWaitS: MAX_WAIT_S,
};

const POPULATIONS = ['greedy', 'polite'] as const;
type Population = (typeof POPULATIONS)[number];

/** Sub-metrics per population the summary compares (k6 reports them when a threshold names them). */
const perPopulation = taggedThresholds('population', POPULATIONS, {
  claim_goodput: REPORT_ONLY.counter,
  claim_success: REPORT_ONLY.rate,
  claim_attempts: REPORT_ONLY.trend,
  claim_shed: REPORT_ONLY.counter,
  claim_lost: REPORT_ONLY.counter,
  http_reqs: REPORT_ONLY.counter,
  claim_served_duration: REPORT_ONLY.trend,
});

/** Each population's arrivals: the shared ramp, then the hold (an open model). */
const populationLoad = () => rampAndHold(SHAPES.retryStorm.rampUpS, DURATION, RATE);

export const options: Options = openModelOptions(
  {
    greedy: {
      ...populationLoad(),
      exec: 'greedy',
      tags: { population: 'greedy' },
      ...vusFor(config, RATE, GREEDY.maxAttempts * TIMEOUT_S),
    },
    polite: {
      ...populationLoad(),
      exec: 'polite',
      tags: { population: 'polite' },
      // Typically a wait or two of Retry-After (a second or so each) per claim.
      ...vusFor(
        config,
        RATE,
        POLITE.maxAttempts * TIMEOUT_S + MAX_RETRIES * MAX_WAIT_S * 1.25,
        Math.min(3, MAX_RETRIES * MAX_WAIT_S),
      ),
    },
  },
  2 * RATE * DURATION_S,
  perPopulation,
);

export function setup(): SetupData {
  return setupRun(config);
}

export function greedy(data: SetupData): void {
  claim(config, claimIds(data.runId, config.users), GREEDY);
}

export function polite(data: SetupData): void {
  claim(config, claimIds(data.runId, config.users), POLITE);
}

function populationFigures(data: SummaryData, p: Population) {
  const population = tagged(data, 'population', p);
  const claims = population.stat('claim_attempts', 'count') ?? 0;
  const goodput = population.count('claim_goodput');
  const requests = population.count('http_reqs');
  return {
    claims,
    goodput,
    goodputPerSecond: goodput / DURATION_S,
    claimSuccessRate: population.stat('claim_success', 'rate'),
    requests,
    requestsPerClaim: claims > 0 ? requests / claims : undefined,
    shed: population.count('claim_shed'),
    lost: population.count('claim_lost'),
    attemptsAvg: population.stat('claim_attempts', 'avg'),
    servedP99Ms: population.stat('claim_served_duration', 'p(99)'),
  };
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const greedyFigures = populationFigures(data, 'greedy');
  const politeFigures = populationFigures(data, 'polite');
  const ratio =
    greedyFigures.goodput > 0 ? politeFigures.goodput / greedyFigures.goodput : undefined;
  const row = (p: Population, f: ReturnType<typeof populationFigures>) =>
    `  ${p.padEnd(7)} claims ${f.claims}, goodput ${f.goodput} (${perSecond(f.goodputPerSecond)}), ` +
    `got a coupon ${pct(f.claimSuccessRate)}, requests ${f.requests} ` +
    `(${f.requestsPerClaim?.toFixed(2) ?? '-'} per claim), shed ${f.shed}, lost ${f.lost}, ` +
    `served p99 ${ms(f.servedP99Ms)}`;
  const lines = [
    `retry storm: ${OFFERED_FACTOR}x CAPACITY of arrivals (${RATE}/s per population) for ${DURATION}, ` +
      `up to ${MAX_RETRIES} retries each`,
    row('greedy', greedyFigures),
    row('polite', politeFigures),
    `  polite/greedy goodput: ${ratio === undefined ? '-' : ratio.toFixed(2)}`,
  ];
  const figures = {
    retryStorm: {
      offeredFactor: OFFERED_FACTOR,
      ratePerPopulation: RATE,
      maxRetries: MAX_RETRIES,
      maxWaitS: MAX_WAIT_S,
      greedy: greedyFigures,
      polite: politeFigures,
      politeOverGreedyGoodput: ratio ?? null,
    },
  };
  return summaryOutputs(config, 'retry-storm', data, { figures, lines });
}
