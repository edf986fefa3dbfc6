import type { Random } from './clock';

export interface BackoffOptions {
  /** The ceiling of the first retry's wait. */
  baseMs: number;
  /** No wait is drawn above this, however many retries came before. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 100, capMs: 2_000 });

/**
 * Capped exponential backoff with full jitter: before retry number `retry` (1 for the first),
 * wait a uniform draw from [0, min(capMs, baseMs * 2^(retry-1))). Full jitter spreads a crowd
 * that failed together over the whole interval instead of sending it back in step.
 */
export function fullJitterBackoffMs(
  retry: number,
  options: BackoffOptions,
  random: Random,
): number {
  if (!Number.isInteger(retry) || retry < 1)
    throw new RangeError(`retry must be an integer >= 1: ${retry}`);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before a retry: never less than the service's Retry-After (no attempt before
 * it), and never less than the jittered backoff.
 */
export function retryDelayMs(
  retry: number,
  retryAfterSeconds: number | undefined,
  options: BackoffOptions,
  random: Random,
): number {
  const backoff = fullJitterBackoffMs(retry, options, random);
  return retryAfterSeconds === undefined ? backoff : Math.max(retryAfterSeconds * 1000, backoff);
}
