import { z } from 'zod';

/**
 * The coupon service's HTTP contract (v1) as this client reads it: routes, headers, bodies, error
 * codes and the limits of identifiers. Everything the client knows about the wire is in this one
 * module, so it can be replaced by a shared contract package without touching the policy code.
 */

export const HEADER = {
  authorization: 'authorization',
  contentType: 'content-type',
  idempotencyKey: 'idempotency-key',
  userId: 'x-user-id',
  requestTimeoutMs: 'x-request-timeout-ms',
  retryAfter: 'retry-after',
  idempotentReplayed: 'idempotent-replayed',
} as const;

/** The service caps X-Request-Timeout-Ms at this; a longer wait is not asked for. */
export const MAX_REQUEST_TIMEOUT_MS = 10_000;

const seg = encodeURIComponent;

/** Paths of the routes; every variable part is percent-encoded. */
export const PATH = {
  claim: (campaignId: string) => `/v1/campaigns/${seg(campaignId)}/coupons`,
  coupon: (campaignId: string, code: string, userId: string) =>
    `/v1/campaigns/${seg(campaignId)}/coupons/${seg(code)}?userId=${seg(userId)}`,
  redemptions: (campaignId: string, code: string) =>
    `/v1/campaigns/${seg(campaignId)}/coupons/${seg(code)}/redemptions`,
  redemption: (campaignId: string, code: string, orderId: string, userId: string) =>
    `/v1/campaigns/${seg(campaignId)}/coupons/${seg(code)}/redemptions/${seg(orderId)}?userId=${seg(userId)}`,
  campaign: (campaignId: string) => `/v1/campaigns/${seg(campaignId)}`,
  budget: (campaignId: string) => `/v1/campaigns/${seg(campaignId)}/budget`,
} as const;

/** Every error code the service answers, with the status it travels with. */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CAMPAIGN_NOT_FOUND: 404,
  COUPON_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  USER_LIMIT_REACHED: 409,
  TRANCHE_EXHAUSTED: 409,
  CAMPAIGN_NOT_STARTED: 409,
  COUPON_ALREADY_REDEEMED: 409,
  ORDER_REVERSED: 409,
  CAMPAIGN_ENDED: 410,
  CAMPAIGN_BUDGET_EXHAUSTED: 410,
  COUPON_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  ORDER_BELOW_MINIMUM: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  OVERLOADED: 503,
  UNAVAILABLE: 503,
} as const;

export type WireErrorCode = keyof typeof ERROR_STATUS;

export function isWireErrorCode(code: string): code is WireErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_STATUS, code);
}

// Identifiers, as the service validates them (checked here before a request is spent on them).
const IDENTIFIER = /^[A-Za-z0-9._-]+$/;
export const USER_ID_MAX = 64;
export const ORDER_ID_MAX = 128;
export const IDEMPOTENCY_KEY_MAX = 255;

export function isUserId(value: string): boolean {
  return value.length >= 1 && value.length <= USER_ID_MAX && IDENTIFIER.test(value);
}

export function isOrderId(value: string): boolean {
  return value.length >= 1 && value.length <= ORDER_ID_MAX && IDENTIFIER.test(value);
}

/** 1-255 printable ASCII characters, no space at either end. */
export function isIdempotencyKey(value: string): boolean {
  return (
    value.length <= IDEMPOTENCY_KEY_MAX && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value)
  );
}

/** A campaign id is a path segment; the service answers 404 for one it does not know. */
export function isCampaignId(value: string): boolean {
  return value.length >= 1 && value.length <= 128 && IDENTIFIER.test(value);
}

/** An ISO-8601 time with an offset, as every time in the contract is written. */
const isoTime = z.string().refine((s) => /[T ]\d\d:\d\d/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'must be an ISO-8601 time',
});
const fen = z.number().int().nonnegative();

export const couponSchema = z.object({
  code: z.string().min(1),
  campaignId: z.string(),
  userId: z.string(),
  valueFen: fen,
  currency: z.string(),
  status: z.enum(['issued', 'redeemed', 'expired']),
  issuedAt: isoTime,
  expiresAt: isoTime,
  trancheDay: z.string(),
});
export type Coupon = z.output<typeof couponSchema>;
export type CouponStatus = Coupon['status'];

export const redemptionSchema = z.object({
  code: z.string().min(1),
  orderId: z.string(),
  discountFen: fen,
  redeemedAt: isoTime,
});
export type Redemption = z.output<typeof redemptionSchema>;

export const couponBodySchema = z.object({ coupon: couponSchema });
export const redemptionBodySchema = z.object({
  redemption: redemptionSchema,
  coupon: couponSchema,
});

export const campaignSchema = z.object({
  id: z.string(),
  name: z.string(),
  currency: z.string(),
  status: z.enum(['scheduled', 'running', 'ended']),
  poolFen: fen,
  couponValueFen: fen,
  minOrderFen: fen,
  timeZone: z.string(),
  startsAt: isoTime,
  endsAt: isoTime,
  couponExpiresAt: isoTime,
  perUser: z.object({ daily: z.number().int(), total: z.number().int() }),
  release: z.object({
    slicesPerDay: z.number().int(),
    rollover: z.boolean(),
    releasedFen: fen,
    unreleasedFen: fen,
    nextReleaseAt: isoTime.nullable(),
    today: z
      .object({
        day: z.string(),
        trancheFen: fen,
        releasedFen: fen,
        slicesReleased: z.number().int(),
        slices: z.number().int(),
      })
      .nullable(),
    tranches: z.array(
      z.object({ day: z.string(), trancheFen: fen, firstReleaseAt: isoTime.nullable() }),
    ),
  }),
  asOf: isoTime,
});
export type Campaign = z.output<typeof campaignSchema>;
export const campaignBodySchema = z.object({ campaign: campaignSchema });

export const budgetSchema = z.object({
  campaignId: z.string(),
  currency: z.string(),
  poolFen: fen,
  releasedFen: fen,
  issuedFen: fen.nullable(),
  remainingFen: z.number().int().nullable(),
  unreleasedFen: fen,
  today: z
    .object({ day: z.string(), trancheFen: fen, releasedFen: fen, issuedFen: fen.nullable() })
    .nullable(),
  nextReleaseAt: isoTime.nullable(),
  asOf: isoTime,
  shards: z.array(
    z.object({
      shard: z.number().int(),
      state: z.enum(['ok', 'missing', 'rolled_back']),
      releasedFen: fen,
      issuedFen: fen.nullable(),
      remainingFen: z.number().int().nullable(),
    }),
  ),
  unknownShards: z.array(z.object({ shard: z.number().int(), reason: z.string() })),
});
export type Budget = z.output<typeof budgetSchema>;

/** `{"error":{"code","message","retryAfterSeconds"?, ...extras}}`; extras are read per code. */
export const errorBodySchema = z.object({
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    retryAfterSeconds: z.number().int().positive().optional(),
    nextReleaseAt: isoTime.optional(),
    startsAt: isoTime.optional(),
    retryAt: isoTime.optional(),
    limit: z.enum(['daily', 'total']).optional(),
    reversedAt: isoTime.optional(),
    expiresAt: isoTime.optional(),
    minOrderFen: fen.optional(),
    errorId: z.string().optional(),
    details: z.array(z.object({ field: z.string(), problem: z.string() })).optional(),
  }),
});
export type WireError = z.output<typeof errorBodySchema>['error'];

export interface ClaimBody {
  userId: string;
}

export interface RedemptionBody {
  userId: string;
  orderId: string;
  orderAmountFen: number;
}

/** Retry-After as the service writes it: whole seconds (an HTTP date is read too). */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
