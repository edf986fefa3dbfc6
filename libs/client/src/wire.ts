import { HEADERS, REQUEST_TIMEOUT_MS } from '@coupons/contract';

/**
 * The coupon service's HTTP contract as this client reads it: @coupons/contract (routes,
 * headers, schemas, error codes), plus the little the transport needs in its own form.
 */
export {
  budgetSchema,
  campaignBodySchema,
  couponBodySchema,
  ERROR_STATUS,
  errorBodySchema,
  isErrorCode,
  isIdempotencyKey,
  isOrderId,
  isUserId,
  PATHS,
  redemptionAnswerSchema,
  retryAfterSeconds,
  type Budget,
  type Campaign,
  type Coupon,
  type CouponStatus,
  type ErrorCode,
  type Redemption,
  type WireError,
} from '@coupons/contract';

/** Header names in lower case, as undici gives them back and takes them. */
export const HEADER = {
  authorization: HEADERS.authorization.toLowerCase(),
  contentType: 'content-type',
  idempotencyKey: HEADERS.idempotencyKey.toLowerCase(),
  userId: HEADERS.userId.toLowerCase(),
  requestTimeoutMs: HEADERS.requestTimeoutMs.toLowerCase(),
  retryAfter: HEADERS.retryAfter.toLowerCase(),
  idempotentReplayed: HEADERS.idempotentReplayed.toLowerCase(),
} as const;

/** The service caps X-Request-Timeout-Ms at this; a longer wait is not asked for. */
export const MAX_REQUEST_TIMEOUT_MS = REQUEST_TIMEOUT_MS.max;

/** A campaign id is a path segment; the service answers 404 for one it does not know. */
export function isCampaignId(value: string): boolean {
  return value.length >= 1 && value.length <= 128 && /^[A-Za-z0-9._-]+$/.test(value);
}
