/** Epoch milliseconds; the service passes its Redis-tracked clock, tests a fake one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
