import type { Clock } from '@coupons/contract';
import type { Random } from './clock';
import { SlidingWindow } from './slidingWindow';

export interface ThrottleOptions {
  /**
   * The multiplier of accepted requests in max(0, (requests - K x accepts) / (requests + 1)):
   * the client sends up to K times what the service accepts before it starts refusing locally.
   */
  k: number;
  /** The history the ratio is taken over. */
  windowMs: number;
  /**
   * Nothing is refused while the window holds fewer requests than this (as Envoy's admission
   * control has rps_threshold): one failed request of a quiet client would otherwise make the
   * next one a coin toss, for no relief the service would notice.
   */
  minRequests: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = Object.freeze({
  k: 2,
  windowMs: 5_000,
  minRequests: 10,
});

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): the client counts the
 * requests it wanted to send and the ones the service accepted (did not shed) over a sliding
 * window, and refuses a new request locally with probability
 * max(0, (requests - K x accepts) / (requests + 1)). While the service accepts everything the
 * probability is 0; when it sheds most, nearly every request is refused here, at no cost to it,
 * and as its accepts come back the history slides and traffic returns.
 *
 * After a spell where nothing was accepted, traffic comes back gradually: each accept lowers the
 * probability, so the share sent grows about exponentially, reaching all of it in roughly
 * (windowMs / 2) x ln(requests per window) plus the time the old history takes to slide out.
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
   * Says whether to send a request (false: refuse it here). A refused request is counted at
   * once, as in the SRE book; a sent one when its answer is in (settle), so requests still on
   * their way do not count as refused: a burst from a quiet client is not turned away for
   * answers that have not arrived yet.
   */
  admit(): boolean {
    const p = this.rejectProbability();
    if (p > 0 && this.random() < p) {
      this.window.add('requests');
      return false;
    }
    return true;
  }

  /** A request that was sent has ended: accepted (the service did not shed it) or not. */
  settle(accepted: boolean): void {
    this.window.add('requests');
    if (accepted) this.window.add('accepts');
  }

  rejectProbability(): number {
    const { requests, accepts } = this.window.sums();
    if (requests < this.options.minRequests) return 0;
    return Math.max(0, (requests - this.options.k * accepts) / (requests + 1));
  }
}
