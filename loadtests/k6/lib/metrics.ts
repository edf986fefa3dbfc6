/**
 * Custom metrics of every scenario (created in the init context, as k6 requires). Each answer to a
 * claim request is counted once by what it told the caller; each logical claim (one
 * Idempotency-Key, its retries included) is counted once by how it ended.
 *
 * Goodput is coupons in callers' hands: 201 answers within the client timeout. Latency is kept
 * apart for served, shed and sold-out answers, because a fast 503 says nothing about how long a
 * coupon takes and a slow one is a failure of its own.
 */

import { Counter, Rate, Trend } from 'k6/metrics';

/** Logical claims that ended with a coupon (201, a replay after a lost answer included). */
export const claimGoodput = new Counter('claim_goodput');
/** 201 answers that issued a new coupon (not replayed). */
export const claimIssued = new Counter('claim_issued');
/** 201 answers with `Idempotent-Replayed: true`. */
export const claimReplayed = new Counter('claim_replayed');
/** 429/503 answers (tag `code`: RATE_LIMITED, OVERLOADED, UNAVAILABLE). */
export const claimShed = new Counter('claim_shed');
/** TRANCHE_EXHAUSTED / CAMPAIGN_BUDGET_EXHAUSTED answers (tag `code`). */
export const claimSoldOut = new Counter('claim_sold_out');
/** The other refusals the contract defines (user limit, not started, ended; tag `code`). */
export const claimRefused = new Counter('claim_refused');
/** Requests without an answer within the client timeout, or cut off (status 0). */
export const claimLost = new Counter('claim_lost');
/** Answers with a status (or a 409/410 code) the contract does not define for a claim. */
export const claimUnexpected = new Counter('claim_unexpected');

/** Per logical claim: did the caller end up with a coupon? */
export const claimSuccess = new Rate('claim_success');
/** Per logical claim: requests it took (1 = no retry). */
export const claimAttempts = new Trend('claim_attempts');

export const claimServedDuration = new Trend('claim_served_duration', true);
export const claimShedDuration = new Trend('claim_shed_duration', true);
export const claimSoldOutDuration = new Trend('claim_sold_out_duration', true);

/** The trend statistics every summary carries (p(99) is the SLO; count makes rates computable). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];
