import type { ZodType } from 'zod';
import { CouponClientError } from './errors';
import type { RetryReason } from './metrics';
import type { ProtocolViolation, Transient } from './outcomes';
import type { ClosedReason } from './soldOutMemory';
import type { HttpResponse } from './transport';
import { boundedSeconds } from './trust';
import {
  ERROR_STATUS,
  errorBodySchema,
  HEADER,
  isErrorCode,
  retryAfterSeconds,
  type WireError,
} from './wire';

/** What to do with one answer (or with its absence). */
export type Step<R> =
  | { type: 'final'; result: R }
  /** Retryable; `result` is the outcome if no retry follows. */
  | { type: 'retry'; result: Transient; reason: RetryReason; retryAfterSeconds?: number }
  | { type: 'fault'; error: CouponClientError }
  /** The answer is outside the contract: the call ends in a `protocol` outcome. */
  | { type: 'protocol'; violation: Omit<ProtocolViolation, 'kind' | 'retryAfterSeconds'> };

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

/** What a route's reader is told besides the answer: now, the horizon, what was asked for. */
export interface ReadContext {
  nowMs: number;
  horizonMs: number;
  /** A coupon, redemption, campaign or budget in a 2xx must be of these. */
  expect: { campaignId: string; userId?: string; orderId?: string };
}

/** Reads the status, the error body (if any) and Retry-After, bounded by the horizon. */
export function readAnswer(response: HttpResponse, nowMs: number, horizonMs: number): Answer {
  let json: unknown;
  try {
    json = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    json = undefined;
  }
  const parsedError = response.status >= 400 ? errorBodySchema.safeParse(json) : undefined;
  const error = parsedError?.success === true ? parsedError.data.error : undefined;
  const retryAfter = boundedSeconds(
    retryAfterSeconds(response.headers[HEADER.retryAfter], nowMs) ?? error?.retryAfterSeconds,
    horizonMs,
  );
  return {
    status: response.status,
    headers: response.headers,
    json,
    error,
    retryAfterSeconds: retryAfter,
    replayed: response.headers[HEADER.idempotentReplayed] === 'true',
  };
}

export const final = <R>(result: R, extra: Partial<Reading<R>> = {}): Reading<R> => ({
  step: { type: 'final', result },
  accepted: true,
  maybeDone: false,
  ...extra,
});

const faultOf = <R>(error: CouponClientError): Reading<R> => ({
  step: { type: 'fault', error },
  accepted: true,
  maybeDone: false,
});

/**
 * An answer outside the contract. A 2xx may still mean the service did it (a claim served, an
 * order redeemed) though its answer cannot be believed: asking again with the same key tells.
 */
export function protocolOf<R>(
  answer: Answer,
  problem: ProtocolViolation['problem'],
  detail: string,
): Reading<R> {
  return {
    step: {
      type: 'protocol',
      violation: { problem, status: answer.status, code: answer.error?.code ?? null, detail },
    },
    accepted: true,
    maybeDone: answer.status >= 200 && answer.status < 300,
  };
}

/** The body as the route's schema reads it, or undefined when it does not. */
export function parsed<T>(answer: Answer, schema: ZodType<T>): T | undefined {
  const result = schema.safeParse(answer.json);
  return result.success ? result.data : undefined;
}

/** A body the route's schema refuses, or values in it that cannot be right. */
export function malformed<R>(
  answer: Answer,
  what = 'a body that is not the contract’s',
): Reading<R> {
  return protocolOf(answer, 'malformed', `${answer.status} with ${what}`);
}

/** The error code, when the answer is one of the contract's with the status it travels with. */
export function codeOf(answer: Answer): string | undefined {
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

/**
 * Whatever no route reading took. A contract error with its own status is a fault the caller
 * cannot act on (401, 403, 404, 422 IDEMPOTENCY_KEY_REUSED, 500 INTERNAL, ...): thrown. An error
 * code this client does not know (a newer service) and every other status are `protocol`.
 */
export function unexpected<R>(answer: Answer): Reading<R> {
  const { error, status } = answer;
  if (error !== undefined && isErrorCode(error.code) && ERROR_STATUS[error.code] === status)
    return faultOf(
      new CouponClientError(error.code, error.message, {
        status,
        ...(error.errorId === undefined ? {} : { errorId: error.errorId }),
        ...(error.details === undefined ? {} : { fields: error.details }),
      }),
    );
  if (error !== undefined && !isErrorCode(error.code))
    return protocolOf(answer, 'unknown_code', `${status} with an error code this client lacks`);
  if (status >= 400 && error === undefined && answer.json !== undefined)
    return malformed(answer, 'a body that is not the contract’s error');
  return protocolOf(
    answer,
    'unexpected_status',
    `${status}${error === undefined ? '' : ` ${error.code}`}`,
  );
}
