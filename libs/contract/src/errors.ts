import { z } from 'zod';

/**
 * What a caller does with an error:
 * - `final`: the same request will get the same answer; do not send it again.
 * - `timed`: the answer changes at a moment the body names (`startsAt`, `nextReleaseAt`,
 *   `retryAt`); come back then, not before.
 * - `retryable`: a passing condition (overload, a fault the service failed closed on); retry after
 *   Retry-After with the same Idempotency-Key or orderId, which makes the retry safe.
 */
export type ErrorClass = 'final' | 'timed' | 'retryable';

interface ErrorSpec {
  status: number;
  class: ErrorClass;
  meaning: string;
}

/** Every error code of the contract: its status, what a caller does with it, and when it comes. */
export const ERRORS = {
  INVALID_REQUEST: {
    status: 400,
    class: 'final',
    meaning:
      'a schema or header violation, a header sent twice, a malformed percent-escape; details names every bad field',
  },
  UNAUTHENTICATED: {
    status: 401,
    class: 'final',
    meaning: 'no API key, a malformed Authorization header, or an unknown key',
  },
  FORBIDDEN: { status: 403, class: 'final', meaning: "the API key lacks the route's scope" },
  NOT_FOUND: { status: 404, class: 'final', meaning: 'no such route' },
  CAMPAIGN_NOT_FOUND: { status: 404, class: 'final', meaning: 'no such campaign' },
  COUPON_NOT_FOUND: {
    status: 404,
    class: 'final',
    meaning:
      "no such coupon for this user (also a mistyped code or someone else's coupon), or no redemption by this order",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    class: 'final',
    meaning: 'the route takes other methods (listed in Allow)',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    class: 'retryable',
    meaning: 'the body (or the request) did not arrive in time; the connection is closed',
  },
  CAMPAIGN_NOT_STARTED: {
    status: 409,
    class: 'timed',
    meaning: 'the campaign starts at startsAt; Retry-After until then',
  },
  TRANCHE_EXHAUSTED: {
    status: 409,
    class: 'timed',
    meaning:
      'the budget released so far is gone; more comes at nextReleaseAt (Retry-After a spread moment past it)',
  },
  USER_LIMIT_REACHED: {
    status: 409,
    class: 'timed',
    meaning:
      'the user has all the coupons allowed: limit "daily" until retryAt (the next day), or limit "total" for good (final)',
  },
  COUPON_ALREADY_REDEEMED: {
    status: 409,
    class: 'final',
    meaning: 'the coupon was redeemed by another order',
  },
  ORDER_REVERSED: {
    status: 409,
    class: 'final',
    meaning:
      "this order's redemption was reversed at reversedAt: a cancelled order never redeems again",
  },
  ORDER_ALREADY_DISCOUNTED: {
    status: 409,
    class: 'final',
    meaning:
      "the order already carries as many of this campaign's coupons as one order may (couponsPerOrder); reversing one frees the order",
  },
  CAMPAIGN_ENDED: { status: 410, class: 'final', meaning: 'the campaign is over' },
  CAMPAIGN_BUDGET_EXHAUSTED: {
    status: 410,
    class: 'final',
    meaning: 'nothing is left and nothing more will be released',
  },
  COUPON_EXPIRED: { status: 410, class: 'final', meaning: 'the coupon expired at expiresAt' },
  PAYLOAD_TOO_LARGE: { status: 413, class: 'final', meaning: 'a body over 16 KiB' },
  EXPECTATION_FAILED: {
    status: 417,
    class: 'final',
    meaning: 'an Expect header other than 100-continue',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    class: 'final',
    meaning: 'a body that is not UTF-8 JSON',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    class: 'final',
    meaning: 'the same Idempotency-Key in the same scope with another body',
  },
  ORDER_BELOW_MINIMUM: {
    status: 422,
    class: 'final',
    meaning: "the order is below the campaign's minOrderFen",
  },
  RATE_LIMITED: {
    status: 429,
    class: 'retryable',
    meaning: 'this user (per API key) or this API key sends too much; Retry-After',
  },
  HEADERS_TOO_LARGE: { status: 431, class: 'final', meaning: 'headers over 16 KiB' },
  INTERNAL: {
    status: 500,
    class: 'final',
    meaning:
      'a bug; errorId finds the logged stack. A retry with the same Idempotency-Key or orderId is safe but unlikely to help',
  },
  OVERLOADED: {
    status: 503,
    class: 'retryable',
    meaning:
      "shed by admission, or the request's deadline passed before the ledger answered; Retry-After",
  },
  UNAVAILABLE: {
    status: 503,
    class: 'retryable',
    meaning:
      'Redis unreachable, the pod draining (Connection: close), or a ledger fault the service failed closed on; Retry-After',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** Every error code with the status it travels with. */
export const ERROR_STATUS = Object.fromEntries(
  ERROR_CODES.map((code) => [code, ERRORS[code].status]),
) as { readonly [C in ErrorCode]: (typeof ERRORS)[C]['status'] };

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERRORS, code);
}

const fieldProblem = z.object({ field: z.string(), problem: z.string() });

/**
 * `{"error": {"code", "message", ...}}`: every error answer. Besides code and message, a body
 * carries what its code names (retryAfterSeconds with Retry-After; the moment of a timed error;
 * details of a 400) and nothing a caller must read to be correct.
 */
export const errorBodySchema = z
  .object({
    error: z.looseObject({
      code: z
        .string()
        .meta({ description: 'one of the codes in the table above', example: 'TRANCHE_EXHAUSTED' }),
      message: z.string().meta({ description: 'for people: says what happened and what to do' }),
      retryAfterSeconds: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: 'the Retry-After header, as a number' }),
      nextReleaseAt: z
        .string()
        .optional()
        .meta({ description: 'TRANCHE_EXHAUSTED: the next release' }),
      startsAt: z.string().optional().meta({ description: 'CAMPAIGN_NOT_STARTED: the start' }),
      retryAt: z
        .string()
        .optional()
        .meta({ description: 'USER_LIMIT_REACHED (daily): when the next day begins' }),
      limit: z
        .enum(['daily', 'total'])
        .optional()
        .meta({ description: 'USER_LIMIT_REACHED: which limit' }),
      reversedAt: z
        .string()
        .optional()
        .meta({ description: 'ORDER_REVERSED: when it was reversed' }),
      couponsPerOrder: z
        .number()
        .int()
        .optional()
        .meta({ description: "ORDER_ALREADY_DISCOUNTED: the campaign's limit per order" }),
      expiresAt: z.string().optional().meta({ description: 'COUPON_EXPIRED: when it expired' }),
      minOrderFen: z
        .number()
        .int()
        .optional()
        .meta({ description: 'ORDER_BELOW_MINIMUM: the minimum' }),
      errorId: z.string().optional().meta({ description: 'INTERNAL: finds the logged stack' }),
      details: z
        .array(fieldProblem)
        .optional()
        .meta({ description: 'INVALID_REQUEST: every bad field and what is wrong with it' }),
    }),
  })
  .meta({
    id: 'Error',
    example: {
      error: {
        code: 'TRANCHE_EXHAUSTED',
        message:
          "today's coupons released so far are gone; more are released at 2026-02-10T13:00:00+08:00",
        retryAfterSeconds: 1812,
        nextReleaseAt: '2026-02-10T13:00:00+08:00',
      },
    },
  });

export type ErrorBody = z.output<typeof errorBodySchema>;
export type WireError = ErrorBody['error'];
