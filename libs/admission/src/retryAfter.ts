/** Come back in minSeconds .. minSeconds + spreadSeconds (whole seconds, uniform). */
export interface BackoffHint {
  kind: 'backoff';
  minSeconds: number;
  spreadSeconds: number;
}
/** Come back after `atMs` (a release, the end of a rate window), spread over spreadSeconds past it. */
export interface AtHint {
  kind: 'at';
  nowMs: number;
  atMs: number;
  spreadSeconds: number;
}
/** What a Retry-After should point at. */
export type RetryHint = BackoffHint | AtHint;

/**
 * Retry-After in whole seconds, at least 1, jittered with `random` (0 <= r < 1) so a crowd told
 * "not now" does not come back in the same second.
 */
export function retryAfterSeconds(hint: RetryHint, random: () => number = Math.random): number {
  switch (hint.kind) {
    case 'backoff':
      return Math.max(1, Math.floor(hint.minSeconds + random() * (hint.spreadSeconds + 1)));
    case 'at':
      return Math.max(
        1,
        Math.ceil((hint.atMs - hint.nowMs) / 1000 + random() * hint.spreadSeconds),
      );
  }
}
