import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { ManualClock } from '@coupons/campaign';
import { RebalanceTrigger, reconcile, shardOfUser, type IssueResult } from '../src';
import { claim, ledgerAt, takeOnly } from './support';

/** userIds that land on `shard` of `shards`. */
function usersOf(shard: number, shards: number, count: number, prefix = 'u'): string[] {
  const users: string[] = [];
  for (let i = 0; users.length < count; i += 1)
    if (shardOfUser(`${prefix}-${i}`, shards) === shard) users.push(`${prefix}-${i}`);
  return users;
}

// 4 shards, 1 slice a day: 100 coupons released at 00:00, 25 per shard.
const OVERRIDES = {
  shards: 4,
  poolFen: 2500 * 2300,
  release: { slicesPerDay: 1, rollover: true },
  perUser: { daily: 1, total: 21 },
};
const NOON = '2026-02-06T12:00:00+08:00';

describeWithRedis(
  'takeRelease-2.lua and giveRelease-2.lua: rebalancing between shards',
  (target) => {
    let redis: Redis | Cluster;
    connectBeforeAll(target, (r) => (redis = r));

    async function drain(
      ledger: { issue: (c: ReturnType<typeof claim>) => Promise<IssueResult> },
      users: string[],
    ) {
      const results = await Promise.all(users.map((u) => ledger.issue(claim(u))));
      return results.filter((r) => r.kind === 'issued').length;
    }

    it('moves half the gap from the richest shard into a sold-out one, which then issues again', async () => {
      const { ledger, calendar, clock } = await ledgerAt(redis, NOON, OVERRIDES);
      expect(await drain(ledger, usersOf(0, 4, 30, 'a'))).toBe(25);
      expect(await ledger.issue(claim(usersOf(0, 4, 31, 'a')[30]!))).toMatchObject({
        kind: 'tranche_exhausted',
      });

      const moved = await ledger.rebalanceInto(0);
      expect(moved).toMatchObject({ kind: 'moved', target: 0, coupons: 12 });
      expect(await drain(ledger, usersOf(0, 4, 20, 'b'))).toBe(12);

      const snapshot = await ledger.snapshot();
      expect(snapshot.shards.reduce((sum, s) => sum + s.releasedCoupons, 0)).toBe(100);
      expect(snapshot.issuedCoupons).toBe(37);
      const report = await reconcile(redis, calendar, clock.now());
      expect(report.problems).toEqual([]);
      expect(report.inTransitCoupons).toBe(0);
    });

    it('never over-issues while transfers race with claims on every shard', async () => {
      const { ledger, calendar, clock } = await ledgerAt(redis, NOON, OVERRIDES);
      const crowd = [
        ...usersOf(0, 4, 120, 'c'),
        ...usersOf(1, 4, 10, 'c'),
        ...usersOf(2, 4, 5, 'c'),
      ];
      const claims = crowd.map((u) => ledger.issue(claim(u)));
      const transfers = Array.from({ length: 12 }, (_, i) => ledger.rebalanceInto(i % 2));
      const results = await Promise.all(claims);
      await Promise.all(transfers);
      const issued = results.filter((r) => r.kind === 'issued').length;
      expect(issued).toBeLessThanOrEqual(100);
      const report = await reconcile(redis, calendar, clock.now());
      expect(report.problems).toEqual([]);
      expect(report.issuedCoupons).toBe(issued);
    });

    it('a crash between take and give under-spends, shows in transit, and completeTransfers finishes it once', async () => {
      const { ledger, calendar, clock } = await ledgerAt(redis, NOON, OVERRIDES);
      // Step 1 alone, as a pod that crashed before step 2 left it.
      const take = (transferId: string, coupons: number) =>
        takeOnly(redis, ledger, {
          transferId,
          coupons,
          capCoupons: 25,
          source: 3,
          target: 1,
          atMs: clock.now(),
        });
      expect((await take('crash-1', 10))[0]).toBe(1);
      expect((await take('crash-1', 10))[0]).toBe(3);
      const short = await take('too-much', 16);
      expect([short[0], short[5]]).toEqual([-19, 15]);

      const before = await reconcile(redis, calendar, clock.now());
      expect(before.problems).toEqual([]);
      expect(before.inTransitCoupons).toBe(10);
      expect((await ledger.snapshot()).shards.map((s) => s.releasedCoupons)).toEqual([
        25, 25, 25, 15,
      ]);

      expect(await ledger.completeTransfers()).toEqual({ given: 1, writtenOff: 0, pending: 0 });
      expect(await ledger.completeTransfers()).toEqual({ given: 0, writtenOff: 0, pending: 0 });
      expect((await ledger.snapshot()).shards.map((s) => s.releasedCoupons)).toEqual([
        25, 35, 25, 15,
      ]);
      expect((await reconcile(redis, calendar, clock.now())).inTransitCoupons).toBe(0);
    });

    it('a ledger with rebalancing on refills a shard that runs low, by itself', async () => {
      const errors: unknown[] = [];
      const { ledger } = await ledgerAt(redis, NOON, OVERRIDES, {
        rebalance: { lowWater: 5, onError: (err) => errors.push(err) },
      });
      const shardZero = usersOf(0, 4, 60, 'd');
      let issued = 0;
      for (const user of shardZero)
        if ((await ledger.issue(claim(user))).kind === 'issued') issued += 1;
      // 25 of its own, then refills from the others as it runs low (one transfer per second of
      // the injected clock, which does not move here: so exactly one transfer happened).
      expect(errors).toEqual([]);
      expect(issued).toBeGreaterThan(25);
      expect((await ledger.snapshot()).shards[0]!.releasedCoupons).toBe(issued);
    });
  },
);

describe('RebalanceTrigger', () => {
  it('asks at the low-water mark or when sold out, one at a time per shard, at most once per interval', async () => {
    const clock = new ManualClock(0);
    const started: number[] = [];
    const finishers: (() => void)[] = [];
    const trigger = new RebalanceTrigger({
      lowWater: 10,
      minIntervalMs: 1000,
      clock,
      run: (shard) => {
        started.push(shard);
        return new Promise<void>((resolve) => finishers.push(resolve));
      },
      onError: () => undefined,
    });
    trigger.afterClaim(0, 11);
    expect(started).toEqual([]);
    trigger.afterClaim(0, 10);
    trigger.afterClaim(0, 0);
    expect(started).toEqual([0]);
    trigger.afterClaim(1, 0);
    expect(started).toEqual([0, 1]);
    finishers.forEach((finish) => finish());
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(999);
    trigger.afterClaim(1, 0);
    expect(started).toEqual([0, 1]);
    clock.advance(1);
    trigger.afterClaim(0, 0);
    expect(started).toEqual([0, 1, 0]);
  });
});
