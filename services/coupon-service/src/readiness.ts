import { within } from '@coupons/admission';
import type { RedisClient } from './redis/client';

export interface ReadinessReport {
  ready: boolean;
  checks: { redis: 'ok' | 'unreachable'; campaigns: 'ok' | 'none'; draining: boolean };
}

/** Ready = Redis answers PING, campaigns are loaded, and the pod is not draining. */
export class Readiness {
  private drainingSince: number | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly campaignCount: number,
    private readonly pingTimeoutMs: number,
  ) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(now: number): void {
    this.drainingSince ??= now;
  }

  async check(): Promise<ReadinessReport> {
    const redisOk = !this.draining && (await pingWithin(this.redis, this.pingTimeoutMs));
    const checks = {
      redis: redisOk ? ('ok' as const) : ('unreachable' as const),
      campaigns: this.campaignCount > 0 ? ('ok' as const) : ('none' as const),
      draining: this.draining,
    };
    return { ready: redisOk && checks.campaigns === 'ok' && !checks.draining, checks };
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
