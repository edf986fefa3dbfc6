import { Agent, request } from 'node:http';
import { describeIfRedis } from '@coupons/testing';
import {
  KEYS,
  liveCampaign,
  metricsText,
  startReadyService,
  uniqueId,
  type TestService,
} from './support';

/**
 * OVERLOAD_ACTIONS: with a pod shedding nearly every claim (a token bucket of 1/s) and the
 * actions on, they step up (`coupon_overload_level`) and close keep-alive connections after shed
 * answers; off (the default) none of that happens: every connection stays open, however long the
 * flood, and the pod has no overload series.
 */
describeIfRedis('OVERLOAD_ACTIONS on and off', () => {
  const SOCKETS = 8;

  /** Claims on SOCKETS keep-alive connections until `done`: how many, how many on a new connection. */
  async function flood(
    service: TestService,
    campaign: { id: string },
    done: () => boolean | Promise<boolean>,
  ) {
    const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS });
    const counts = { sent: 0, shed: 0, onNewConnection: 0, connectionErrors: 0 };
    let stop = false;
    const one = (i: number) =>
      new Promise<void>((resolve) => {
        const body = JSON.stringify({ userId: `u-${i}` });
        const req = request(
          `${service.base}/v1/campaigns/${campaign.id}/coupons`,
          {
            method: 'POST',
            agent,
            headers: {
              authorization: `Bearer ${KEYS.all}`,
              'content-type': 'application/json',
              'idempotency-key': `k-${i}`,
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            counts.sent += 1;
            if (res.statusCode === 503 || res.statusCode === 429) counts.shed += 1;
            if (!req.reusedSocket) counts.onNewConnection += 1;
            res.resume();
            res.on('end', resolve);
          },
        );
        // A connection closed at accept (level 3) fails the request: counted, not thrown.
        req.on('error', () => {
          counts.connectionErrors += 1;
          resolve();
        });
        req.end(body);
      });
    let next = 0;
    const lane = async () => {
      while (!stop) await one(next++);
    };
    const lanes = Array.from({ length: SOCKETS }, lane);
    try {
      while (!(await done())) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      stop = true;
      await Promise.all(lanes);
      agent.destroy();
    }
    return counts;
  }

  const env = { ADMISSION_RATE: '1', ADMISSION_BURST: '1', USER_RATE_LIMIT: 'off' };

  it('on: the level rises and shed answers close their connections', async () => {
    const campaign = liveCampaign(uniqueId('actions-on'));
    const service = await startReadyService({
      campaigns: [campaign],
      env: { ...env, OVERLOAD_ACTIONS: 'on' },
    });
    try {
      let level = 0;
      const counts = await flood(service, campaign, async () => {
        const text = await metricsText(service);
        level = Number(/^coupon_overload_level (\d+)/m.exec(text)?.[1] ?? 0);
        return level >= 2;
      });
      expect(level).toBeGreaterThanOrEqual(2);
      expect(counts.shed).toBeGreaterThan(counts.sent * 0.9);
      // Level 2 closes a connection after a shed answer, level 3 refuses new ones: later claims
      // found their connections gone.
      const more = await flood(service, campaign, () => true);
      expect(more.onNewConnection + more.connectionErrors).toBeGreaterThan(0);
    } finally {
      await service.stop();
    }
  });

  it('off, the default: no level, no series, every connection kept through a flood of shed answers', async () => {
    const campaign = liveCampaign(uniqueId('actions-off'));
    const service = await startReadyService({ campaigns: [campaign], env });
    try {
      // At least 10 of the actions' looks (100 ms each) and 500 shed answers: "on" would have
      // stepped to level 3 long before.
      const started = performance.now();
      const counts = await flood(service, campaign, () => performance.now() - started >= 1000);
      expect(counts.sent).toBeGreaterThan(500);
      expect(counts.shed).toBeGreaterThan(counts.sent * 0.9);
      expect(counts.onNewConnection).toBeLessThanOrEqual(SOCKETS);
      expect(counts.connectionErrors).toBe(0);
      expect(await metricsText(service)).not.toMatch(/coupon_overload_level/);
    } finally {
      await service.stop();
    }
  });
});
