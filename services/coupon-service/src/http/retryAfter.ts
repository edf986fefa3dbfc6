import { retryAfterSeconds as jittered } from '@coupons/admission';

/** How far past the moment a Retry-After may point, and the draw that spreads it. */
export interface RetrySpread {
  spreadSeconds: number;
  /** 0 <= r < 1; tests pass a fixed one. */
  random: () => number;
}

/**
 * Seconds until `untilMs` (a release, the start, the next day), rounded up, at least 1, plus up
 * to `spreadSeconds` of jitter: a crowd told "come back at 12:00" must not all come back at
 * 12:00:00. The same function the admission gate's sold-out answers use.
 */
export function retryAfterSeconds(untilMs: number, nowMs: number, spread: RetrySpread): number {
  return jittered(
    { kind: 'at', nowMs, atMs: untilMs, spreadSeconds: spread.spreadSeconds },
    spread.random,
  );
}
