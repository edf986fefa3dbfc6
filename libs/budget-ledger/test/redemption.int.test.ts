import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile, type LedgerCoupon } from '../src';
import { at, claim, ledgerAt } from './support';

describeWithRedis('redeemCoupon-3.lua and reverseRedemption-3.lua', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  async function issuedCoupon(
    overrides: Record<string, unknown> = {},
    when = '2026-02-10T12:30:00+08:00',
  ) {
    const setup = await ledgerAt(redis, when, overrides);
    const result = await setup.ledger.issue(claim('owner'));
    if (result.kind !== 'issued') throw new Error(`expected a coupon, got ${result.kind}`);
    const coupon: LedgerCoupon = result.coupon;
    const shard = setup.ledger.shardOf('owner');
    const redeem = (orderId: string, orderAmountFen = 10_000, userId = 'owner') =>
      setup.ledger.redeem({ code: coupon.code, shard, userId, orderId, orderAmountFen });
    const reverse = (orderId: string, userId = 'owner') =>
      setup.ledger.reverse({ code: coupon.code, shard, userId, orderId });
    return { ...setup, coupon, shard, redeem, reverse };
  }

  it('redeems once with discount = min(value, order), replays the same order, refuses another', async () => {
    const { redeem, coupon, clock } = await issuedCoupon();
    const first = await redeem('order-1', 1999);
    expect(first).toMatchObject({
      kind: 'redeemed',
      replayed: false,
      redemption: {
        code: coupon.code,
        orderId: 'order-1',
        discountFen: 1999,
        redeemedAt: clock.now(),
      },
      coupon: { status: 'redeemed', redemption: { orderId: 'order-1', discountFen: 1999 } },
    });
    expect(await redeem('order-1', 1999)).toEqual({ ...first, replayed: true });
    expect(await redeem('order-2')).toEqual({ kind: 'already_redeemed' });
    const big = await issuedCoupon();
    expect(await big.redeem('order-9', 1_000_000)).toMatchObject({
      redemption: { discountFen: 2500 },
    });
  });

  it('a late retry of a redemption whose order was reversed does not redeem again', async () => {
    const { redeem, reverse, ledger, calendar, clock } = await issuedCoupon();
    const first = await redeem('order-1', 1999);
    expect(first).toMatchObject({ kind: 'redeemed', replayed: false });
    const reversedAt = clock.now() + 1_000;
    clock.set(reversedAt);
    expect(await reverse('order-1')).toMatchObject({ kind: 'reversed', changed: true });

    // The first request's retry arrives late: the order is cancelled, it never redeems again.
    clock.advance(1_000);
    const retry = await redeem('order-1', 1999);
    expect(retry).toMatchObject({
      kind: 'order_reversed',
      reversedAt,
      coupon: { status: 'issued' },
    });
    // The coupon is free for the user's next real order.
    expect(await redeem('order-2', 3000)).toMatchObject({ kind: 'redeemed', replayed: false });
    const report = await reconcile(redis, calendar, clock.now());
    expect(report.problems).toEqual([]);
    expect(ledger.campaignId).toBe(calendar.campaign.id);
  });

  it('one coupon redeemed by 50 different orders at once: one wins, 49 already redeemed', async () => {
    const { redeem, reverse, ledger, calendar, clock } = await issuedCoupon();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => redeem(`race-${i}`)));
    const winners = results.filter((r) => r.kind === 'redeemed');
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'already_redeemed')).toHaveLength(49);
    const winner = winners[0]!.kind === 'redeemed' ? winners[0]!.redemption.orderId : '';

    // The order is cancelled: reversal restores the coupon, idempotently; then it redeems again.
    expect(await reverse('race-unknown')).toEqual({ kind: 'redemption_not_found' });
    expect(await reverse(winner)).toMatchObject({
      kind: 'reversed',
      changed: true,
      coupon: { status: 'issued' },
    });
    expect(await reverse(winner)).toMatchObject({
      kind: 'reversed',
      changed: false,
      coupon: { status: 'issued' },
    });
    expect(await redeem('after-reversal')).toMatchObject({ kind: 'redeemed', replayed: false });
    expect((await ledger.snapshot()).issuedCoupons).toBe(1);
    expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
  });

  it("answers not_found for someone else's coupon, and for a code that does not exist", async () => {
    const { redeem, reverse, ledger, shard } = await issuedCoupon();
    expect(await redeem('order-x', 5000, 'mallory')).toEqual({ kind: 'not_found' });
    expect(await reverse('order-x', 'mallory')).toEqual({ kind: 'not_found' });
    expect(await ledger.readCoupon('0000000000000000', shard, 'owner')).toBeUndefined();
  });

  it('refuses 1 ms after expiry, keeps replaying an earlier redemption, and a reversal leaves it expired', async () => {
    const { redeem, reverse, clock, coupon } = await issuedCoupon({}, '2026-02-28T23:00:00+08:00');
    expect(coupon.expiresAt).toBe(at('2026-02-28T23:59:59.999+08:00'));
    clock.set(coupon.expiresAt);
    const atExpiry = await redeem('last-second');
    expect(atExpiry).toMatchObject({ kind: 'redeemed' });
    clock.set(coupon.expiresAt + 1);
    expect(await redeem('last-second')).toEqual({ ...atExpiry, replayed: true });
    const reversed = await reverse('last-second');
    expect(reversed).toMatchObject({ kind: 'reversed', changed: true });
    expect(await redeem('too-late')).toMatchObject({ kind: 'expired' });
  });

  it('refuses an order below the minimum, and charges nothing for it', async () => {
    const { redeem, ledger, calendar, clock } = await issuedCoupon({ minOrderFen: 5000 });
    expect(await redeem('small', 4999)).toEqual({ kind: 'below_minimum', minOrderFen: 5000 });
    expect(await redeem('enough', 5000)).toMatchObject({ kind: 'redeemed' });
    expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
    expect(ledger.calendar.campaign.minOrderFen).toBe(5000);
  });
});
