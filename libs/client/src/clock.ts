import { setTimeout as delay } from 'node:timers/promises';
import { systemClock as wallClock, type Clock as TimeClock } from '@coupons/contract';

/**
 * Time as the policies see it. Every decision (windows, Retry-After, backoff, deadlines, the
 * sold-out memory) reads `now()` and waits with `sleep()`, so tests move time instead of waiting:
 * the contract's clock (epoch ms) that also waits on its own time. The waiting stays here, as the
 * contract needs nothing of Node or the DOM.
 */
export interface Clock extends TimeClock {
  /** Resolves after `ms` on this clock; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A uniform draw, 0 <= r < 1. */
export type Random = () => number;

export const systemClock: Clock = Object.freeze({
  now: wallClock.now,
  sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  },
});
