import { performance } from 'node:perf_hooks';
import { within } from '@coupons/admission';
import type { Readiness } from '@coupons/contract';
import type { RedisClient } from './redis/client';

/** How long a Redis health sample stands: at most one PING a second per pod, however often asked. */
export const REDIS_SAMPLE_MS = 1000;

/**
 * Ready = Redis answered its last PING (sampled at most once per REDIS_SAMPLE_MS, one PING in
 * flight at a time), campaigns are loaded, and the pod is not draining. A crowd of /readyz costs
 * no more Redis than one probe. `check()` gives the contract's `Readiness` answer.
 */
export class ReadinessProbe {
  private drainingSince: number | undefined;
  private sample: { at: number; ok: boolean } | undefined;
  private pinging: Promise<boolean> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly campaignCount: number,
    private readonly pingTimeoutMs: number,
    /** Monotonic ms; tests inject one. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(now: number): void {
    this.drainingSince ??= now;
  }

  async check(): Promise<Readiness> {
    const redisOk = !this.draining && (await this.redisHealthy());
    const checks = {
      redis: redisOk ? ('ok' as const) : ('unreachable' as const),
      campaigns: this.campaignCount > 0 ? ('ok' as const) : ('none' as const),
      draining: this.draining,
    };
    return { ready: redisOk && checks.campaigns === 'ok' && !checks.draining, checks };
  }

  private redisHealthy(): Promise<boolean> | boolean {
    // A client that lost its connection knows it without asking.
    if (this.redis.status !== 'ready') return false;
    const sample = this.sample;
    if (sample !== undefined && this.now() - sample.at < REDIS_SAMPLE_MS) return sample.ok;
    this.pinging ??= pingWithin(this.redis, this.pingTimeoutMs).then((ok) => {
      this.sample = { at: this.now(), ok };
      this.pinging = undefined;
      return ok;
    });
    return this.pinging;
  }
}

/** PONG within `timeoutMs`; a refused or late PING is false. */
async function pingWithin(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  const pong = redis.ping().then(
    (reply) => reply === 'PONG',
    () => false,
  );
  return (await within(pong, timeoutMs)) === true;
}
