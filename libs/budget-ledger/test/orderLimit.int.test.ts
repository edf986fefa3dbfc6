import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile, shardKeys, type BudgetLedger } from '../src';
import { claim, ledgerAt } from './support';

/** Users on different shards, so one order's coupons come from several shards. */
async function couponsOnShards(ledger: BudgetLedger, count: number) {
  const coupons: { code: string; shard: number; userId: string }[] = [];
  const shards = new Set<number>();
  for (let i = 0; coupons.length < count; i += 1) {
    const userId = `buyer-${i}`;
    const shard = ledger.shardOf(userId);
    if (shards.has(shard) && shards.size < ledger.calendar.campaign.shards) continue;
    shards.add(shard);
    const result = await ledger.issue(claim(userId));
    if (result.kind !== 'issued') throw new Error(`setup: ${result.kind}`);
    coupons.push({ code: result.coupon.code, shard, userId });
  }
  return coupons;
}

describeWithRedis('one coupon per order, across shards', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  it('of coupons from 4 shards redeemed at once for one order, exactly one wins; 409 for the rest', async () => {
    const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00');
    const coupons = await couponsOnShards(ledger, 4);
    expect(new Set(coupons.map((c) => c.shard)).size).toBe(4);
    for (let round = 0; round < 5; round += 1) {
      const orderId = `order-${round}`;
      const results = await Promise.all(
        coupons.map((c) => ledger.redeem({ ...c, orderId, orderAmountFen: 10_000 })),
      );
      const won = results.filter((r) => r.kind === 'redeemed');
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'order_already_discounted')).toHaveLength(3);
      expect(results.find((r) => r.kind === 'order_already_discounted')).toEqual({
        kind: 'order_already_discounted',
        couponsPerOrder: 1,
      });
      // The reversal frees the order: another coupon may discount it, and its retry replays.
      const winner = coupons[results.findIndex((r) => r.kind === 'redeemed')]!;
      expect(await ledger.reverse({ ...winner, orderId })).toMatchObject({ kind: 'reversed' });
      const other = coupons.find((c) => c !== winner)!;
      const again = await ledger.redeem({ ...other, orderId, orderAmountFen: 10_000 });
      expect(again).toMatchObject({ kind: 'redeemed', replayed: false });
      expect(await ledger.redeem({ ...other, orderId, orderAmountFen: 10_000 })).toMatchObject({
        kind: 'redeemed',
        replayed: true,
      });
      // The reversed coupon never redeems that order again, and holds nothing there.
      expect(await ledger.redeem({ ...winner, orderId, orderAmountFen: 10_000 })).toMatchObject({
        kind: 'order_already_discounted',
      });
      await ledger.reverse({ ...other, orderId });
    }
    expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
  });

  it('a refused redemption frees its hold; one that may have happened keeps the order held', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00', {
      minOrderFen: 5000,
    });
    const [a, b] = await couponsOnShards(ledger, 2);
    expect(await ledger.redeem({ ...a!, orderId: 'small', orderAmountFen: 10 })).toEqual({
      kind: 'below_minimum',
      minOrderFen: 5000,
    });
    expect(await ledger.redeem({ ...b!, orderId: 'small', orderAmountFen: 6000 })).toMatchObject({
      kind: 'redeemed',
    });
    // A redemption whose answer was lost (the coupon's shard did not answer): the hold stays.
    const orderShard = ledger.orderShardOf('lost-answer');
    const held = shardKeys(calendar.campaign.id, orderShard).order('lost-answer');
    const shardOfA = shardKeys(calendar.campaign.id, a!.shard).ledger;
    const saved = await redis.hgetall(shardOfA);
    await redis.hset(shardOfA, 'fingerprint', 'another');
    await expect(
      ledger.redeem({ ...a!, orderId: 'lost-answer', orderAmountFen: 6000 }),
    ).rejects.toMatchObject({ reason: 'config_mismatch' });
    await redis.hset(shardOfA, saved);
    expect(await redis.hgetall(held)).toEqual({ [a!.code]: '1' });
    expect(
      await ledger.redeem({ ...b!, orderId: 'lost-answer', orderAmountFen: 6000 }),
    ).toMatchObject({ kind: 'order_already_discounted' });
    // The same redemption retried goes through and keeps its hold.
    expect(
      await ledger.redeem({ ...a!, orderId: 'lost-answer', orderAmountFen: 6000 }),
    ).toMatchObject({ kind: 'redeemed' });
  });

  it('couponsPerOrder 2: two coupons of two shards discount one order, the third is refused', async () => {
    const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00', {
      couponsPerOrder: 2,
    });
    const coupons = await couponsOnShards(ledger, 4);
    const results = await Promise.all(
      coupons.map((c) => ledger.redeem({ ...c, orderId: 'big-order', orderAmountFen: 10_000 })),
    );
    expect(results.filter((r) => r.kind === 'redeemed')).toHaveLength(2);
    expect(results.filter((r) => r.kind === 'order_already_discounted')).toHaveLength(2);
    expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
  });

  it('many orders and coupons racing: no order ever carries two coupons', async () => {
    const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00');
    const coupons = await couponsOnShards(ledger, 12);
    const orders = ['o1', 'o2', 'o3'];
    const attempts = coupons.flatMap((c) =>
      orders.map((orderId) => ledger.redeem({ ...c, orderId, orderAmountFen: 10_000 })),
    );
    const results = await Promise.all(attempts);
    const perOrder = new Map<string, number>();
    for (const r of results)
      if (r.kind === 'redeemed' && !r.replayed)
        perOrder.set(r.redemption.orderId, (perOrder.get(r.redemption.orderId) ?? 0) + 1);
    for (const orderId of orders) expect(perOrder.get(orderId) ?? 0).toBeLessThanOrEqual(1);
    expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
  });
});
