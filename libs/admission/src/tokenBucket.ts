export interface TokenBucketOptions {
  /** Tokens added per second (ADMISSION_RATE). */
  ratePerSecond: number;
  /** Capacity: the largest burst let through at once (ADMISSION_BURST). */
  burst: number;
}

/**
 * The per-pod token bucket: synchronous, time passed in. Not rate-limiter-flexible's
 * RateLimiterMemory/BurstyRateLimiter: measured (bench/cost.ts) their consume() costs 1.7-5 µs
 * when it refuses, and being async it would put a promise on every request's path; this costs
 * tens of ns. It also refills continuously, where the library's fixed windows let 2x the rate
 * through at a window's edge.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;
  private readonly perMs: number;

  constructor(readonly options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError('token bucket: ratePerSecond must be > 0 and burst >= 1');
    }
    this.tokens = options.burst;
    this.perMs = options.ratePerSecond / 1000;
  }

  /**
   * Takes one token if that leaves at least `keep` (claims keep a reserve for redemptions and
   * reads, as in the concurrency partitions).
   */
  tryTake(now: number, keep = 0): boolean {
    this.refill(now);
    if (this.tokens - 1 < keep) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Share in use, 0..1 (1 = empty), of the tokens a caller that must leave `keep` may take: the
   * token-bucket part of saturation. Claims leave a reserve, so for them the bucket is empty at
   * `keep`, not at 0.
   */
  use(now: number, keep = 0): number {
    this.refill(now);
    const usable = this.options.burst - keep;
    return usable <= 0 ? 1 : Math.min(1, Math.max(0, 1 - (this.tokens - keep) / usable));
  }

  private refill(now: number): void {
    // A clock that steps back (a Redis-tracked clock correcting itself) adds nothing.
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.options.burst, this.tokens + (now - this.last) * this.perMs);
    }
    this.last = now;
  }
}
