import type { ClaimOutcome } from '../src/outcomes';
import {
  clientOf,
  couponApi,
  describeIfRedis,
  issuedCount,
  liveCampaign,
  startPod,
  uniqueId,
  until,
  type TestService,
} from './serviceHarness';
import { SkippingClock } from './support';
import { TcpProxy } from './tcpProxy';

/**
 * A pod drains (a rolling deploy) while claims flow: it answers new requests 503 UNAVAILABLE with
 * Connection: close and stops accepting; a load balancer sends the reconnecting client to the
 * other pod, on the same Redis. Every claim ends with one coupon, whichever pod served it.
 */
describeIfRedis('a pod draining while claims flow', () => {
  const campaign = liveCampaign(uniqueId('client-drain'));
  let draining: TestService;
  let staying: TestService;
  let proxy: TcpProxy;

  beforeAll(async () => {
    draining = await startPod([campaign]);
    staying = await startPod([campaign], { initLedgers: false });
    proxy = await TcpProxy.start([draining.port, staying.port]);
  });
  afterAll(async () => {
    await proxy.close();
    await draining.stop();
    await staying.stop();
  });

  it('every claim ends with exactly one coupon, retried ones with the coupon the retry answers', async () => {
    const retries: string[] = [];
    const client = clientOf(proxy.url, {
      clock: new SkippingClock(),
      bulkhead: { maxConcurrent: 8 },
      retryBudget: { minRetries: 40 },
      metrics: { retry: (_op, reason) => retries.push(reason) },
    });
    const users = Array.from({ length: 40 }, (_, i) => `d${i}`);
    try {
      const pending = users.map((userId) =>
        client.claim({ campaignId: campaign.id, userId, intentId: `m-${userId}` }),
      );
      // The drain starts once claims are being answered, with more in flight and queued.
      await until(
        'the first answers',
        () => proxy.seen.filter((r) => r.answered).length >= 8 || undefined,
      );
      const shutdown = draining.server.shutdown('rolling deploy');
      const outcomes: ClaimOutcome[] = await Promise.all(pending);
      expect(await shutdown).toBe('clean');

      const api = couponApi(staying, campaign.id);
      const codes = new Set<string>();
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.kind !== 'issued' && outcome.kind !== 'replayed')
          throw new Error(`${users[i]}: no coupon: ${JSON.stringify(outcome)}`);
        codes.add(outcome.coupon.code);
        expect((await api.read(outcome.coupon.code, users[i]!)).status).toBe(200);
      }
      expect(codes.size).toBe(users.length);
      expect(await issuedCount(staying, campaign)).toBe(users.length);
      // Both pods served, and the drain was retried through.
      expect(new Set(proxy.seen.map((r) => r.backend))).toEqual(
        new Set([draining.port, staying.port]),
      );
      expect(retries.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});
