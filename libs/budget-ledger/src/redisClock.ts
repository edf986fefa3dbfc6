import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '@coupons/campaign';

/** Redis TIME in epoch ms. */
export async function redisTimeMs(redis: Redis | Cluster): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * A clock that follows Redis TIME, not the pod's wall clock: a pod whose clock runs 30 s (or a
 * day) fast must not open a release early. It measures elapsed time with the monotonic clock
 * from the last TIME reading, taken as the reply arrives, so it trails Redis by at most half a
 * round trip; the ledger scripts refuse a time ahead of Redis anyway.
 */
export class RedisTimeClock implements Clock {
  private baseRedisMs: number | undefined;
  private baseMonotonicMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly monotonicMs: () => number = () => performance.now(),
    private readonly fallback: Clock = { now: () => Date.now() },
  ) {}

  get synced(): boolean {
    return this.baseRedisMs !== undefined;
  }

  /** Before the first reading (Redis unreachable since start) this is the fallback's time. */
  now(): number {
    if (this.baseRedisMs === undefined) return this.fallback.now();
    return Math.floor(this.baseRedisMs + (this.monotonicMs() - this.baseMonotonicMs));
  }

  /** A Redis time seen elsewhere (a script's reply): adopt it if the clock ran ahead of it. */
  observe(redisMs: number): void {
    if (this.baseRedisMs === undefined || this.now() > redisMs) {
      this.baseRedisMs = redisMs;
      this.baseMonotonicMs = this.monotonicMs();
    }
  }

  async sync(): Promise<void> {
    this.baseRedisMs = await redisTimeMs(this.redis);
    this.baseMonotonicMs = this.monotonicMs();
  }

  /** Re-reads TIME every `everyMs`; a failed reading keeps the last one (Redis may be down). */
  start(everyMs = 1000, onError: (err: unknown) => void = () => undefined): void {
    this.stop();
    this.timer = setInterval(() => this.sync().catch(onError), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
