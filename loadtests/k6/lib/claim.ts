/**
 * One logical claim: a userId, an Idempotency-Key minted once and reused on every retry of that
 * claim, and the request POST /v1/campaigns/{id}/coupons {"userId"}. Every answer is checked
 * against the contract's shape and counted by what it told the caller (lib/metrics.ts).
 */

import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import type { Response } from 'k6/http';
import { authHeaders, campaignUrl, ROUTE } from './api.ts';
import type { Config } from './config.ts';
import {
  apiErrorOf,
  CLAIM_REFUSALS,
  CLAIM_STATUSES,
  couponProblems,
  header,
  isIsoInstant,
  jsonBody,
  retryAfterOf,
  retryAfterProblems,
  SHED_CODES,
  SOLD_OUT_CODES,
  type Coupon,
} from './contract.ts';
import {
  claimAttempts,
  claimGoodput,
  claimIssued,
  claimLost,
  claimRefused,
  claimReplayed,
  claimServedDuration,
  claimShed,
  claimShedDuration,
  claimSoldOut,
  claimSoldOutDuration,
  claimSuccess,
  claimUnexpected,
} from './metrics.ts';

export interface ClaimIds {
  userId: string;
  idempotencyKey: string;
}

/**
 * The ids of this iteration's logical claim. The key is unique in the run (run id, scenario,
 * the scenario's iteration number in the whole test); the userId is the key itself (a fresh user
 * per claim, so per-user limits never answer) unless USERS sets a pool to draw from, where a
 * drawn user may reach its limit (409 USER_LIMIT_REACHED, counted as refused).
 */
export function claimIds(runId: string, users: number): ClaimIds {
  const key = `k6-${runId}-${exec.scenario.name}-${exec.scenario.iterationInTest}`;
  const userId = users > 0 ? `k6-${runId}-u${Math.floor(Math.random() * users)}` : key;
  return { userId, idempotencyKey: key };
}

/** The bare request, no checks or metrics (the smoke test's deliberate replay uses it). */
export function sendClaim(config: Config, ids: ClaimIds, tags: Record<string, string> = {}) {
  return http.post(campaignUrl(config, '/coupons'), JSON.stringify({ userId: ids.userId }), {
    headers: {
      ...authHeaders(config),
      'Content-Type': 'application/json',
      'Idempotency-Key': ids.idempotencyKey,
      // The caller's deadline: admission drops work nobody will wait for.
      'X-Request-Timeout-Ms': String(config.requestTimeoutMs),
      // The body's userId again, so the gate applies the per-user limit and the sold-out fast
      // path before the body is read (the chat backend's client does the same).
      'X-User-Id': ids.userId,
    },
    timeout: `${config.requestTimeoutMs}ms`,
    tags: { name: ROUTE.claim, ...tags },
  });
}

export type ClaimAnswerKind =
  'issued' | 'replayed' | 'sold_out' | 'refused' | 'shed' | 'lost' | 'unexpected';

export interface ClaimAnswer {
  outcome: ClaimAnswerKind;
  res: Response;
  coupon?: Coupon;
  /** error.code of a refusal or shed answer. */
  errorCode?: string;
  /** Retry-After of the answer, in seconds. */
  retryAfterSeconds?: number;
}

export const CHECK = {
  status: 'claim answered in time with a contract status (201/409/410/429/503)',
  coupon: 'claim 201 carries the coupon in the contract shape, Cache-Control: no-store',
  refusal: 'claim 409/410 carries a claim refusal code (sold out: nextReleaseAt or final)',
  shed: 'claim 429/503 carries a shed code, Retry-After == error.retryAfterSeconds',
} as const;

const loggedProblems = { count: 0 };
/** A few lines per VU, from the first VUs only: enough to see what is wrong, not a flood. */
function logProblem(what: string, res: Response, problems: readonly string[]): void {
  if (exec.vu.idInTest > 10 || loggedProblems.count >= 3) return;
  loggedProblems.count += 1;
  const error = res.error === '' ? '' : `, ${res.error}`;
  console.warn(`claim ${what}: ${problems.join('; ')} (status ${res.status}${error})`);
}

/** Checks one answer against the contract and counts it; returns what it told the caller. */
export function recordAnswer(res: Response, ids: ClaimIds, campaignId: string): ClaimAnswer {
  const inContract = (CLAIM_STATUSES as readonly number[]).includes(res.status);
  check(res, { [CHECK.status]: () => inContract });
  const duration = res.timings.duration;

  if (res.status === 0) {
    claimLost.add(1);
    return { outcome: 'lost', res };
  }
  const body = jsonBody(res);

  if (res.status === 201) {
    const coupon = (body as { coupon?: unknown } | undefined)?.coupon;
    const problems = couponProblems(coupon, { campaignId, userId: ids.userId });
    if (header(res, 'Cache-Control')?.includes('no-store') !== true)
      problems.push('no Cache-Control: no-store');
    if (!check(res, { [CHECK.coupon]: () => problems.length === 0 }))
      logProblem('201 not in shape', res, problems);
    const replayed = header(res, 'Idempotent-Replayed') === 'true';
    (replayed ? claimReplayed : claimIssued).add(1);
    claimServedDuration.add(duration);
    return { outcome: replayed ? 'replayed' : 'issued', res, coupon: coupon as Coupon };
  }

  const error = apiErrorOf(body);
  const retryAfterSeconds = retryAfterOf(res);
  const code = error?.code ?? 'none';

  if (res.status === 409 || res.status === 410) {
    const problems: string[] = [];
    if (error === undefined) problems.push('no {"error":{"code","message"}} body');
    else if (CLAIM_REFUSALS[res.status]?.includes(error.code) !== true)
      problems.push(`${error.code} is not a ${res.status} claim refusal`);
    else if (error.code === 'TRANCHE_EXHAUSTED') {
      // A later release exists: say when, and when to come back.
      if (!isIsoInstant(error.nextReleaseAt))
        problems.push('TRANCHE_EXHAUSTED without nextReleaseAt');
      problems.push(...retryAfterProblems(res, error));
    }
    if (!check(res, { [CHECK.refusal]: () => problems.length === 0 }))
      logProblem(`${res.status} not in shape`, res, problems);
    if (CLAIM_REFUSALS[res.status]?.includes(code) !== true) {
      claimUnexpected.add(1, { status: String(res.status) });
      return { outcome: 'unexpected', res, errorCode: code, retryAfterSeconds };
    }
    if (SOLD_OUT_CODES.includes(code)) {
      claimSoldOut.add(1, { code });
      claimSoldOutDuration.add(duration);
      return { outcome: 'sold_out', res, errorCode: code, retryAfterSeconds };
    }
    claimRefused.add(1, { code });
    return { outcome: 'refused', res, errorCode: code, retryAfterSeconds };
  }

  if (res.status === 429 || res.status === 503) {
    const problems: string[] = [];
    if (error === undefined) problems.push('no {"error":{"code","message"}} body');
    else {
      if (SHED_CODES[res.status]?.includes(error.code) !== true)
        problems.push(`${error.code} is not a ${res.status} code`);
      problems.push(...retryAfterProblems(res, error));
    }
    if (!check(res, { [CHECK.shed]: () => problems.length === 0 }))
      logProblem(`${res.status} not in shape`, res, problems);
    claimShed.add(1, { code });
    claimShedDuration.add(duration);
    return { outcome: 'shed', res, errorCode: code, retryAfterSeconds };
  }

  logProblem('status outside the contract', res, [`${res.status} ${code}`]);
  claimUnexpected.add(1, { status: String(res.status) });
  return { outcome: 'unexpected', res, errorCode: code };
}

/** How a client retries one logical claim; every retry reuses its Idempotency-Key. */
export interface RetryPolicy {
  /** Requests in all, the first included. */
  readonly maxAttempts: number;
  /** On 429/503: give up, retry at once ("greedy"), or wait Retry-After first ("polite"). */
  readonly onShed: 'give-up' | 'at-once' | 'after-retry-after';
  /** On no answer (timeout, connection cut): give up, retry at once, or after `lostBackoffS`. */
  readonly onLost: 'give-up' | 'at-once' | 'after-backoff';
  readonly lostBackoffS: number;
  /** A polite client gives up rather than wait longer than this for a Retry-After. */
  readonly maxWaitS: number;
}

/** An open-model arrival: one request, whatever the answer. */
export const NO_RETRY: RetryPolicy = {
  maxAttempts: 1,
  onShed: 'give-up',
  onLost: 'give-up',
  lostBackoffS: 0,
  maxWaitS: 0,
};

/** Seconds to wait before the next attempt, or undefined to end the claim. */
function nextWait(policy: RetryPolicy, answer: ClaimAnswer): number | undefined {
  if (answer.outcome === 'lost') {
    if (policy.onLost === 'give-up') return undefined;
    return policy.onLost === 'at-once' ? 0 : policy.lostBackoffS;
  }
  if (answer.outcome !== 'shed' || policy.onShed === 'give-up') return undefined;
  if (policy.onShed === 'at-once') return 0;
  const retryAfter = answer.retryAfterSeconds ?? 1;
  if (retryAfter > policy.maxWaitS) return undefined;
  // At least Retry-After, spread by up to a quarter so a polite herd does not return at once.
  return retryAfter * (1 + 0.25 * Math.random());
}

/**
 * A logical claim: up to `policy.maxAttempts` requests with one Idempotency-Key, then counted once
 * (goodput, success, attempts). Returns the last answer.
 */
export function claim(
  config: Config,
  ids: ClaimIds,
  policy: RetryPolicy = NO_RETRY,
  tags: Record<string, string> = {},
): ClaimAnswer & { attempts: number } {
  let attempts = 0;
  let answer: ClaimAnswer;
  for (;;) {
    attempts += 1;
    answer = recordAnswer(sendClaim(config, ids, tags), ids, config.campaignId);
    if (answer.outcome === 'issued' || answer.outcome === 'replayed') break;
    if (attempts >= policy.maxAttempts) break;
    const wait = nextWait(policy, answer);
    if (wait === undefined) break;
    // Sleeping here is the behaviour under test (a polite client honouring Retry-After).
    if (wait > 0) sleep(wait);
  }
  const gotCoupon = answer.outcome === 'issued' || answer.outcome === 'replayed';
  if (gotCoupon) claimGoodput.add(1);
  claimSuccess.add(gotCoupon);
  claimAttempts.add(attempts);
  return { ...answer, attempts };
}
