import { hash } from 'node:crypto';
import { z } from 'zod';
import {
  CODE_LENGTH,
  CROCKFORD_ALPHABET,
  parseCouponCode,
  formatCouponCode,
  type LedgerCoupon,
  type Redemption,
} from '@coupons/budget-ledger';
import type { claimBodySchema } from '@coupons/contract';
import { ApiError } from '../answers/errors';

// The routes' wire shapes: what a request body must be (checked before any ledger call) and
// what an answer says (the ledger's values in the contract's words and the campaign's zone).
import type { ServerResponse } from 'node:http';
import { toZonedIso, type CampaignCalendar } from '@coupons/campaign';

/**
 * What only the service does with the contract's inputs (@coupons/contract holds the schemas):
 * a coupon code parsed to its shard, one 400 naming every bad field, the claim body's digest.
 */

type FieldProblem = { field: string; problem: string };

export type CouponCodeInput =
  | { kind: 'code'; code: string; shard: number }
  /** Well-formed, but the check character does not match: a typo, refused without Redis. */
  | { kind: 'typo' };

const CODE_SYMBOL = new RegExp(`^[${CROCKFORD_ALPHABET}OIL]{${CODE_LENGTH}}$`);

/** A code as a person types it; garbage is a 400 here, a mistyped code is left to the route (404). */
export const couponCodeSchema = z.string().transform((input, ctx): CouponCodeInput => {
  const parsed = parseCouponCode(input);
  if (parsed.ok) return { kind: 'code', code: parsed.code, shard: parsed.shard };
  if (CODE_SYMBOL.test(input.toUpperCase().replace(/[-\s]/g, ''))) return { kind: 'typo' };
  ctx.addIssue({
    code: 'custom',
    message: `must be a coupon code: ${CODE_LENGTH} characters of Crockford base32, hyphens allowed`,
  });
  return z.NEVER;
});

export type Checks = Record<string, readonly [z.ZodType, unknown]>;
type Checked<C extends Checks> = { [K in keyof C]: z.output<C[K][0]> };

/** One problem per field (the first), so "" is "must not be empty", not also "may contain". */
function problemsOf(name: string, error: z.ZodError): FieldProblem[] {
  const byField = new Map<string, string>();
  for (const issue of error.issues) {
    const at = issue.path.map(String);
    const found =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => [[...at, key].join('.'), 'unknown field'] as const)
        : [[at.length > 0 ? at.join('.') : name, issue.message] as const];
    for (const [field, problem] of found) if (!byField.has(field)) byField.set(field, problem);
  }
  return [...byField].map(([field, problem]) => ({ field, problem }));
}

/**
 * Runs every check and throws one 400 naming every bad field (a body's fields by their own
 * names, a header or parameter by the name given), so a caller fixes them all in one go.
 */
export function validate<C extends Checks>(checks: C): Checked<C> {
  const problems: FieldProblem[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, [schema, input]] of Object.entries(checks)) {
    const result = schema.safeParse(input);
    if (result.success) values[name] = result.data;
    else problems.push(...problemsOf(name, result.error));
  }
  if (problems.length > 0)
    throw new ApiError(
      'INVALID_REQUEST',
      `invalid ${problems.map((p) => p.field).join(', ')}`.slice(0, 300),
      { details: problems },
    );
  return values as Checked<C>;
}

/** A digest of the canonical claim body (sorted keys), for IDEMPOTENCY_KEY_REUSED. */
export function claimBodyHash(body: z.output<typeof claimBodySchema>): string {
  const canonical = JSON.stringify(
    Object.fromEntries(Object.entries(body).sort(([a], [b]) => (a < b ? -1 : 1))),
  );
  return hash('sha256', canonical, 'base64url');
}

export type CouponStatus = 'issued' | 'redeemed' | 'expired';

/** A coupon as the contract shows it; `expired` is worked out here, from Redis-tracked `now`. */
export function couponView(record: LedgerCoupon, calendar: CampaignCalendar, now: number) {
  const { campaign } = calendar;
  const status: CouponStatus =
    record.status === 'redeemed' ? 'redeemed' : now > record.expiresAt ? 'expired' : 'issued';
  return {
    code: formatCouponCode(record.code),
    campaignId: campaign.id,
    userId: record.userId,
    valueFen: record.valueFen,
    currency: campaign.currency,
    status,
    issuedAt: toZonedIso(record.issuedAt, campaign.timeZone),
    expiresAt: toZonedIso(record.expiresAt, campaign.timeZone),
    trancheDay: record.trancheDay,
  };
}

export function redemptionView(redemption: Redemption, calendar: CampaignCalendar) {
  return {
    code: formatCouponCode(redemption.code),
    orderId: redemption.orderId,
    discountFen: redemption.discountFen,
    redeemedAt: toZonedIso(redemption.redeemedAt, calendar.campaign.timeZone),
  };
}

/**
 * Writes a JSON answer as express's res.json would (same Content-Type and Content-Length), in
 * one writeHead and one end: the claim's hot path skips express's send (etag, type lookups).
 */
export function sendJson(res: ServerResponse, status: number, json: string): void {
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
    })
    .end(json);
}
