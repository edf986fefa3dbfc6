/** Header names of the contract, as the docs write them (HTTP compares them case-insensitively). */
export const HEADERS = {
  authorization: 'Authorization',
  idempotencyKey: 'Idempotency-Key',
  userId: 'X-User-Id',
  requestTimeoutMs: 'X-Request-Timeout-Ms',
  requestId: 'X-Request-Id',
  retryAfter: 'Retry-After',
  idempotentReplayed: 'Idempotent-Replayed',
  allow: 'Allow',
  wwwAuthenticate: 'WWW-Authenticate',
} as const;

/** Request headers a request may carry once at most: two of them are ambiguous, so refused (400). */
export const SINGLE_REQUEST_HEADERS = [
  HEADERS.authorization,
  HEADERS.idempotencyKey,
  HEADERS.userId,
  HEADERS.requestTimeoutMs,
] as const;

/** X-Request-Timeout-Ms: the deadline when none is sent, and the most a caller may ask for. */
export const REQUEST_TIMEOUT_MS = { default: 2000, max: 10_000 } as const;

/** X-Request-Id values the service keeps (anything else is replaced by a new id). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Retry-After as a number of seconds: the service sends whole seconds; an HTTP date (which other
 * hops may send) is read as the seconds until it. Undefined when absent or unreadable.
 */
export function retryAfterSeconds(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
