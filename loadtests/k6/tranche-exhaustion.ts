/**
 * Tranche exhaustion: drive a small campaign's released budget to zero, then prove the books.
 *
 * 1. drain: RATE claims/s (default 200) for DRAIN_DURATION (default 60s), each a fresh userId. A
 *    claim whose outcome is unknown (no answer; 429/503) is retried with the same Idempotency-Key,
 *    up to 4 requests, so a coupon issued behind a lost answer still reaches its claimant, as a
 *    replay.
 * 2. after: once every drain claim has finished, PROBE_RATE claims/s (default 20) for
 *    PROBE_DURATION (default 20s): every answer must be 409 TRANCHE_EXHAUSTED or 410
 *    CAMPAIGN_BUDGET_EXHAUSTED. Anything else (a coupon: over-spend; a 503; no answer) is counted
 *    in `claim_wrong_after_exhaustion`, threshold count==0.
 * 3. teardown reads GET /budget again and compares exactly:
 *    - coupons the clients received in this run == coupons the ledger issued in this run
 *      (`coupon_ledger_balance`: one true per coupon received, one false per coupon issued; the
 *      rate is exactly 0.5 when they agree, threshold rate==0.5). For a fresh campaign that is
 *      released/value from the budget: every released coupon went to exactly one claimant;
 *    - issued == released at the end (the budget was driven to zero, nothing stranded on a shard),
 *      and nothing was released during the run (`tranche_budget_mismatches`, count==0).
 *
 * The campaign (CAMPAIGN_ID) must have a tiny released budget, no release due during the run, and
 * no other traffic while the test runs. One that ends the day it starts, released in one slice:
 *
 *   {
 *     "id": "k6-tranche", "name": "k6 tranche exhaustion", "currency": "CNY",
 *     "poolFen": 2500000, "couponValueFen": 2500, "minOrderFen": 0,
 *     "timeZone": "Asia/Shanghai",
 *     "startsAt": "2026-11-26T00:00:00+08:00", "endsAt": "2026-11-26T23:59:59.999+08:00",
 *     "couponExpiresAt": "2026-11-26T23:59:59.999+08:00",
 *     "perUser": { "daily": 1, "total": 1 },
 *     "release": { "slicesPerDay": 1, "rollover": false, "dayWeights": {} },
 *     "shards": 4
 *   }
 *
 * 1,000 coupons of CNY 25, all released at the start (set the day to the day of the run, in the
 * campaign's zone): once drained, claims answer 410 CAMPAIGN_BUDGET_EXHAUSTED. Spread the pool over
 * two days instead and today's tranche drains to 409 TRANCHE_EXHAUSTED (tomorrow is released
 * later). Add it to the campaigns file the service reads (CAMPAIGNS_FILE; the ConfigMap in
 * Kubernetes); in development `npm start` initialises its ledger at start-up, elsewhere run
 * `npm run ledger:init -- --campaign k6-tranche` before startsAt. A run uses the budget up: run
 * again with a new id (or a new day, or a fresh development Redis).
 *
 *   k6 run -e API_KEY=... -e CAMPAIGN_ID=k6-tranche loadtests/k6/tranche-exhaustion.ts
 *
 * setup() refuses (before any claim) a campaign with nothing left to issue, one whose remaining
 * coupons the drain could not exhaust (fewer than twice as many claims as coupons: users hash to
 * shards, so every shard needs more claimants than its share), or one with a release due in the
 * run. USERS is ignored here: a drawn user's limit would refuse claims that should drain.
 */

import { check } from 'k6';
import type { Options } from 'k6/options';
import { Counter, Gauge, Rate } from 'k6/metrics';
import { abortTest, loadClaimScenario, getBudget, setupRun, type SetupData } from './lib/api.ts';
import { claim, claimIds, NO_RETRY, type RetryPolicy } from './lib/claim.ts';
import { durationEnv, durationSeconds, numberEnv, vusFor } from './lib/config.ts';
import { SHAPES } from './lib/shapes.ts';
import { budgetProblems, jsonBody, type Budget } from './lib/contract.ts';
import { baseOptions, REPORT_ONLY, SLO } from './lib/options.ts';
import { count, stat, summaryOutputs, type SummaryData } from './lib/summary.ts';

const config = loadClaimScenario();

const SHAPE = SHAPES.trancheExhaustion;
const RATE = numberEnv('RATE', SHAPE.ratePerSecond, { min: 1 });
const DRAIN = durationEnv('DRAIN_DURATION', `${SHAPE.durationS}s`);
const PROBE_RATE = numberEnv('PROBE_RATE', SHAPE.probeRatePerSecond, { min: 1 });
const PROBE = durationEnv('PROBE_DURATION', `${SHAPE.probeDurationS}s`);
const TIMEOUT_S = config.requestTimeoutMs / 1000;

/**
 * The count must be exact, so a claim whose outcome is unknown is retried with its key: no answer
 * (at once), or 429/503 (after Retry-After; a 503 UNAVAILABLE may hide a claim Redis ran after
 * the service stopped waiting, and the retry then answers it as a replay).
 */
const DRAIN_POLICY: RetryPolicy = {
  maxAttempts: 4,
  onShed: 'after-retry-after',
  onLost: 'at-once',
  lostBackoffS: 0,
  maxWaitS: 3,
};
const DRAIN_ITERATION_S =
  DRAIN_POLICY.maxAttempts * TIMEOUT_S +
  (DRAIN_POLICY.maxAttempts - 1) * DRAIN_POLICY.maxWaitS * 1.25;
/** The drain's last claims finish (gracefulStop) before the probe starts. */
const GAP_S = Math.ceil(DRAIN_ITERATION_S) + 2;
const DRAIN_S = durationSeconds(DRAIN);
const PROBE_S = durationSeconds(PROBE);
const DRAIN_CLAIMS = Math.floor(RATE * DRAIN_S);

const wrongAfterExhaustion = new Counter('claim_wrong_after_exhaustion');
const ledgerBalance = new Rate('coupon_ledger_balance');
const budgetMismatches = new Counter('tranche_budget_mismatches');
const releasedCoupons = new Gauge('tranche_released_coupons');
const issuedCoupons = new Gauge('tranche_issued_coupons');
const issuedInRun = new Gauge('tranche_issued_in_run');

export const options: Options = {
  ...baseOptions(),
  scenarios: {
    drain: {
      executor: 'constant-arrival-rate',
      exec: 'drain',
      rate: RATE,
      timeUnit: '1s',
      duration: DRAIN,
      gracefulStop: `${GAP_S}s`,
      ...vusFor(config, RATE, DRAIN_ITERATION_S),
    },
    after: {
      executor: 'constant-arrival-rate',
      exec: 'probe',
      startTime: `${DRAIN_S + GAP_S}s`,
      rate: PROBE_RATE,
      timeUnit: '1s',
      duration: PROBE,
      ...vusFor(config, PROBE_RATE, TIMEOUT_S),
    },
  },
  thresholds: {
    claim_wrong_after_exhaustion: ['count==0'],
    coupon_ledger_balance: ['rate==0.5'],
    tranche_budget_mismatches: ['count==0'],
    'claim_attempts{scenario:after}': REPORT_ONLY.trend,
    checks: [`rate>${SLO.checksRate}`],
    http_req_failed: [`rate<${SLO.failedRate}`],
    dropped_iterations: [
      `count<=${Math.floor((DRAIN_CLAIMS + PROBE_RATE * PROBE_S) * SLO.droppedShare)}`,
    ],
  },
};

const coupons = (fen: number, data: SetupData) => fen / data.campaign.couponValueFen;

export function setup(): SetupData {
  const data = setupRun(config);
  if (data.budget.remainingFen === null)
    abortTest(
      `the budget of campaign "${data.campaign.id}" is unknown (a shard lost or rolled back: ${JSON.stringify(data.budget.unknownShards)}); restore it (docs/runbooks.md) before a load test`,
    );
  const remaining = coupons(data.budget.remainingFen, data);
  if (remaining === 0)
    abortTest(
      `campaign "${data.campaign.id}" has nothing left to issue (released ${coupons(data.budget.releasedFen, data)} coupons, all issued): use a fresh tiny campaign (see the header of tranche-exhaustion.ts)`,
    );
  if (DRAIN_CLAIMS < 2 * remaining)
    abortTest(
      `the drain sends ${DRAIN_CLAIMS} claims (RATE ${RATE}/s for ${DRAIN}) for ${remaining} remaining coupons; it needs at least twice as many claims: raise RATE or DRAIN_DURATION, or use a smaller campaign`,
    );
  const runEndsMs = Date.now() + (DRAIN_S + GAP_S + PROBE_S + 60) * 1000;
  const nextRelease = data.budget.nextReleaseAt;
  if (nextRelease !== null && Date.parse(nextRelease) <= runEndsMs)
    abortTest(
      `campaign "${data.campaign.id}" releases more budget at ${nextRelease}, inside this run: the books would not balance; run after it, or use a campaign released in one slice`,
    );
  return data;
}

export function drain(data: SetupData): void {
  const answer = claim(config, claimIds(data.runId, 0), DRAIN_POLICY);
  if (answer.coupon !== undefined) ledgerBalance.add(true);
}

export function probe(data: SetupData): void {
  const answer = claim(config, claimIds(data.runId, 0), NO_RETRY);
  if (answer.coupon !== undefined) ledgerBalance.add(true); // over-spend: the books show it too
  const soldOut = answer.outcome === 'sold_out';
  if (!soldOut)
    wrongAfterExhaustion.add(1, {
      outcome: answer.outcome,
      code: answer.errorCode ?? String(answer.res.status),
    });
  check(answer, {
    'after exhaustion every claim is TRANCHE_EXHAUSTED or CAMPAIGN_BUDGET_EXHAUSTED': () => soldOut,
  });
}

function mismatch(what: string, detail: string): void {
  budgetMismatches.add(1, { what });
  console.error(`tranche-exhaustion: ${what}: ${detail}`);
}

export function teardown(data: SetupData): void {
  const res = getBudget(config);
  const body = jsonBody(res);
  const problems =
    res.status === 200 ? budgetProblems(body, data.campaign) : [`status ${res.status}`];
  if (problems.length > 0) {
    mismatch('budget unreadable', problems.join('; '));
    return;
  }
  const before = data.budget;
  const after = body as Budget;
  if (after.issuedFen === null || before.issuedFen === null) {
    mismatch('budget unknown', `unknown shards: ${JSON.stringify(after.unknownShards)}`);
    return;
  }
  const released = coupons(after.releasedFen, data);
  const issued = coupons(after.issuedFen, data);
  const issuedHere = issued - coupons(before.issuedFen, data);
  releasedCoupons.add(released);
  issuedCoupons.add(issued);
  issuedInRun.add(issuedHere);

  if (after.releasedFen !== before.releasedFen)
    mismatch(
      'released during the run',
      `released went from ${coupons(before.releasedFen, data)} to ${released} coupons`,
    );
  if (issued !== released)
    mismatch(
      'not driven to zero',
      `issued ${issued} of ${released} released coupons: ${released - issued} left (raise RATE or DRAIN_DURATION; a shard with budget left while others are empty is stranding)`,
    );
  // The other side of coupon_ledger_balance: one false per coupon the ledger issued in this run.
  if (issuedHere > 1_000_000) mismatch('not a small campaign', `${issuedHere} coupons issued`);
  else for (let i = 0; i < issuedHere; i += 1) ledgerBalance.add(false);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const received = count(data, 'claim_goodput');
  const issuedHere = stat(data, 'tranche_issued_in_run', 'value');
  const released = stat(data, 'tranche_released_coupons', 'value');
  const issued = stat(data, 'tranche_issued_coupons', 'value');
  const wrong = count(data, 'claim_wrong_after_exhaustion');
  const probes = stat(data, 'claim_attempts{scenario:after}', 'count') ?? 0;
  const exact = issuedHere !== undefined && received === issuedHere;
  const figures = {
    tranche: {
      couponsReceivedByClients: received,
      couponsIssuedByLedgerInRun: issuedHere ?? null,
      releasedCouponsAtEnd: released ?? null,
      issuedCouponsAtEnd: issued ?? null,
      exact,
      drivenToZero: released !== undefined && issued === released,
      claimsAfterExhaustion: probes,
      wrongAnswersAfterExhaustion: wrong,
      mismatches: count(data, 'tranche_budget_mismatches'),
    },
  };
  const lines = [
    `tranche exhaustion: drain ${RATE}/s for ${DRAIN}, then ${PROBE_RATE}/s for ${PROBE}`,
    `  coupons received by clients ${received}, issued by the ledger in this run ${issuedHere ?? '-'}: ` +
      (exact ? 'EXACT' : 'MISMATCH'),
    `  at the end: released ${released ?? '-'} coupons, issued ${issued ?? '-'}` +
      (figures.tranche.drivenToZero ? ' (driven to zero)' : ' (NOT driven to zero)'),
    `  after exhaustion: ${probes} claims, ${wrong} wrong answers (not TRANCHE_EXHAUSTED or CAMPAIGN_BUDGET_EXHAUSTED)`,
  ];
  return summaryOutputs(config, 'tranche-exhaustion', data, { figures, lines });
}
