/**
 * The one source of "now" (epoch ms): injected everywhere so that tests never read the wall clock.
 * Here, beside the contract's types, so that the service's libraries and the client read time
 * through one interface; it needs nothing of Node (the k6 scenarios type-check this package).
 */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
