/**
 * Smoke: a few claims a second for 30 s, each one walked through the contract end to end. Run it
 * first against any deployment; every other scenario assumes what it proves.
 *
 * Per iteration (a fresh userId each): claim -> 201 with a new coupon; the same Idempotency-Key
 * again -> 201, `Idempotent-Replayed: true`, the same coupon; the owner reads it (200) and anyone
 * else gets 404; a redemption (201, discountFen = min(valueFen, orderAmountFen)) and its replay;
 * the reversal (200, usable again); the budget route (200, in shape, remaining = released - issued).
 *
 *   k6 run -e API_KEY=... [-e BASE_URL=...] [-e CAMPAIGN_ID=...] loadtests/k6/smoke.ts
 *
 * Env: SMOKE_RATE claims/s (default 2), DURATION (default 30s); the shared ones in lib/config.ts.
 * The key needs every scope: coupons:issue, coupons:read, coupons:redeem, budget:read. Each
 * iteration spends one coupon of the campaign's budget.
 *
 * Thresholds: all checks pass, no request failed, every claim ends with a coupon, p99 of a
 * served claim < 100 ms, nothing dropped.
 */

import { check } from 'k6';
import http from 'k6/http';
import type { Response } from 'k6/http';
import type { Options } from 'k6/options';
import { authHeaders, campaignUrl, getBudget, ROUTE, setupRun, type SetupData } from './lib/api.ts';
import { claim, claimIds, sendClaim } from './lib/claim.ts';
import { durationEnv, durationSeconds, loadConfig, numberEnv, vusFor } from './lib/config.ts';
import { SHAPES } from './lib/shapes.ts';
import {
  apiErrorOf,
  asCoupon,
  budgetProblems,
  header,
  isIsoInstant,
  isRecord,
  jsonBody,
  type Coupon,
} from './lib/contract.ts';
import { baseOptions, SLO } from './lib/options.ts';
import { summaryOutputs, type SummaryData } from './lib/summary.ts';

const config = loadConfig();
const RATE = numberEnv('SMOKE_RATE', SHAPES.smoke.ratePerSecond, { min: 1, integer: true });
const DURATION = durationEnv('DURATION', `${SHAPES.smoke.durationS}s`);
const TIMEOUT = `${config.requestTimeoutMs}ms`;
const REQUESTS_PER_ITERATION = 8;

// A smoke run expects only successes: any other status is a failed request. The one deliberate
// 404 (a stranger reading the coupon) says so on its own request.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 201 }));

export const options: Options = {
  ...baseOptions(),
  scenarios: {
    smoke: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      ...vusFor(config, RATE, (REQUESTS_PER_ITERATION * config.requestTimeoutMs) / 1000),
    },
  },
  thresholds: {
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
    claim_success: ['rate==1'],
    claim_served_duration: [`p(99)<${SLO.servedP99Ms}`],
    dropped_iterations: ['count==0'],
  },
};

export function setup(): SetupData {
  return setupRun(config);
}

function couponOf(res: Response): Coupon | undefined {
  const body = jsonBody(res);
  return isRecord(body) ? asCoupon(body['coupon']) : undefined;
}

function sameCoupon(a: Coupon | undefined, b: Coupon): boolean {
  return a !== undefined && a.code === b.code && a.issuedAt === b.issuedAt && a.userId === b.userId;
}

// Long: one smoke iteration walks a claim through every route in order, read as one story.
export default function (data: SetupData): void {
  const ids = claimIds(data.runId, 0);
  const first = claim(config, ids);
  check(first, {
    'smoke: claim issued a new coupon (201, not a replay)': (a) => a.outcome === 'issued',
  });
  if (first.coupon === undefined) return;
  const coupon = first.coupon;
  const json = { ...authHeaders(config), 'Content-Type': 'application/json' };

  const replay = sendClaim(config, ids, { name: `${ROUTE.claim} (replay)` });
  check(replay, {
    'smoke: the same Idempotency-Key again is 201, Idempotent-Replayed: true, the same coupon': (
      r,
    ) =>
      r.status === 201 &&
      header(r, 'Idempotent-Replayed') === 'true' &&
      sameCoupon(couponOf(r), coupon),
  });

  const couponUrl = campaignUrl(config, `/coupons/${encodeURIComponent(coupon.code)}`);
  const read = http.get(`${couponUrl}?userId=${encodeURIComponent(ids.userId)}`, {
    headers: authHeaders(config),
    tags: { name: ROUTE.read },
    timeout: TIMEOUT,
  });
  check(read, {
    'smoke: the owner reads the coupon (200, the same coupon, status issued)': (r) =>
      r.status === 200 && sameCoupon(couponOf(r), coupon) && couponOf(r)?.status === 'issued',
  });
  const stranger = http.get(`${couponUrl}?userId=${encodeURIComponent(`${ids.userId}-x`)}`, {
    headers: authHeaders(config),
    tags: { name: ROUTE.read },
    timeout: TIMEOUT,
    responseCallback: http.expectedStatuses(404),
  });
  check(stranger, {
    'smoke: anyone else reading it gets 404 COUPON_NOT_FOUND': (r) =>
      r.status === 404 && apiErrorOf(jsonBody(r))?.code === 'COUPON_NOT_FOUND',
  });

  const orderId = `order-${ids.idempotencyKey}`;
  const orderAmountFen = Math.max(data.campaign.minOrderFen, coupon.valueFen) + 99;
  const redemptionBody = JSON.stringify({ userId: ids.userId, orderId, orderAmountFen });
  const redeem = () =>
    http.post(`${couponUrl}/redemptions`, redemptionBody, {
      headers: json,
      tags: { name: ROUTE.redeem },
      timeout: TIMEOUT,
    });
  const redemptionOk = (r: Response, replayed: boolean): boolean => {
    const body = jsonBody(r);
    if (r.status !== 201 || !isRecord(body) || !isRecord(body['redemption'])) return false;
    const redemption = body['redemption'];
    return (
      redemption['code'] === coupon.code &&
      redemption['orderId'] === orderId &&
      redemption['discountFen'] === Math.min(coupon.valueFen, orderAmountFen) &&
      isIsoInstant(redemption['redeemedAt']) &&
      couponOf(r)?.status === 'redeemed' &&
      (header(r, 'Idempotent-Replayed') === 'true') === replayed
    );
  };
  check(redeem(), {
    'smoke: redemption is 201, discountFen = min(valueFen, orderAmountFen), coupon redeemed': (r) =>
      redemptionOk(r, false),
  });
  check(redeem(), {
    'smoke: the same orderId again is 201 with Idempotent-Replayed: true': (r) =>
      redemptionOk(r, true),
  });

  const reversal = http.del(
    `${couponUrl}/redemptions/${encodeURIComponent(orderId)}?userId=${encodeURIComponent(ids.userId)}`,
    null,
    { headers: authHeaders(config), tags: { name: ROUTE.reverse }, timeout: TIMEOUT },
  );
  check(reversal, {
    'smoke: reversal is 200 and the coupon is issued again': (r) =>
      r.status === 200 && sameCoupon(couponOf(r), coupon) && couponOf(r)?.status === 'issued',
  });

  check(getBudget(config, TIMEOUT), {
    'smoke: budget is 200 in the contract shape (remaining = released - issued)': (r) =>
      r.status === 200 && budgetProblems(jsonBody(r), data.campaign).length === 0,
  });
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const setup = data.setup_data as SetupData | undefined;
  const lines =
    setup === undefined
      ? []
      : [
          `smoke: run ${setup.runId}, ${RATE} claims/s for ${durationSeconds(DURATION)} s; budget at the start: ` +
            `released ${setup.budget.releasedFen} fen, issued ${setup.budget.issuedFen} fen, ` +
            `remaining ${setup.budget.remainingFen} fen (coupon ${setup.campaign.couponValueFen} fen)`,
        ];
  return summaryOutputs(config, 'smoke', data, { lines });
}
