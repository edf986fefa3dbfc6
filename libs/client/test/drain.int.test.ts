import type { ClaimOutcome } from '../src/outcomes';
import {
  clientOf,
  couponApi,
  describeIfRedis,
  issuedCount,
  liveCampaign,
  stackFor,
  uniqueId,
  until,
} from './serviceHarness';
import { SkippingClock } from './support';

/**
 * A pod drains (a rolling deploy) while claims flow: it answers new requests 503 UNAVAILABLE with
 * Connection: close and stops accepting; a load balancer sends the reconnecting client to the
 * other pod, on the same Redis. Every claim ends with one coupon, whichever pod served it.
 */
describeIfRedis('a pod draining while claims flow', () => {
  const campaign = liveCampaign(uniqueId('client-drain'));
  // The pod that drains, the one that stays; both behind the proxy.
  const stack = stackFor([campaign], { pods: [{}, {}], proxied: [0, 1] });

  it('every claim ends with exactly one coupon, retried ones with the coupon the retry answers', async () => {
    const [draining, staying, proxy] = [stack.pod(0), stack.pod(1), stack.proxy()];
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
