import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { CampaignCalendar, ManualClock } from '@coupons/campaign';
import { BudgetLedger, LedgerFault } from '../src';
import { at, claim, ledgerAt } from './support';

/** What every money script checks before it answers (lua/includes/guard.lua). */
describeWithRedis('the guard of every ledger script', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  it('refuses a pod whose campaign differs in any money setting, minimum order included', async () => {
    const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', {
      shards: 1,
    });
    const issued = await ledger.issue(claim('owner'));
    if (issued.kind !== 'issued') throw new Error(issued.kind);
    const other = new BudgetLedger(
      redis,
      new CampaignCalendar({ ...calendar.campaign, minOrderFen: 10_000 }),
      clock,
      { trustCallerClock: true },
    );
    expect(other.fingerprint).not.toBe(ledger.fingerprint);
    const request = { code: issued.coupon.code, shard: 0, userId: 'owner', orderId: 'o-1' };
    await expect(other.issue(claim('newcomer'))).rejects.toMatchObject({
      reason: 'config_mismatch',
    });
    await expect(other.redeem({ ...request, orderAmountFen: 20_000 })).rejects.toMatchObject({
      reason: 'config_mismatch',
    });
    await expect(other.reverse(request)).rejects.toMatchObject({ reason: 'config_mismatch' });
    await expect(other.readCoupon(request.code, 0, 'owner')).rejects.toMatchObject({
      reason: 'config_mismatch',
    });
    // The pod with the right settings is unaffected.
    expect(await ledger.redeem({ ...request, orderAmountFen: 5_000 })).toMatchObject({
      kind: 'redeemed',
    });
  });

  it('refuses claims and redemptions while Redis time is behind what the pod saw (a failover to a slower clock)', async () => {
    const { ledger, clock } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    const issued = await ledger.issue(claim('early'));
    if (issued.kind !== 'issued') throw new Error(issued.kind);
    // The tests' ledger takes its clock as Redis's: a clock stepped back is a Redis behind.
    clock.advance(-1_500);
    expect((await ledger.issue(claim('within-skew'))).kind).toBe('issued');
    clock.advance(-5_000);
    const behind = ledger.issue(claim('behind'));
    await expect(behind).rejects.toBeInstanceOf(LedgerFault);
    await expect(behind).rejects.toMatchObject({ reason: 'clock' });
    await expect(
      ledger.redeem({
        code: issued.coupon.code,
        shard: 0,
        userId: 'early',
        orderId: 'o',
        orderAmountFen: 1,
      }),
    ).rejects.toMatchObject({ reason: 'clock' });
    clock.set(at('2026-02-10T12:00:01+08:00'));
    expect((await ledger.issue(claim('caught-up'))).kind).toBe('issued');
  });

  it('answers a replay with the coupon as it is now, not as it was first answered', async () => {
    const { ledger } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    const first = await ledger.issue(claim('replayer', 'same-key'));
    if (first.kind !== 'issued') throw new Error(first.kind);
    expect(first.coupon.status).toBe('issued');
    await ledger.redeem({
      code: first.coupon.code,
      shard: 0,
      userId: 'replayer',
      orderId: 'order-9',
      orderAmountFen: 999,
    });
    expect(await ledger.issue(claim('replayer', 'same-key'))).toMatchObject({
      kind: 'issued',
      replayed: true,
      coupon: {
        code: first.coupon.code,
        status: 'redeemed',
        redemption: { orderId: 'order-9', discountFen: 999 },
      },
    });
  });

  it('a fresh pod (no marks) trusts what it finds, and learns the marks from its first answer', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    expect((await ledger.issue(claim('a'))).kind).toBe('issued');
    const fresh = new BudgetLedger(
      redis,
      calendar,
      new ManualClock(at('2026-02-10T12:00:01+08:00')),
      { trustCallerClock: true },
    );
    expect((await fresh.issue(claim('b'))).kind).toBe('issued');
    expect((await ledger.issue(claim('c'))).kind).toBe('issued');
  });
});
