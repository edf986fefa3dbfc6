/**
 * The parts of the HTTP contract (v1, docs/contract.md) the scenarios hold answers to: statuses and error
 * codes of a claim, the coupon, the budget and the campaign. Validators return a list of problems
 * (empty = in shape) rather than a boolean, so a failed check can say what was wrong.
 */

import type { Response } from 'k6/http';
import type { Budget, Coupon, ErrorCode, WireError } from '../../../libs/contract/src/index.ts';

/** Statuses the contract defines for a claim; anything else is a failure of the service. */
export const CLAIM_STATUSES = [201, 409, 410, 429, 503] as const;

/** Claim refusals by status: normal results, not failures. */
export const CLAIM_REFUSALS: Readonly<Record<number, readonly string[]>> = {
  409: ['USER_LIMIT_REACHED', 'TRANCHE_EXHAUSTED', 'CAMPAIGN_NOT_STARTED'],
  410: ['CAMPAIGN_ENDED', 'CAMPAIGN_BUDGET_EXHAUSTED'],
} satisfies Record<number, readonly ErrorCode[]>;

/** "Sold out": the released budget is gone, until the next release or for good. */
export const SOLD_OUT_CODES: readonly string[] = [
  'TRANCHE_EXHAUSTED',
  'CAMPAIGN_BUDGET_EXHAUSTED',
] satisfies readonly ErrorCode[];

/** Shed answers ("slow down, come back in N s"), each with Retry-After. */
export const SHED_CODES: Readonly<Record<number, readonly string[]>> = {
  429: ['RATE_LIMITED'],
  503: ['OVERLOADED', 'UNAVAILABLE'],
} satisfies Record<number, readonly ErrorCode[]>;

/** The service's own types (@coupons/contract), erased when k6 runs the script. */
export type { Budget, Coupon };

/** What the scenarios use of GET /v1/campaigns/{id}. */
export interface CampaignInfo {
  id: string;
  status: 'scheduled' | 'running' | 'ended';
  couponValueFen: number;
  minOrderFen: number;
  poolFen: number;
  perUser: { daily: number; total: number };
  slicesPerDay: number;
  nextReleaseAt: string | null;
}

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isFen = (value: unknown): value is number =>
  Number.isSafeInteger(value) && Number(value) >= 0;

/** Crockford base32 without I, L, O, U, shown as XXXX-XXXX-XXXX-XXXX. */
const COUPON_CODE = /^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export const isIsoInstant = (value: unknown): value is string =>
  isString(value) && ISO_WITH_OFFSET.test(value);

/** The body as JSON, or undefined when there is none or it is not JSON. */
export function jsonBody(res: Response): unknown {
  if (typeof res.body !== 'string' || res.body === '') return undefined;
  try {
    return JSON.parse(res.body) as unknown;
  } catch {
    return undefined;
  }
}

/** A response header by name, whatever its case. */
export function header(res: Response, name: string): string | undefined {
  const exact = res.headers[name];
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const key of Object.keys(res.headers))
    if (key.toLowerCase() === lower) return res.headers[key];
  return undefined;
}

/** Retry-After in seconds (the contract sends delta-seconds, never a date), or undefined. */
export function retryAfterOf(res: Response): number | undefined {
  const value = header(res, 'Retry-After');
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

export function couponProblems(
  value: unknown,
  expected: { campaignId: string; userId: string },
): string[] {
  if (!isRecord(value)) return ['no coupon object'];
  const problems: string[] = [];
  if (!isString(value['code']) || !COUPON_CODE.test(value['code']))
    problems.push(`code ${JSON.stringify(value['code'])} is not XXXX-XXXX-XXXX-XXXX`);
  if (value['campaignId'] !== expected.campaignId) problems.push('campaignId is not the campaign');
  if (value['userId'] !== expected.userId) problems.push('userId is not the claimant');
  if (!isFen(value['valueFen']) || value['valueFen'] === 0)
    problems.push('valueFen is not a positive integer');
  if (value['currency'] !== 'CNY') problems.push('currency is not CNY');
  if (!['issued', 'redeemed', 'expired'].includes(String(value['status'])))
    problems.push(`status ${JSON.stringify(value['status'])}`);
  if (!isIsoInstant(value['issuedAt'])) problems.push('issuedAt is not ISO-8601 with an offset');
  if (!isIsoInstant(value['expiresAt'])) problems.push('expiresAt is not ISO-8601 with an offset');
  if (!isString(value['trancheDay']) || !DAY.test(value['trancheDay']))
    problems.push('trancheDay is not YYYY-MM-DD');
  return problems;
}

export function asCoupon(value: unknown): Coupon | undefined {
  if (!isRecord(value)) return undefined;
  const expected = { campaignId: String(value['campaignId']), userId: String(value['userId']) };
  return couponProblems(value, expected).length === 0 ? (value as unknown as Coupon) : undefined;
}

/** `{"error":{"code","message",...}}`, or undefined when the body is not in that shape. */
export function apiErrorOf(body: unknown): WireError | undefined {
  if (!isRecord(body) || !isRecord(body['error'])) return undefined;
  const error = body['error'];
  if (!isString(error['code']) || !isString(error['message'])) return undefined;
  return error as WireError;
}

/**
 * Retry-After and `error.retryAfterSeconds` both present, whole seconds >= 1, and the same: a
 * caller that reads either one must come back at the same time.
 */
export function retryAfterProblems(res: Response, error: WireError): string[] {
  const problems: string[] = [];
  const headerSeconds = retryAfterOf(res);
  if (headerSeconds === undefined || headerSeconds < 1)
    problems.push('no Retry-After header of whole seconds >= 1');
  const bodySeconds = error.retryAfterSeconds;
  if (typeof bodySeconds !== 'number' || !Number.isInteger(bodySeconds) || bodySeconds < 1)
    problems.push('no error.retryAfterSeconds of whole seconds >= 1');
  else if (headerSeconds !== undefined && headerSeconds !== bodySeconds)
    problems.push(`Retry-After ${headerSeconds} != error.retryAfterSeconds ${bodySeconds}`);
  return problems;
}

export function budgetProblems(value: unknown, campaign: CampaignInfo): string[] {
  if (!isRecord(value)) return ['no budget object'];
  const problems: string[] = [];
  if (value['campaignId'] !== campaign.id) problems.push('campaignId is not the campaign');
  const fields = ['poolFen', 'releasedFen', 'issuedFen', 'remainingFen', 'unreleasedFen'] as const;
  for (const field of fields) {
    const fen = value[field];
    if (!isFen(fen)) problems.push(`${field} is not a non-negative integer`);
    else if (fen % campaign.couponValueFen !== 0)
      problems.push(`${field} is not whole coupons of ${campaign.couponValueFen} fen`);
  }
  // A null (unknown: a shard lost or rolled back) issued or remaining figure is a problem above.
  if (problems.length > 0) return problems;
  const budget = value as unknown as Budget & { issuedFen: number; remainingFen: number };
  if (budget.remainingFen !== budget.releasedFen - budget.issuedFen)
    problems.push('remainingFen != releasedFen - issuedFen');
  if (budget.unreleasedFen !== budget.poolFen - budget.releasedFen)
    problems.push('unreleasedFen != poolFen - releasedFen');
  if (budget.issuedFen > budget.releasedFen) problems.push('issuedFen > releasedFen: over-spent');
  if (budget.releasedFen > budget.poolFen) problems.push('releasedFen > poolFen');
  if (budget.nextReleaseAt !== null && !isIsoInstant(budget.nextReleaseAt))
    problems.push('nextReleaseAt is neither null nor ISO-8601 with an offset');
  return problems;
}

export function asCampaign(body: unknown): CampaignInfo | undefined {
  if (!isRecord(body) || !isRecord(body['campaign'])) return undefined;
  const c = body['campaign'];
  const perUser = isRecord(c['perUser']) ? c['perUser'] : {};
  const release = isRecord(c['release']) ? c['release'] : {};
  const status = c['status'];
  if (
    !isString(c['id']) ||
    (status !== 'scheduled' && status !== 'running' && status !== 'ended') ||
    !isFen(c['couponValueFen']) ||
    c['couponValueFen'] === 0 ||
    !isFen(c['minOrderFen']) ||
    !isFen(c['poolFen']) ||
    !isFen(perUser['daily']) ||
    !isFen(perUser['total']) ||
    !isFen(release['slicesPerDay'])
  )
    return undefined;
  const nextReleaseAt = release['nextReleaseAt'];
  return {
    id: c['id'],
    status,
    couponValueFen: c['couponValueFen'],
    minOrderFen: c['minOrderFen'],
    poolFen: c['poolFen'],
    perUser: { daily: perUser['daily'], total: perUser['total'] },
    slicesPerDay: release['slicesPerDay'],
    nextReleaseAt: isString(nextReleaseAt) ? nextReleaseAt : null,
  };
}
