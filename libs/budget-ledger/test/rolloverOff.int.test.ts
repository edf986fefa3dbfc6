import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile } from '../src';
import { at, claim, ledgerAt } from './support';

/**
 * A campaign without rollover: each day may spend only its own tranche, and every shard gets its
 * share of each day. Run day by day with more demand than supply on every shard.
 */
describeWithRedis('a campaign without rollover, day by day', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  it('issues every coupon of the pool, none from a day that ended, and reconciles', async () => {
    // 3 days x 5 coupons over 4 shards: no day divides evenly, so remainders must rotate.
    const days = ['2026-02-06', '2026-02-07', '2026-02-08'];
    const { ledger, calendar, clock } = await ledgerAt(redis, `${days[0]}T12:00:00+08:00`, {
      shards: 4,
      poolFen: 2500 * 15,
      startsAt: `${days[0]}T00:00:00+08:00`,
      endsAt: `${days[2]}T23:59:59.999+08:00`,
      couponExpiresAt: '2026-02-28T23:59:59.999+08:00',
      perUser: { daily: 1, total: 3 },
      release: { slicesPerDay: 1, rollover: false },
    });
    const users = Array.from({ length: 80 }, (_, i) => `user-${i}`);
    let issued = 0;
    for (const day of days) {
      clock.set(at(`${day}T12:00:00+08:00`));
      const results = await Promise.all(users.map((u) => ledger.issue(claim(u, `${day}-${u}`))));
      const today = results.filter((r) => r.kind === 'issued');
      expect(today).toHaveLength(5);
      for (const r of today) if (r.kind === 'issued') expect(r.coupon.trancheDay).toBe(day);
      issued += today.length;
      // Everyone else was refused for budget, not for anything else.
      for (const r of results)
        if (r.kind !== 'issued')
          expect(['tranche_exhausted', 'budget_exhausted']).toContain(r.kind);
    }
    expect(issued).toBe(calendar.poolCoupons);
    expect((await ledger.snapshot()).issuedCoupons).toBe(15);
    expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
  });

  it('a day that is over gives nothing more, even to a claim the next morning', async () => {
    const { ledger, clock } = await ledgerAt(redis, '2026-02-06T12:00:00+08:00', {
      shards: 1,
      poolFen: 2500 * 6,
      startsAt: '2026-02-06T00:00:00+08:00',
      endsAt: '2026-02-07T23:59:59.999+08:00',
      perUser: { daily: 5, total: 10 },
      release: { slicesPerDay: 1, rollover: false },
    });
    expect((await ledger.issue(claim('a'))).kind).toBe('issued');
    clock.set(at('2026-02-07T00:00:00+08:00'));
    const results = await Promise.all(['b', 'c', 'd', 'e', 'f'].map((u) => ledger.issue(claim(u))));
    expect(results.filter((r) => r.kind === 'issued')).toHaveLength(3);
    for (const r of results)
      if (r.kind === 'issued') expect(r.coupon.trancheDay).toBe('2026-02-07');
  });
});
