import fc from 'fast-check';
import { CampaignCalendar, splitPoolIntoTranches, zonedDays, type CampaignConfig } from '../src';
import { DAY, campaignFrom, ms, sum } from './fixtures';

const ZONES = [
  'Asia/Shanghai',
  'America/New_York',
  'Europe/London',
  'Australia/Lord_Howe', // 30 min DST shift
  'America/Havana', // falls back across midnight
  'America/Santiago', // springs forward at midnight
  'UTC',
] as const;

const base = campaignFrom();

/** Any campaign shape: zone, window (1 ms to 30 days, DST switches included), pool, slices, weights. */
const campaignArb = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    startsAt: fc.integer({ min: ms('2026-01-01T00:00:00Z'), max: ms('2028-12-31T00:00:00Z') }),
    lengthMs: fc.oneof(fc.integer({ min: 1, max: 30 * DAY }), fc.integer({ min: 1, max: 3 * DAY })),
    poolCoupons: fc.integer({ min: 1, max: 1_000_000_000 }),
    couponValueFen: fc.integer({ min: 1, max: 5_000 }),
    slicesPerDay: fc.oneof(fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 1_440 })),
    rollover: fc.boolean(),
    weights: fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { maxLength: 31 }),
  })
  .map(({ lengthMs, poolCoupons, couponValueFen, slicesPerDay, rollover, weights, ...rest }) => {
    const endsAt = rest.startsAt + lengthMs;
    // weights are keyed by day later, once the calendar knows its days
    const campaign: CampaignConfig = {
      ...base,
      ...rest,
      endsAt,
      couponExpiresAt: endsAt,
      poolFen: poolCoupons * couponValueFen,
      couponValueFen,
      release: { slicesPerDay, rollover, dayWeights: {} },
    };
    const days = zonedDays(rest.startsAt, endsAt, rest.timeZone).map((d) => d.day);
    const dayWeights = Object.fromEntries(
      weights.flatMap((w, i) => (days[i] === undefined ? [] : [[days[i], w]])),
    );
    return { ...campaign, release: { ...campaign.release, dayWeights } };
  });

describe('tranches (property)', () => {
  it('sum to the pool for any pool, day count and weights', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.option(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { nil: undefined }), {
          maxLength: 400,
        }),
        (pool, dayCount, maybeWeights) => {
          const days = Array.from({ length: dayCount }, (_, i) => `day-${i}`);
          const weights = Object.fromEntries(
            maybeWeights.flatMap((w, i) =>
              w === undefined || i >= dayCount ? [] : [[days[i], w]],
            ),
          );
          const tranches = splitPoolIntoTranches(pool, days, weights);
          expect(tranches).toHaveLength(dayCount);
          expect(sum(tranches)).toBe(pool);
          expect(tranches.every((t) => Number.isSafeInteger(t) && t >= 0)).toBe(true);
          if (Object.keys(weights).length === 0) {
            const low = Math.floor(pool / dayCount);
            const remainder = pool - low * dayCount;
            expect(tranches.every((t, i) => t === (i < remainder ? low + 1 : low))).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('release schedule (property)', () => {
  it('is cumulative, monotonic, capped by the pool, complete at the last slice and at endsAt', () => {
    fc.assert(
      fc.property(
        campaignArb,
        fc.array(fc.double({ min: -0.2, max: 1.2, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 40 }),
        (campaign, fractions, sliceIndexes) => {
          const calendar = new CampaignCalendar(campaign);
          const { startsAt, endsAt } = campaign;
          const pool = calendar.poolCoupons;
          const slices = calendar.days.flatMap((d) => d.slices);
          const lastSliceAt = Math.max(...slices.map((s) => s.atMs));

          expect(sum(calendar.days.map((d) => d.trancheCoupons))).toBe(pool);
          expect(sum(slices.map((s) => s.coupons))).toBe(pool);
          for (const d of calendar.days) {
            expect(d.slices).toHaveLength(campaign.release.slicesPerDay);
            const inside = d.slices.every(
              (s) =>
                s.atMs >= Math.max(d.startMs, startsAt) && s.atMs < d.endMs && s.atMs <= endsAt,
            );
            expect(inside).toBe(true);
          }

          expect(calendar.releasedCouponsAt(startsAt - 1)).toBe(0);
          expect(calendar.releasedCouponsAt(lastSliceAt)).toBe(pool);
          expect(calendar.releasedCouponsAt(endsAt)).toBe(pool);
          expect(calendar.releasedCouponsAt(endsAt + DAY)).toBe(pool);
          expect(calendar.nextReleaseAt(lastSliceAt)).toBeUndefined();

          // sample times: spread over the window and around it, plus each sampled slice and 1 ms before
          const span = endsAt - startsAt;
          const sampled = sliceIndexes.map((i) => slices[Math.floor(i * slices.length)]!.atMs);
          const times = [
            ...fractions.map((f) => Math.floor(startsAt + f * span)),
            ...sampled,
            ...sampled.map((t) => t - 1),
          ].sort((a, b) => a - b);
          // reference: walk the time-ordered slices once alongside the sorted times
          let next = 0;
          let expected = 0;
          let previous = 0;
          for (const t of times) {
            while (next < slices.length && slices[next]!.atMs <= t)
              expected += slices[next++]!.coupons;
            const released = calendar.releasedCouponsAt(t);
            // plain comparisons: this loop runs often per case
            if (released !== expected || released < previous || released > pool) {
              throw new Error(
                `released(${t}) = ${released}: expected ${expected}, previous ${previous}, pool ${pool}`,
              );
            }
            previous = released;
          }

          for (const f of fractions) {
            const t = Math.floor(startsAt + f * span);
            const perDay = sum(calendar.days.map((d) => calendar.releasedOnDayAt(d.day, t)));
            expect(perDay).toBe(calendar.releasedCouponsAt(t));
            const today = calendar.dayAt(t);
            const cap = calendar.spendableCapAt(t);
            expect(cap.day).toBe(today?.day);
            expect(cap.releasedCoupons).toBe(
              campaign.release.rollover
                ? calendar.releasedCouponsAt(t)
                : today === undefined
                  ? 0
                  : calendar.releasedOnDayAt(today.day, t),
            );
            const next = calendar.nextReleaseAt(t);
            if (next !== undefined) {
              expect(next).toBeGreaterThan(t);
              expect(calendar.releasedCouponsAt(next)).toBeGreaterThan(
                calendar.releasedCouponsAt(t),
              );
              expect(calendar.releasedCouponsAt(next - 1)).toBe(calendar.releasedCouponsAt(t));
            } else {
              expect(calendar.releasedCouponsAt(t)).toBe(pool);
            }
            if (today !== undefined) {
              expect(t >= today.startMs && t < today.endMs).toBe(true);
              expect(calendar.nextDayStartAt(t)).toBe(
                today === calendar.days[calendar.days.length - 1] ? undefined : today.endMs,
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
