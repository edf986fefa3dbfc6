import type { Clock } from '@coupons/contract';

/** The clock is the contract's: one interface for the service's libraries and the client. */
export { systemClock, type Clock } from '@coupons/contract';

function assertFiniteMs(ms: number, what: string): void {
  if (!Number.isFinite(ms))
    throw new RangeError(`${what} must be a finite number of ms, got ${ms}`);
}

/** A clock that moves only when told to: for tests and simulations. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(ms: number) {
    assertFiniteMs(ms, 'ManualClock time');
    this.ms = ms;
  }

  now(): number {
    return this.ms;
  }

  set(ms: number): void {
    assertFiniteMs(ms, 'ManualClock time');
    this.ms = ms;
  }

  /** Moves the clock by `ms` (negative steps back, as a corrected clock might). */
  advance(ms: number): void {
    assertFiniteMs(ms, 'ManualClock step');
    this.set(this.ms + ms);
  }
}
