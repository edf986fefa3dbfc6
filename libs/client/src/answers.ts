import type { ZodType } from 'zod';
import { CouponClientError } from './errors';
import type { RetryReason } from './metrics';
import type {
  BudgetResult,
  CampaignResult,
  ClaimResult,
  CouponResult,
  RedeemResult,
  ReverseResult,
  Transient,
} from './outcomes';
import type { ClosedReason } from './soldOutMemory';
import type { HttpResponse } from './transport';
import {
  budgetSchema,
  campaignBodySchema,
  couponBodySchema,
  ERROR_STATUS,
  errorBodySchema,
  HEADER,
  isErrorCode,
  retryAfterSeconds,
  redemptionAnswerSchema,
  type WireError,
} from './wire';

/** What to do with one answer (or with its absence). */
export type Step<R> =
  | { type: 'final'; result: R }
  /** Retryable; `result` is the outcome if no retry follows. */
  | { type: 'retry'; result: Transient; reason: RetryReason; retryAfterSeconds?: number }
  | { type: 'fault'; error: CouponClientError };

export interface Reading<R> {
  step: Step<R>;
  /** The service took the request in (it did not shed it): the throttle's "accept". */
  accepted: boolean;
  /** The request may have been carried out although this answer does not say so. */
  maybeDone: boolean;
  /** The campaign gives no coupons until a moment (or at all), as the service just said. */
  closed?: ClosedReason;
}

/** An answer, read once: its status, error body (if any) and Retry-After. */
export interface Answer {
  status: number;
  headers: HttpResponse['headers'];
  json: unknown;
  error: WireError | undefined;
  retryAfterSeconds: number | undefined;
  replayed: boolean;
}

export function readAnswer(response: HttpResponse, nowMs: number): Answer {
  let json: unknown;
  try {
    json = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    json = undefined;
  }
  const parsedError = response.status >= 400 ? errorBodySchema.safeParse(json) : undefined;
  const error = parsedError?.success === true ? parsedError.data.error : undefined;
  const retryAfter =
    retryAfterSeconds(response.headers[HEADER.retryAfter], nowMs) ?? error?.retryAfterSeconds;
  return {
    status: response.status,
    headers: response.headers,
    json,
    error,
    retryAfterSeconds: retryAfter,
    replayed: response.headers[HEADER.idempotentReplayed] === 'true',
  };
}

const final = <R>(result: R, extra: Partial<Reading<R>> = {}): Reading<R> => ({
  step: { type: 'final', result },
  accepted: true,
  maybeDone: false,
  ...extra,
});

const faultOf = <R>(error: CouponClientError, accepted = true): Reading<R> => ({
  step: { type: 'fault', error },
  accepted,
  maybeDone: false,
});

function malformed(answer: Answer, what: string): CouponClientError {
  return new CouponClientError(
    'MALFORMED_RESPONSE',
    `the service answered ${answer.status} with ${what}`,
    {
      status: answer.status,
    },
  );
}

/** An error the caller cannot act on, named by the service's code when it gave one. */
function fault(answer: Answer): CouponClientError {
  const { error, status } = answer;
  if (error !== undefined && isErrorCode(error.code) && ERROR_STATUS[error.code] === status)
    return new CouponClientError(error.code, error.message, {
      status,
      ...(error.errorId === undefined ? {} : { errorId: error.errorId }),
      ...(error.details === undefined ? {} : { fields: error.details }),
    });
  if (status >= 400 && error === undefined && answer.json !== undefined)
    return malformed(answer, 'a body that is not the contract’s error');
  return new CouponClientError(
    'UNEXPECTED_STATUS',
    `the service answered ${status}${error === undefined ? '' : ` ${error.code}`}`,
    { status },
  );
}

/** The error code, when the answer is one of the contract's with the status it travels with. */
function codeOf(answer: Answer): string | undefined {
  const { error, status } = answer;
  if (error === undefined || !isErrorCode(error.code)) return undefined;
  return ERROR_STATUS[error.code] === status ? error.code : undefined;
}

/**
 * Answers every route treats alike: shed (503 OVERLOADED, 429), unavailable (503 UNAVAILABLE, a
 * gateway's 502/503/504), 408. Undefined for anything else. `fallbackSeconds` is used when the
 * answer names no Retry-After.
 */
export function transientReading(
  answer: Answer,
  fallbackSeconds: () => number,
): Reading<never> | undefined {
  const code = codeOf(answer);
  const after = answer.retryAfterSeconds;
  const seconds = () => Math.max(1, after ?? fallbackSeconds());
  const retry = (
    result: Transient,
    reason: RetryReason,
    accepted: boolean,
    maybeDone: boolean,
  ): Reading<never> => ({
    step: {
      type: 'retry',
      result,
      reason,
      ...(after === undefined ? {} : { retryAfterSeconds: after }),
    },
    accepted,
    maybeDone,
  });
  switch (answer.status) {
    case 429:
      return retry(
        { kind: 'rate_limited', retryAfterSeconds: seconds() },
        'rate_limited',
        false,
        false,
      );
    case 408:
      // The service did not receive the request in time: nothing was done.
      return retry(
        { kind: 'unavailable', retryAfterSeconds: seconds(), cause: 'service' },
        'request_timeout',
        true,
        false,
      );
    case 503:
      if (code === 'OVERLOADED')
        // Shed at the gate before any work.
        return retry(
          { kind: 'overloaded', retryAfterSeconds: seconds(), source: 'service' },
          'overloaded',
          false,
          false,
        );
      // UNAVAILABLE: a ledger call may have timed out after Redis ran it. Not shed (the SRE
      // "accept"); anything else on 503 is a gateway with no healthy backend.
      return retry(
        { kind: 'unavailable', retryAfterSeconds: seconds(), cause: 'service' },
        'unavailable',
        code === 'UNAVAILABLE',
        true,
      );
    case 502:
    case 504:
      return retry(
        { kind: 'unavailable', retryAfterSeconds: seconds(), cause: 'service' },
        'unavailable',
        false,
        true,
      );
    default:
      return undefined;
  }
}

function parsed<T>(answer: Answer, schema: ZodType<T>): T | CouponClientError {
  const result = schema.safeParse(answer.json);
  return result.success ? result.data : malformed(answer, 'a body that is not the contract’s');
}

function secondsUntil(iso: string, nowMs: number): number {
  return Math.max(1, Math.ceil((Date.parse(iso) - nowMs) / 1000));
}

export function readClaim(answer: Answer, nowMs: number): Reading<ClaimResult> | undefined {
  if (answer.status === 200 || answer.status === 201) {
    const body = parsed(answer, couponBodySchema);
    if (body instanceof CouponClientError) return faultOf(body);
    return final({ kind: answer.replayed ? 'replayed' : 'issued', coupon: body.coupon });
  }
  const error = answer.error;
  const after = answer.retryAfterSeconds;
  switch (codeOf(answer)) {
    case 'TRANCHE_EXHAUSTED': {
      const nextReleaseAt = error?.nextReleaseAt;
      if (nextReleaseAt === undefined)
        return faultOf(malformed(answer, 'TRANCHE_EXHAUSTED without nextReleaseAt'));
      return final(
        {
          kind: 'sold_out',
          nextReleaseAt,
          retryAfterSeconds: after ?? secondsUntil(nextReleaseAt, nowMs),
          local: false,
        },
        { closed: { kind: 'sold_out', nextReleaseAt } },
      );
    }
    case 'CAMPAIGN_NOT_STARTED': {
      const startsAt = error?.startsAt;
      if (startsAt === undefined)
        return faultOf(malformed(answer, 'CAMPAIGN_NOT_STARTED without startsAt'));
      return final(
        {
          kind: 'not_started',
          startsAt,
          retryAfterSeconds: after ?? secondsUntil(startsAt, nowMs),
          local: false,
        },
        { closed: { kind: 'not_started', startsAt } },
      );
    }
    case 'USER_LIMIT_REACHED':
      if (error?.limit === 'total') return final({ kind: 'user_limit', limit: 'total' });
      if (error?.limit === 'daily')
        return final({
          kind: 'user_limit',
          limit: 'daily',
          retryAt: error.retryAt ?? null,
          retryAfterSeconds: after ?? null,
        });
      return faultOf(malformed(answer, 'USER_LIMIT_REACHED without limit'));
    case 'CAMPAIGN_ENDED':
      return final({ kind: 'ended', local: false }, { closed: { kind: 'ended' } });
    case 'CAMPAIGN_BUDGET_EXHAUSTED':
      return final(
        { kind: 'budget_exhausted', local: false },
        { closed: { kind: 'budget_exhausted' } },
      );
    default:
      return undefined;
  }
}

export function readRedemption(answer: Answer): Reading<RedeemResult> | undefined {
  if (answer.status === 200 || answer.status === 201) {
    const body = parsed(answer, redemptionAnswerSchema);
    if (body instanceof CouponClientError) return faultOf(body);
    return final({
      kind: answer.replayed ? 'replayed' : 'redeemed',
      redemption: body.redemption,
      coupon: body.coupon,
    });
  }
  const error = answer.error;
  switch (codeOf(answer)) {
    case 'COUPON_NOT_FOUND':
      return final({ kind: 'not_found' });
    case 'COUPON_ALREADY_REDEEMED':
      return final({ kind: 'already_redeemed' });
    case 'ORDER_REVERSED':
      return final({ kind: 'order_reversed', reversedAt: error?.reversedAt ?? null });
    case 'ORDER_ALREADY_DISCOUNTED':
      return final({
        kind: 'order_already_discounted',
        couponsPerOrder: error?.couponsPerOrder ?? null,
      });
    case 'COUPON_EXPIRED':
      return final({ kind: 'expired', expiresAt: error?.expiresAt ?? null });
    case 'ORDER_BELOW_MINIMUM':
      return final({ kind: 'below_minimum', minOrderFen: error?.minOrderFen ?? null });
    default:
      return undefined;
  }
}

export function readReversal(answer: Answer): Reading<ReverseResult> | undefined {
  if (answer.status === 200) {
    const body = parsed(answer, couponBodySchema);
    if (body instanceof CouponClientError) return faultOf(body);
    return final({ kind: answer.replayed ? 'replayed' : 'reversed', coupon: body.coupon });
  }
  return codeOf(answer) === 'COUPON_NOT_FOUND' ? final({ kind: 'not_found' }) : undefined;
}

export function readCoupon(answer: Answer): Reading<CouponResult> | undefined {
  if (answer.status === 200) {
    const body = parsed(answer, couponBodySchema);
    if (body instanceof CouponClientError) return faultOf(body);
    return final({ kind: 'found', coupon: body.coupon });
  }
  return codeOf(answer) === 'COUPON_NOT_FOUND' ? final({ kind: 'not_found' }) : undefined;
}

export function readCampaign(answer: Answer): Reading<CampaignResult> | undefined {
  if (answer.status !== 200) return undefined;
  const body = parsed(answer, campaignBodySchema);
  return body instanceof CouponClientError
    ? faultOf(body)
    : final({ kind: 'ok', campaign: body.campaign });
}

export function readBudget(answer: Answer): Reading<BudgetResult> | undefined {
  if (answer.status !== 200) return undefined;
  const body = parsed(answer, budgetSchema);
  return body instanceof CouponClientError ? faultOf(body) : final({ kind: 'ok', budget: body });
}

/** Whatever no route reading took: a fault (2xx with another status, 4xx, 500...). */
export function unexpected<R>(answer: Answer): Reading<R> {
  return faultOf(fault(answer));
}
