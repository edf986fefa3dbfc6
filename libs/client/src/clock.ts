import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the policies see it. Every decision (windows, Retry-After, backoff, deadlines, the
 * sold-out memory) reads `now()` and waits with `sleep()`, so tests move time instead of waiting.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` on this clock; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A uniform draw, 0 <= r < 1. */
export type Random = () => number;

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  },
});
