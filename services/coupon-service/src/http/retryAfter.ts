/**
 * Seconds until `untilMs`, rounded up, at least 1: the one place every Retry-After that points at
 * a moment (a release, the start, the next day) is computed, so jitter can be added here later.
 */
export function retryAfterSeconds(untilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
}
