import { ManualClock, parseCampaigns } from '@coupons/campaign';
import type { EventLoopGuard, Permit } from '@coupons/admission';
import { Redis } from 'ioredis';
import { AdmissionControl } from '../src/frontDoor/admissionControl';
import { CampaignCatalog } from '../src/campaignCatalog';
import { parseEnv } from '../src';
import { liveCampaign } from './support';

/** Admission as the service assembles it; its guard stopped, so the test sets what it reads. */
function assembled() {
  const config = parseEnv({ NODE_ENV: 'test', USER_RATE_LIMIT: 'off' }, process.cwd(), {
    apiKeys: 'ignore',
  });
  // Never connected: reads need no Redis (no user, no key, nothing sold out).
  const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false });
  const control = new AdmissionControl({
    config: config.admission,
    redis,
    clock: new ManualClock(Date.now()),
    catalog: new CampaignCatalog(
      parseCampaigns({ campaigns: [liveCampaign('admission-control')] }),
    ),
  });
  control.stop();
  const guard = (control as unknown as { eventLoop: EventLoopGuard }).eventLoop;
  const gate = control.gate;
  if (gate === undefined) throw new Error('admission is off');
  return { control, guard, gate, redis };
}

/** Fills the concurrency limit with reads and releases them all at `latencyMs`, `waves` times. */
function slowWaves(gate: NonNullable<AdmissionControl['gate']>, waves: number, latencyMs: number) {
  for (let w = 0; w < waves; w++) {
    const permits: Permit[] = [];
    for (;;) {
      const decision = gate.admit({ priority: 'read', headers: {} });
      if (decision instanceof Promise || !decision.admitted) break;
      permits.push(decision.permit);
    }
    for (const permit of permits) permit.release({ latencyMs, dropped: false });
  }
}

describe('AdmissionControl', () => {
  it('keeps the concurrency limit on latency while its event-loop guard reads the loop saturated', () => {
    const saturated = assembled();
    const idle = assembled();
    try {
      const before = saturated.gate.snapshot().concurrencyLimit;
      expect(idle.gate.snapshot().concurrencyLimit).toBe(before);
      saturated.guard.utilization = 0.99;
      idle.guard.utilization = 0.1;
      // Admitted reads taking 10x the latency target: the loop's queue, or queueing at the limit.
      slowWaves(saturated.gate, 5, 500);
      slowWaves(idle.gate, 5, 500);
      expect(saturated.gate.snapshot().concurrencyLimit).toBeGreaterThanOrEqual(before);
      expect(idle.gate.snapshot().concurrencyLimit).toBeLessThan(before);
    } finally {
      saturated.redis.disconnect();
      idle.redis.disconnect();
    }
  });
});
