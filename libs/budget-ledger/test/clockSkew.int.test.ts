import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { CampaignCalendar, type Clock } from '@coupons/campaign';
import { BudgetLedger, RedisTimeClock, redisTimeMs, shardKeys } from '../src';
import { campaign, claim } from './support';

const MINUTE = 60_000;

/**
 * Real Redis TIME here (no trusted test clock): a one-minute campaign whose second slice opens
 * 20 s from now. A pod clock 30 s (or a day) fast must not see that slice early.
 */
describeWithRedis('the ledger follows Redis time, not the pod clock', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  const redisNow = () => redisTimeMs(redis);

  async function oneMinuteCampaign(skewMs: number, trustCallerClock = false) {
    const now = await redisNow();
    // A zone whose midnight is not in the next two minutes keeps the campaign on one day.
    const zone = (now + 2 * MINUTE) % (24 * 60 * MINUTE) < 4 * MINUTE ? 'Asia/Shanghai' : 'UTC';
    const startsAt = now - 10_000;
    const calendar = new CampaignCalendar(
      campaign({
        timeZone: zone,
        poolFen: 2500 * 2,
        shards: 1,
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(startsAt + MINUTE - 1).toISOString(),
        couponExpiresAt: new Date(startsAt + 2 * MINUTE).toISOString(),
        release: { slicesPerDay: 2, rollover: true },
      }),
    );
    expect(calendar.nextReleaseAt(now)).toBe(startsAt + 30_000);
    const offset = now - Date.now();
    const skewed: Clock = { now: () => Date.now() + offset + skewMs };
    const ledger = new BudgetLedger(redis, calendar, skewed, { trustCallerClock });
    await new BudgetLedger(
      redis,
      calendar,
      { now: () => startsAt - 1 },
      { trustCallerClock: true },
    ).init();
    return { ledger, calendar, startsAt };
  }

  for (const [label, skewMs] of [
    ['30 s fast', 30_000],
    ['a day fast', 86_400_000],
  ] as const) {
    it(`a pod clock ${label} does not open the next release early`, async () => {
      const { ledger, startsAt } = await oneMinuteCampaign(skewMs);
      expect((await ledger.issue(claim('first'))).kind).toBe('issued');
      expect(await ledger.issue(claim('second'))).toEqual({
        kind: 'tranche_exhausted',
        nextReleaseAt: startsAt + 30_000,
      });
    });
  }

  it('would have opened it early if the scripts trusted the pod clock (the guard is what holds)', async () => {
    const { ledger } = await oneMinuteCampaign(30_000, true);
    expect((await ledger.issue(claim('first'))).kind).toBe('issued');
    expect((await ledger.issue(claim('second'))).kind).toBe('issued');
  });

  it('a pod clock an hour slow is corrected from the reply, and issues at Redis time', async () => {
    const { ledger, calendar } = await oneMinuteCampaign(-3_600_000);
    const result = await ledger.issue(claim('late-pod'));
    expect(result).toMatchObject({ kind: 'issued' });
    const issuedAt = result.kind === 'issued' ? result.coupon.issuedAt : 0;
    expect(Math.abs(issuedAt - (await redisNow()))).toBeLessThan(5_000);
    const record = await redis.hgetall(shardKeys(calendar.campaign.id, 0).ledger);
    expect(record.issued).toBe('1');
  });

  it('RedisTimeClock tracks Redis TIME through a monotonic clock and adopts earlier Redis times', async () => {
    let monotonic = 1_000;
    const clock = new RedisTimeClock(redis, () => monotonic, { now: () => 42 });
    expect(clock.synced).toBe(false);
    expect(clock.now()).toBe(42);
    await clock.sync();
    const base = clock.now();
    expect(Math.abs(base - (await redisNow()))).toBeLessThan(1_000);
    monotonic += 250;
    expect(clock.now()).toBe(base + 250);
    clock.observe(base + 100);
    expect(clock.now()).toBe(base + 100);
    clock.observe(base + 10_000);
    expect(clock.now()).toBe(base + 100);
  });
});
