import { describeIfRedis } from '@coupons/testing';
import { zonedDays } from '@coupons/campaign';
import { couponApi, type TestService, QUIET_GUARD_ENV, useLiveCampaignService } from './support';

const ENV = {
  ...QUIET_GUARD_ENV,
  SOLD_OUT_PROBE_MS: '3600000',
  USER_RATE_LIMIT: 'off',
};

/**
 * A shard sells out exactly when the crowd is largest, which is when answers get lost: the retry
 * of a claim that was served (same Idempotency-Key) must get its coupon, not "sold out".
 */
describeIfRedis('a replay of a served claim on a sold-out shard', () => {
  let service: TestService;
  // One shard, five coupons released today (one slice), nothing more until tomorrow.
  const now = Date.now();
  const window = { startsInMs: -60_000, endsInMs: 36 * 3_600_000 };
  const days = zonedDays(now + window.startsInMs, now + window.endsInMs, 'Asia/Shanghai').length;
  const campaign = useLiveCampaignService(
    'replay-soldout',
    { ...window, now, coupons: 5 * days, slicesPerDay: 1, shards: 1 },
    (s) => (service = s),
    ENV,
  );

  it('answers the served coupon (201, Idempotent-Replayed), with or without X-User-Id', async () => {
    const api = couponApi(service, campaign.id);
    const claim = (userId: string, key: string, header = true) =>
      api.call('POST', '/coupons', {
        body: { userId },
        headers: { 'Idempotency-Key': key, ...(header ? { 'X-User-Id': userId } : {}) },
      });
    const served = await claim('user-a', 'a-1');
    expect(served.status).toBe(201);
    for (const user of ['b', 'c', 'd', 'e']) expect((await claim(user, 'k')).status).toBe(201);
    // Sold out: the ledger says so once, then the gate answers from memory.
    for (const user of ['f', 'g', 'h']) {
      const refused = await claim(user, 'k');
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('TRANCHE_EXHAUSTED');
    }

    for (const withHeader of [true, false]) {
      const retry = await claim('user-a', 'a-1', withHeader);
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body.coupon.code).toBe(served.body.coupon.code);
    }
    // A new key of the same user is still sold out.
    expect((await claim('user-a', 'a-2')).status).toBe(409);
  });
});
