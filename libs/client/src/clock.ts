import { setTimeout as delay } from 'node:timers/promises';
import { systemClock, type Clock } from '@coupons/contract';

/**
 * The client's clock: the contract's `Clock` (epoch ms), which every policy reads (windows,
 * Retry-After, deadlines, the sold-out memory), and `sleep()`, with which the client waits
 * between attempts, so tests move time instead of waiting. The waiting stays here, as the
 * contract needs nothing of Node or the DOM.
 */
export interface ClientClock extends Clock {
  /** Resolves after `ms` on this clock; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A uniform draw, 0 <= r < 1. */
export type Random = () => number;

export const systemClientClock: ClientClock = Object.freeze({
  now: systemClock.now,
  sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  },
});
