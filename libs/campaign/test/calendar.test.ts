import { CampaignCalendar, splitPoolIntoTranches, type CampaignConfig } from '../src';
import { calendarOver, campaignFrom, DAY, HOUR, ms, sum } from './fixtures';

const historic = new CampaignCalendar(campaignFrom());
const startsAt = ms('2026-02-06T00:00:00+08:00');
const endsAt = ms('2026-02-28T23:59:59.999+08:00');

function day(calendar: CampaignCalendar, key: string) {
  const found = calendar.days.find((d) => d.day === key);
  if (found === undefined) throw new Error(`no day ${key}`);
  return found;
}

describe('the historic campaign (spring-festival-2026)', () => {
  it('has 120,000,000 coupons over 23 days, the 7 leftover coupons on the first 7 days', () => {
    expect(300_000_000_000 / 2500).toBe(120_000_000);
    expect(23 * 5_217_391 + 7).toBe(120_000_000);
    expect(historic.poolCoupons).toBe(120_000_000);
    expect(historic.days.map((d) => d.day)).toEqual(
      Array.from({ length: 23 }, (_, i) => `2026-02-${String(6 + i).padStart(2, '0')}`),
    );
    expect(historic.days.map((d) => d.trancheCoupons)).toEqual([
      ...Array(7).fill(5_217_392),
      ...Array(16).fill(5_217_391),
    ]);
    expect(sum(historic.days.map((d) => d.trancheCoupons))).toBe(120_000_000);
  });

  it('releases each day in 24 hourly slices, the remainder in the earliest', () => {
    const first = day(historic, '2026-02-06');
    expect(first.startMs).toBe(startsAt);
    expect(first.endMs).toBe(ms('2026-02-07T00:00:00+08:00'));
    expect(first.slices.map((s) => s.atMs)).toEqual(
      Array.from({ length: 24 }, (_, k) => startsAt + k * HOUR),
    );
    // 5,217,392 = 24 * 217,391 + 8
    expect(first.slices.map((s) => s.coupons)).toEqual([
      ...Array(8).fill(217_392),
      ...Array(16).fill(217_391),
    ]);
    // 5,217,391 = 24 * 217,391 + 7
    expect(day(historic, '2026-02-28').slices.filter((s) => s.coupons === 217_392)).toHaveLength(7);
    for (const d of historic.days)
      expect(sum(d.slices.map((s) => s.coupons))).toBe(d.trancheCoupons);
  });

  it('releases nothing before startsAt and the whole pool at endsAt', () => {
    expect(historic.releasedCouponsAt(startsAt - 1)).toBe(0);
    expect(historic.releasedCouponsAt(startsAt)).toBe(217_392);
    expect(historic.releasedCouponsAt(ms('2026-02-06T23:59:59.999+08:00'))).toBe(5_217_392);
    expect(historic.releasedCouponsAt(ms('2026-02-28T23:00:00+08:00') - 1)).toBe(
      120_000_000 - 217_391,
    );
    expect(historic.releasedCouponsAt(ms('2026-02-28T23:00:00+08:00'))).toBe(120_000_000);
    expect(historic.releasedCouponsAt(endsAt)).toBe(120_000_000);
    expect(historic.releasedCouponsAt(endsAt + 365 * DAY)).toBe(120_000_000);
  });

  it('is running exactly from startsAt to endsAt inclusive', () => {
    expect(historic.phase(startsAt - 1)).toBe('scheduled');
    expect(historic.phase(startsAt)).toBe('running');
    expect(historic.phase(endsAt)).toBe('running');
    expect(historic.phase(endsAt + 1)).toBe('ended');
  });

  it('freezes its days and slices', () => {
    expect(Object.isFrozen(historic.days)).toBe(true);
    expect(Object.isFrozen(historic.days[0])).toBe(true);
    expect(Object.isFrozen(historic.days[0]!.slices)).toBe(true);
    expect(Object.isFrozen(historic.days[0]!.slices[0])).toBe(true);
  });
});

describe('day boundaries at 23:59:59.999 and 00:00:00.000 +08:00', () => {
  const lastMs = ms('2026-02-06T23:59:59.999+08:00');
  const midnight = ms('2026-02-07T00:00:00.000+08:00');

  it('dayAt switches days exactly at midnight', () => {
    expect(historic.dayAt(lastMs)?.day).toBe('2026-02-06');
    expect(historic.dayAt(midnight)?.day).toBe('2026-02-07');
    expect(historic.dayAt(startsAt)?.day).toBe('2026-02-06');
    expect(historic.dayAt(startsAt - 1)).toBeUndefined();
    expect(historic.dayAt(endsAt)?.day).toBe('2026-02-28');
    expect(historic.dayAt(endsAt + 1)).toBeUndefined();
  });

  it('releases a slice at its atMs, not 1 ms before', () => {
    const slice = day(historic, '2026-02-07').slices[0]!;
    expect(slice.atMs).toBe(midnight);
    expect(historic.releasedCouponsAt(midnight) - historic.releasedCouponsAt(midnight - 1)).toBe(
      slice.coupons,
    );
    expect(historic.releasedOnDayAt('2026-02-07', midnight - 1)).toBe(0);
    expect(historic.releasedOnDayAt('2026-02-07', midnight)).toBe(slice.coupons);
    const second = day(historic, '2026-02-07').slices[1]!;
    expect(historic.releasedOnDayAt('2026-02-07', second.atMs - 1)).toBe(slice.coupons);
    expect(historic.releasedOnDayAt('2026-02-07', second.atMs)).toBe(
      slice.coupons + second.coupons,
    );
  });

  it('counts a day only within that day', () => {
    expect(historic.releasedOnDayAt('2026-02-06', endsAt)).toBe(5_217_392);
    expect(historic.releasedOnDayAt('2026-02-28', endsAt)).toBe(5_217_391);
    expect(historic.releasedOnDayAt('2026-03-01', endsAt)).toBe(0);
    expect(historic.releasedOnDayAt('not-a-day', endsAt)).toBe(0);
  });

  it('nextReleaseAt is the first slice strictly after t', () => {
    expect(historic.nextReleaseAt(startsAt - DAY)).toBe(startsAt);
    expect(historic.nextReleaseAt(startsAt - 1)).toBe(startsAt);
    expect(historic.nextReleaseAt(startsAt)).toBe(startsAt + HOUR);
    expect(historic.nextReleaseAt(startsAt + HOUR - 1)).toBe(startsAt + HOUR);
    expect(historic.nextReleaseAt(lastMs)).toBe(midnight);
    expect(historic.nextReleaseAt(midnight)).toBe(midnight + HOUR);
    const lastSlice = ms('2026-02-28T23:00:00+08:00');
    expect(historic.nextReleaseAt(lastSlice - 1)).toBe(lastSlice);
    expect(historic.nextReleaseAt(lastSlice)).toBeUndefined();
    expect(historic.nextReleaseAt(endsAt + 1)).toBeUndefined();
  });

  it('nextDayStartAt is the next campaign day start, none on or after the last day', () => {
    expect(historic.nextDayStartAt(startsAt - 12 * HOUR)).toBe(startsAt);
    expect(historic.nextDayStartAt(startsAt)).toBe(midnight);
    expect(historic.nextDayStartAt(lastMs)).toBe(midnight);
    expect(historic.nextDayStartAt(midnight)).toBe(ms('2026-02-08T00:00:00+08:00'));
    expect(historic.nextDayStartAt(ms('2026-02-27T23:59:59.999+08:00'))).toBe(
      ms('2026-02-28T00:00:00+08:00'),
    );
    expect(historic.nextDayStartAt(ms('2026-02-28T00:00:00+08:00'))).toBeUndefined();
    expect(historic.nextDayStartAt(endsAt + 1)).toBeUndefined();
  });
});

describe('spendableCapAt', () => {
  const t = ms('2026-02-07T05:30:00+08:00'); // 6 slices of day 2 released

  it('with rollover is everything released so far in the campaign', () => {
    expect(historic.spendableCapAt(t)).toEqual({
      scope: 'campaign',
      day: '2026-02-07',
      releasedCoupons: 5_217_392 + 6 * 217_392,
      releasedBeforeDayCoupons: 0,
      fromMs: ms('2026-02-07T05:00:00+08:00'),
      untilMs: ms('2026-02-07T06:00:00+08:00'),
    });
    expect(historic.spendableCapAt(startsAt - 1)).toMatchObject({
      scope: 'campaign',
      day: undefined,
      releasedCoupons: 0,
      untilMs: startsAt,
    });
    expect(historic.spendableCapAt(endsAt).releasedCoupons).toBe(120_000_000);
  });

  it('without rollover is only what the day has released', () => {
    const noRollover = new CampaignCalendar(
      campaignFrom({ release: { slicesPerDay: 24, rollover: false } }),
    );
    expect(noRollover.spendableCapAt(t)).toMatchObject({
      scope: 'day',
      day: '2026-02-07',
      releasedCoupons: 6 * 217_392,
      releasedBeforeDayCoupons: 5_217_392,
    });
    expect(noRollover.spendableCapAt(ms('2026-02-07T00:00:00+08:00') - 1)).toMatchObject({
      scope: 'day',
      day: '2026-02-06',
      releasedCoupons: 5_217_392,
      releasedBeforeDayCoupons: 0,
      fromMs: ms('2026-02-06T23:00:00+08:00'),
      untilMs: ms('2026-02-07T00:00:00+08:00'),
    });
    expect(noRollover.spendableCapAt(startsAt - 1)).toMatchObject({
      scope: 'day',
      day: undefined,
      releasedCoupons: 0,
    });
    expect(noRollover.spendableCapAt(endsAt + 1)).toMatchObject({
      scope: 'day',
      day: undefined,
      releasedCoupons: 0,
      fromMs: endsAt + 1,
    });
  });

  it('holds the same cap and day over its window, and another one just outside it', () => {
    for (const calendar of [
      historic,
      new CampaignCalendar(campaignFrom({ release: { slicesPerDay: 7, rollover: false } })),
    ]) {
      for (const at of [startsAt - 5, startsAt, t, ms('2026-02-15T23:59:59.999+08:00'), endsAt]) {
        const cap = calendar.spendableCapAt(at);
        expect(cap.fromMs).toBeLessThanOrEqual(at);
        expect(cap.untilMs).toBeGreaterThan(at);
        const same = (c: typeof cap) => [
          c.scope,
          c.day,
          c.releasedCoupons,
          c.releasedBeforeDayCoupons,
        ];
        for (const inside of [cap.fromMs, cap.untilMs - 1].filter((x) => Math.abs(x) < 1e15))
          expect(same(calendar.spendableCapAt(inside))).toEqual(same(cap));
        if (cap.untilMs < 1e15)
          expect(calendar.spendableCapAt(cap.untilMs).fromMs).toBe(cap.untilMs);
      }
    }
  });
});

describe('a campaign window that does not cover whole days', () => {
  // 10:00 on the first day to 11:59:59.999 on the third
  const calendar = calendarOver('2026-02-06T10:00:00+08:00', '2026-02-08T11:59:59.999+08:00', {
    poolFen: 2500 * 3_000,
    couponExpiresAt: '2026-02-08T23:59:59.999+08:00',
  });

  it('releases the whole first tranche from 10:00 on, in equal steps', () => {
    const first = calendar.days[0]!;
    expect(first.startMs).toBe(ms('2026-02-06T00:00:00+08:00'));
    expect(first.trancheCoupons).toBe(1_000);
    expect(first.slices).toHaveLength(24);
    // 14 h / 24 = 35 min
    expect(first.slices.map((s) => s.atMs)).toEqual(
      Array.from({ length: 24 }, (_, k) => ms('2026-02-06T10:00:00+08:00') + k * 35 * 60_000),
    );
    expect(calendar.releasedCouponsAt(ms('2026-02-06T10:00:00+08:00') - 1)).toBe(0);
    expect(calendar.releasedOnDayAt('2026-02-06', first.endMs - 1)).toBe(1_000);
    // before the start but on its day: the day exists, nothing is released yet
    expect(calendar.dayAt(ms('2026-02-06T09:00:00+08:00'))?.day).toBe('2026-02-06');
    expect(calendar.phase(ms('2026-02-06T09:00:00+08:00'))).toBe('scheduled');
  });

  it('releases the whole last tranche before endsAt', () => {
    const last = calendar.days[2]!;
    // 12 h / 24 = 30 min, the last slice at 11:30
    expect(last.slices[23]!.atMs).toBe(ms('2026-02-08T11:30:00+08:00'));
    expect(calendar.releasedCouponsAt(ms('2026-02-08T11:30:00+08:00') - 1)).toBe(3_000 - 41);
    expect(calendar.releasedCouponsAt(ms('2026-02-08T11:59:59.999+08:00'))).toBe(3_000);
    expect(calendar.nextReleaseAt(ms('2026-02-08T11:30:00+08:00'))).toBeUndefined();
  });

  it('steps by floor(k * window / slicesPerDay) when the window does not divide', () => {
    // a 10 ms window
    const odd = calendarOver('2026-02-06T00:00:00+08:00', '2026-02-06T00:00:00.009+08:00', {
      poolFen: 2500 * 7,
      couponExpiresAt: '2026-02-06T23:59:59.999+08:00',
      release: { slicesPerDay: 3 },
    });
    expect(odd.days[0]!.slices).toEqual([
      { atMs: startsAt, coupons: 3 },
      { atMs: startsAt + 3, coupons: 2 },
      { atMs: startsAt + 6, coupons: 2 },
    ]);
  });
});

describe('a leap-year February (2028)', () => {
  const calendar = calendarOver('2028-02-25T00:00:00+08:00', '2028-03-02T23:59:59.999+08:00', {
    poolFen: 2500 * 7_003,
  });

  it('gives Feb 29 its own tranche', () => {
    expect(calendar.days.map((d) => [d.day, d.trancheCoupons])).toEqual([
      ['2028-02-25', 1_001],
      ['2028-02-26', 1_001],
      ['2028-02-27', 1_001],
      ['2028-02-28', 1_000],
      ['2028-02-29', 1_000],
      ['2028-03-01', 1_000],
      ['2028-03-02', 1_000],
    ]);
    const leapDay = day(calendar, '2028-02-29');
    expect(leapDay.startMs).toBe(ms('2028-02-29T00:00:00+08:00'));
    expect(leapDay.endMs).toBe(ms('2028-03-01T00:00:00+08:00'));
    expect(calendar.dayAt(ms('2028-02-29T00:00:00+08:00'))?.day).toBe('2028-02-29');
    expect(calendar.dayAt(ms('2028-02-29T23:59:59.999+08:00'))?.day).toBe('2028-02-29');
    expect(calendar.releasedOnDayAt('2028-02-29', ms('2028-02-29T23:59:59.999+08:00'))).toBe(1_000);
  });
});

describe('a daylight-saving zone (America/New_York, March 2026)', () => {
  const calendar = calendarOver('2026-03-07T00:00:00-05:00', '2026-03-09T23:59:59.999-04:00', {
    poolFen: 2500 * 300,
    timeZone: 'America/New_York',
  });

  it('gives the 23 h day all its slices inside it', () => {
    const short = day(calendar, '2026-03-08');
    expect(short.startMs).toBe(ms('2026-03-08T00:00:00-05:00'));
    expect(short.endMs).toBe(ms('2026-03-09T00:00:00-04:00'));
    expect(short.endMs - short.startMs).toBe(23 * HOUR);
    expect(short.slices).toHaveLength(24);
    // 23 h / 24 = 57.5 min
    expect(short.slices.map((s) => s.atMs)).toEqual(
      Array.from({ length: 24 }, (_, k) => short.startMs + k * 57.5 * 60_000),
    );
    expect(short.slices[23]!.atMs).toBeLessThan(short.endMs);
    expect(sum(short.slices.map((s) => s.coupons))).toBe(100);
    expect(calendar.dayAt(short.endMs - 1)?.day).toBe('2026-03-08');
    expect(calendar.dayAt(short.endMs)?.day).toBe('2026-03-09');
    expect(calendar.nextDayStartAt(short.startMs)).toBe(short.endMs);
  });

  it('keeps 24 h days hourly', () => {
    const normal = day(calendar, '2026-03-07');
    expect(normal.slices[1]!.atMs - normal.slices[0]!.atMs).toBe(HOUR);
  });
});

describe('tranche weights', () => {
  it('splits by weight with missing days weighing 1, leftover to the earliest', () => {
    const calendar = calendarOver('2026-02-06T00:00:00+08:00', '2026-02-08T23:59:59.999+08:00', {
      poolFen: 2500 * 1_001,
      release: { slicesPerDay: 24, dayWeights: { '2026-02-06': 2, '2026-02-08': 0.5 } },
    });
    // 1001 * 2/3.5 = 572, * 1/3.5 = 286, * 0.5/3.5 = 143: 1001 exactly
    expect(calendar.days.map((d) => d.trancheCoupons)).toEqual([572, 286, 143]);
  });

  it('gives the leftover to the earliest days', () => {
    expect(splitPoolIntoTranches(10, ['a', 'b', 'c'], { c: 1 })).toEqual([4, 3, 3]);
    expect(splitPoolIntoTranches(11, ['a', 'b', 'c'], { a: 2, b: 1 })).toEqual([6, 3, 2]);
  });
});

describe('nextReleaseAt with slices of 0 coupons', () => {
  // 30 coupons over 23 days: 2 on the first 7 days, 1 on the others, so most slices are empty
  const calendar = new CampaignCalendar(campaignFrom({ poolFen: 2500 * 30 }));

  it('points at the next slice that releases something', () => {
    const feb13 = day(calendar, '2026-02-13');
    const feb14 = day(calendar, '2026-02-14');
    expect(feb13.slices.map((s) => s.coupons)).toEqual([1, ...Array(23).fill(0)]);
    expect(calendar.nextReleaseAt(feb13.slices[0]!.atMs)).toBe(feb14.slices[0]!.atMs);
    expect(calendar.nextReleaseAt(startsAt)).toBe(startsAt + HOUR); // day 1: 2 coupons, 2 slices
    expect(calendar.nextReleaseAt(startsAt + HOUR)).toBe(ms('2026-02-07T00:00:00+08:00'));
    expect(calendar.nextReleaseAt(day(calendar, '2026-02-28').slices[0]!.atMs)).toBeUndefined();
  });
});

describe('CampaignCalendar input checks', () => {
  const valid = campaignFrom();

  it.each<[string, Partial<CampaignConfig>]>([
    ['pool not in whole coupons', { poolFen: 2_600 }],
    ['end not after start', { endsAt: valid.startsAt }],
    ['unknown zone', { timeZone: 'Mars/Olympus_Mons' }],
    ['no slices', { release: { ...valid.release, slicesPerDay: 0 } }],
    ['centuries long', { endsAt: valid.startsAt + 500 * 365 * DAY }],
  ])('refuses a campaign with %s', (_, change) => {
    expect(() => new CampaignCalendar({ ...valid, ...change })).toThrow(RangeError);
  });

  it('refuses a time that is not a finite number', () => {
    expect(() => historic.releasedCouponsAt(Number.NaN)).toThrow(RangeError);
    expect(() => historic.dayAt(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
