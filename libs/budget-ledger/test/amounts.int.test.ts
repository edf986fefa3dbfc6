import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile, shardKeys } from '../src';
import { claim, ledgerAt } from './support';

/**
 * Money is integer fen up to Number.MAX_SAFE_INTEGER (the schema's bound): every figure a script
 * stores, returns or replays must be exact there, never Lua's 14-digit %.14g.
 */
describeWithRedis('amounts near the largest the schema takes', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  for (const valueFen of [123_456_789_012_345, Number.MAX_SAFE_INTEGER]) {
    it(`a coupon of ${valueFen} fen redeemed by an order of MAX_SAFE_INTEGER fen: exact, and replayed exactly`, async () => {
      const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', {
        shards: 1,
        couponValueFen: valueFen,
        poolFen: valueFen,
        perUser: { daily: 1, total: 1 },
        startsAt: '2026-02-10T00:00:00+08:00',
        endsAt: '2026-02-10T23:59:59.999+08:00',
        release: { slicesPerDay: 1, rollover: true },
      });
      const issued = await ledger.issue(claim('whale'));
      if (issued.kind !== 'issued') throw new Error(issued.kind);
      expect(issued.coupon.valueFen).toBe(valueFen);
      const request = {
        code: issued.coupon.code,
        shard: 0,
        userId: 'whale',
        orderId: 'big-order',
        orderAmountFen: Number.MAX_SAFE_INTEGER,
      };
      const first = await ledger.redeem(request);
      expect(first).toMatchObject({
        kind: 'redeemed',
        redemption: { discountFen: valueFen },
        coupon: { valueFen, redemption: { discountFen: valueFen } },
      });
      expect(await ledger.redeem(request)).toEqual({ ...first, replayed: true });
      const stored = await redis.hmget(
        shardKeys(calendar.campaign.id, 0).ledger,
        'redeemedFen',
        'redeemed',
      );
      expect(stored).toEqual([String(valueFen), '1']);
      expect(await ledger.reverse(request)).toMatchObject({ kind: 'reversed', changed: true });
      expect(await redis.hget(shardKeys(calendar.campaign.id, 0).ledger, 'redeemedFen')).toBe('0');
      expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
    });
  }
});
