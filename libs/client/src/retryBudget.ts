import type { Clock } from '@coupons/contract';
import { SlidingWindow } from './slidingWindow';

export interface RetryBudgetOptions {
  /** Retries may add at most this share of the calls sent in the window (0.1 = 10%). */
  ratio: number;
  /** The window over which calls and retries are counted. */
  windowMs: number;
  /** Retries allowed per window whatever the traffic, so a quiet client can still retry. */
  minRetries: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = Object.freeze({
  ratio: 0.1,
  windowMs: 10_000,
  minRetries: 2,
});

/**
 * A retry budget in the manner of Finagle's RetryBudget and gRPC's retry throttling: every call
 * sent deposits `ratio` of a token, every retry withdraws one, deposits and withdrawals expire
 * after `windowMs`, and `minRetries` tokens are always there. When every answer is a failure,
 * retries add at most ratio x calls (+ minRetries) to the load instead of multiplying it by the
 * number of attempts.
 */
export class RetryBudget {
  private readonly window: SlidingWindow<'calls' | 'retries'>;

  constructor(
    readonly options: RetryBudgetOptions,
    clock: Clock,
  ) {
    if (!(options.ratio >= 0)) throw new RangeError(`ratio must be >= 0: ${options.ratio}`);
    if (!(options.minRetries >= 0))
      throw new RangeError(`minRetries must be >= 0: ${options.minRetries}`);
    this.window = new SlidingWindow(['calls', 'retries'], options.windowMs, clock);
  }

  /** A call was sent (its first attempt). */
  deposit(): void {
    this.window.add('calls');
  }

  /** Takes a token for one retry; false (nothing taken) when the budget is spent. */
  tryWithdraw(): boolean {
    if (this.balance() < 1) return false;
    this.window.add('retries');
    return true;
  }

  /** Tokens left now: minRetries + ratio x calls - retries, over the window. */
  balance(): number {
    const { calls, retries } = this.window.sums();
    return this.options.minRetries + this.options.ratio * calls - retries;
  }
}
