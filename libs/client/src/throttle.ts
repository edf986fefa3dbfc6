import type { Clock, Random } from './clock';
import { SlidingWindow } from './slidingWindow';

export interface ThrottleOptions {
  /**
   * The multiplier of accepted requests in max(0, (requests - K x accepts) / (requests + 1)):
   * the client sends up to K times what the service accepts before it starts refusing locally.
   */
  k: number;
  /** The history the ratio is taken over. */
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = Object.freeze({ k: 2, windowMs: 10_000 });

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): the client counts the
 * requests it wanted to send and the ones the service accepted (did not shed) over a sliding
 * window, and refuses a new request locally with probability
 * max(0, (requests - K x accepts) / (requests + 1)). While the service accepts everything the
 * probability is 0; when it sheds most, nearly every request is refused here, at no cost to it,
 * and as its accepts come back the history slides and traffic returns.
 */
export class AdaptiveThrottle {
  private readonly window: SlidingWindow<'requests' | 'accepts'>;

  constructor(
    readonly options: ThrottleOptions,
    clock: Clock,
    private readonly random: Random,
  ) {
    if (!(options.k > 0)) throw new RangeError(`k must be > 0: ${options.k}`);
    this.window = new SlidingWindow(['requests', 'accepts'], options.windowMs, clock);
  }

  /**
   * Counts a request the caller wants to send and says whether to send it (false: refuse it
   * locally). A refused request counts as a request too, as in the SRE book.
   */
  admit(): boolean {
    const p = this.rejectProbability();
    this.window.add('requests');
    return !(p > 0 && this.random() < p);
  }

  /** The service answered without shedding the request. */
  accepted(): void {
    this.window.add('accepts');
  }

  rejectProbability(): number {
    const { requests, accepts } = this.window.sums();
    return Math.max(0, (requests - this.options.k * accepts) / (requests + 1));
  }
}
