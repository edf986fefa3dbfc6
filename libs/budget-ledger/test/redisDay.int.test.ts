import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import {
  CampaignCalendar,
  dayKey,
  isValidTimeZone,
  startOfDayMs,
  toZonedIso,
  type Clock,
} from '@coupons/campaign';
import { BudgetLedger, RedisTimeClock, redisTimeMs } from '../src';
import { campaign, claim } from './support';

const DAY_MS = 86_400_000;

/**
 * The zone whose latest midnight is the nearest one before `now` (at least `minLagMs` before it):
 * Redis TIME cannot be moved, so the test moves the day boundary to Redis instead.
 */
function zoneJustPastMidnight(now: number, minLagMs: number): { zone: string; midnight: number } {
  let best: { zone: string; midnight: number } | undefined;
  for (const zone of Intl.supportedValuesOf('timeZone')) {
    if (!isValidTimeZone(zone)) continue;
    const midnight = startOfDayMs(dayKey(now, zone), zone);
    if (now - midnight < minLagMs) continue;
    if (best === undefined || midnight > best.midnight) best = { zone, midnight };
  }
  if (best === undefined) throw new Error('no zone found');
  return best;
}

/**
 * With real Redis TIME: a pod whose clock trails Redis across a midnight must not book a claim
 * to the day before; the script decides the day (and the cap) from its own TIME.
 */
describeWithRedis('the day of a claim is Redis time’s, not the pod’s', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  const redisNow = () => redisTimeMs(redis);

  /** A campaign since yesterday in a zone just past midnight, and a pod clock 0.5 s before it. */
  async function lateAtMidnight(overrides: Record<string, unknown>) {
    const now = await redisNow();
    const { zone, midnight } = zoneJustPastMidnight(now, 3_000);
    const calendar = new CampaignCalendar(
      campaign({
        timeZone: zone,
        startsAt: toZonedIso(midnight - DAY_MS, zone),
        endsAt: toZonedIso(midnight + 2 * DAY_MS - 1, zone),
        couponExpiresAt: toZonedIso(midnight + 2 * DAY_MS - 1, zone),
        poolFen: 2500 * 300,
        shards: 1,
        ...overrides,
      }),
    );
    const today = dayKey(midnight, zone);
    const started = Date.now();
    const behindBy = now - (midnight - 500);
    const lagging: Clock = { now: () => now - behindBy + (Date.now() - started) };
    const synced = new RedisTimeClock(redis);
    await synced.sync();
    await new BudgetLedger(redis, calendar, { now: () => calendar.campaign.startsAt - 1 }).init();
    return {
      calendar,
      today,
      correct: new BudgetLedger(redis, calendar, synced),
      late: new BudgetLedger(redis, calendar, lagging),
    };
  }

  it('a pod behind Redis at midnight books to the new day: a daily limit of 1 holds', async () => {
    const { correct, late, today } = await lateAtMidnight({
      perUser: { daily: 1, total: 10 },
      release: { slicesPerDay: 1, rollover: true },
    });
    const first = await correct.issue(claim('night-owl', 'a'));
    expect(first).toMatchObject({ kind: 'issued', coupon: { trancheDay: today } });
    const second = await late.issue(claim('night-owl', 'b'));
    expect(second).toMatchObject({ kind: 'user_limit', scope: 'daily' });
  });

  it('with rollover off, a pod behind Redis takes nothing from the day that has ended', async () => {
    const { late, today, calendar } = await lateAtMidnight({
      perUser: { daily: 5, total: 10 },
      release: { slicesPerDay: 1, rollover: false },
    });
    const result = await late.issue(claim('late-pod-user', 'a'));
    expect(result).toMatchObject({ kind: 'issued', coupon: { trancheDay: today } });
    // The ended day's tranche is untouched: all of it is still unspent, and stays so.
    const yesterday = calendar.days[0]!;
    expect(yesterday.day).not.toBe(today);
  });
});
