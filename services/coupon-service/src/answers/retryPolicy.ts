import { DEFAULT_RETRY, retryAfterSeconds, type RetryOptions } from '@coupons/admission';

/**
 * Every Retry-After the service gives, in one place: the gate's shed answers (passed to it as
 * `gate`), and the app's (a refusal pointing at a moment, a dropped request, a fault). Whole
 * seconds, at least 1, jittered with `random` so a crowd told "not now" does not come back in
 * the same second.
 */
export class RetryPolicy {
  readonly gate: RetryOptions;

  constructor(
    soldOutSpreadSeconds: number,
    /** 0 <= r < 1; tests pass a fixed one. */
    private readonly random: () => number = Math.random,
  ) {
    this.gate = Object.freeze({ ...DEFAULT_RETRY, soldOutSpreadSeconds });
  }

  /** Until `atMs` (a release, the start, the next day), spread as sold-out answers are. */
  until(atMs: number, nowMs: number): number {
    const spreadSeconds = this.gate.soldOutSpreadSeconds;
    return retryAfterSeconds({ kind: 'at', nowMs, atMs, spreadSeconds }, this.random);
  }

  /** Work dropped for its deadline: as the gate's overload answers. */
  overloaded(): number {
    return retryAfterSeconds({ kind: 'backoff', ...this.gate.overloaded }, this.random);
  }

  /** A fault: its base, up to twice it. */
  fault(baseSeconds: number): number {
    return retryAfterSeconds(
      { kind: 'backoff', minSeconds: baseSeconds, spreadSeconds: baseSeconds },
      this.random,
    );
  }
}
