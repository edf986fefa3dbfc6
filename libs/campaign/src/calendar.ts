import { MAX_CAMPAIGN_DAYS, type CampaignConfig } from './schema';
import { splitByWeights, splitEvenly } from './split';
import { isValidTimeZone, zonedDays, type ZonedDay } from './time';

export interface Slice {
  /** Epoch ms from which this slice's coupons are released. */
  readonly atMs: number;
  readonly coupons: number;
}

export interface TrancheDay {
  /** YYYY-MM-DD in the campaign's zone. */
  readonly day: string;
  readonly startMs: number;
  /** Exclusive: the next day's 00:00. */
  readonly endMs: number;
  readonly trancheCoupons: number;
  readonly slices: readonly Slice[];
}

export interface SpendableCap {
  scope: 'campaign' | 'day';
  /** The campaign day containing t (for either scope); undefined outside the campaign's days. */
  day: string | undefined;
  releasedCoupons: number;
  /**
   * Day scope: what the days before `day` released, so that a shard's share of each day can be
   * taken cumulatively and the shares of all days sum to the shard's share of the pool. 0 in the
   * campaign scope.
   */
  releasedBeforeDayCoupons: number;
  /**
   * The cap and the day are the same for every instant in [fromMs, untilMs) (between two
   * releases, inside one day): the ledger script checks its own clock is in there.
   */
  fromMs: number;
  untilMs: number;
}

/** Before the first and after the last boundary of a calendar: no instant is outside these. */
export const UNBOUNDED_PAST_MS = -8.64e15;
export const UNBOUNDED_FUTURE_MS = 8.64e15;

/**
 * The pool split into one tranche per calendar day of the campaign's zone, from the day of
 * startsAt to the day of endsAt inclusive; coupons that do not divide go to the earliest days.
 * Days without a weight weigh 1.
 */
export function splitPoolIntoTranches(
  poolCoupons: number,
  days: readonly string[],
  dayWeights: Readonly<Record<string, number>>,
): number[] {
  const weights = days.map((day) => (Object.hasOwn(dayWeights, day) ? dayWeights[day] : 1) ?? 1);
  return weights.every((weight) => weight === 1)
    ? splitEvenly(poolCoupons, days.length)
    : splitByWeights(poolCoupons, weights);
}

/**
 * When the slices of one day release: `slicesPerDay` equal steps over the part of the day inside
 * the campaign window, [max(dayStart, startsAt), min(dayEnd, endsAt + 1)), slice 0 at its start.
 */
function sliceTimes(
  day: ZonedDay,
  startsAt: number,
  endsAt: number,
  slicesPerDay: number,
): number[] {
  const windowStart = Math.max(day.startMs, startsAt);
  const windowLength = Math.min(day.endMs, endsAt + 1) - windowStart;
  return Array.from(
    { length: slicesPerDay },
    (_, k) => windowStart + Math.floor((k * windowLength) / slicesPerDay),
  );
}

function assertCalendarInputs(campaign: CampaignConfig): void {
  const { poolFen, couponValueFen, startsAt, endsAt, timeZone, release } = campaign;
  const problems: string[] = [];
  if (!Number.isSafeInteger(couponValueFen) || couponValueFen < 1) problems.push('couponValueFen');
  if (!Number.isSafeInteger(poolFen) || poolFen < 0 || poolFen % couponValueFen !== 0) {
    problems.push('poolFen (a whole number of coupons)');
  }
  if (!Number.isSafeInteger(startsAt) || !Number.isSafeInteger(endsAt) || endsAt <= startsAt) {
    problems.push('startsAt < endsAt');
  } else if (endsAt - startsAt > (MAX_CAMPAIGN_DAYS + 1) * 26 * 3_600_000) {
    problems.push(`at most ${MAX_CAMPAIGN_DAYS} days`);
  }
  if (!isValidTimeZone(timeZone)) problems.push('timeZone');
  if (!Number.isInteger(release.slicesPerDay) || release.slicesPerDay < 1) {
    problems.push('release.slicesPerDay');
  }
  if (problems.length > 0) {
    throw new RangeError(`campaign ${campaign.id} is not valid: ${problems.join(', ')}`);
  }
}

/** Index of the first element greater than `t` (= how many are <= t) in a sorted array. */
function upperBound(sorted: Float64Array, t: number, from = 0, to = sorted.length): number {
  let low = from;
  let high = to;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= t) low = middle + 1;
    else high = middle;
  }
  return low;
}

function assertTime(t: number): void {
  if (!Number.isFinite(t)) throw new RangeError(`not a finite epoch ms: ${t}`);
}

/**
 * A campaign's tranches and release schedule, precomputed once; every query after construction
 * is a binary search over flat arrays, since it runs on every claim.
 */
export class CampaignCalendar {
  readonly campaign: CampaignConfig;
  readonly days: readonly TrancheDay[];
  readonly poolCoupons: number;

  private readonly dayStartMs: Float64Array;
  private readonly lastDayEndMs: number;
  private readonly dayIndexByKey: ReadonlyMap<string, number>;
  /** Every slice of every day, in time order (days do not overlap). */
  private readonly sliceAtMs: Float64Array;
  /** releasedBefore[i]: coupons in slices 0..i-1; releasedBefore[sliceCount] = poolCoupons. */
  private readonly releasedBefore: Float64Array;
  /** nextNonEmpty[i]: the first slice >= i that releases coupons (sliceCount when none). */
  private readonly nextNonEmpty: Int32Array;
  private readonly slicesPerDay: number;

  constructor(campaign: CampaignConfig) {
    assertCalendarInputs(campaign);
    const { startsAt, endsAt, timeZone, release } = campaign;
    this.campaign = campaign;
    this.slicesPerDay = release.slicesPerDay;
    this.poolCoupons = campaign.poolFen / campaign.couponValueFen;

    const zoned = zonedDays(startsAt, endsAt, timeZone);
    const tranches = splitPoolIntoTranches(
      this.poolCoupons,
      zoned.map((day) => day.day),
      release.dayWeights,
    );
    this.days = Object.freeze(
      zoned.map((day, index): TrancheDay => {
        const trancheCoupons = tranches[index]!;
        const coupons = splitEvenly(trancheCoupons, release.slicesPerDay);
        const slices = sliceTimes(day, startsAt, endsAt, release.slicesPerDay).map((atMs, k) =>
          Object.freeze({ atMs, coupons: coupons[k]! }),
        );
        return Object.freeze({ ...day, trancheCoupons, slices: Object.freeze(slices) });
      }),
    );

    this.dayStartMs = Float64Array.from(this.days, (day) => day.startMs);
    this.lastDayEndMs = this.days[this.days.length - 1]!.endMs;
    this.dayIndexByKey = new Map(this.days.map((day, index) => [day.day, index]));

    const slices = this.days.flatMap((day) => day.slices);
    this.sliceAtMs = Float64Array.from(slices, (slice) => slice.atMs);
    this.releasedBefore = new Float64Array(slices.length + 1);
    slices.forEach((slice, i) => {
      this.releasedBefore[i + 1] = this.releasedBefore[i]! + slice.coupons;
    });
    this.nextNonEmpty = new Int32Array(slices.length + 1);
    this.nextNonEmpty[slices.length] = slices.length;
    for (let i = slices.length - 1; i >= 0; i -= 1) {
      this.nextNonEmpty[i] = slices[i]!.coupons > 0 ? i : this.nextNonEmpty[i + 1]!;
    }
  }

  /** running iff startsAt <= t <= endsAt. */
  phase(t: number): 'scheduled' | 'running' | 'ended' {
    assertTime(t);
    if (t < this.campaign.startsAt) return 'scheduled';
    return t <= this.campaign.endsAt ? 'running' : 'ended';
  }

  private dayIndexAt(t: number): number {
    assertTime(t);
    if (t >= this.lastDayEndMs) return -1;
    return upperBound(this.dayStartMs, t) - 1;
  }

  /** The campaign day containing t (also before startsAt on the first day); undefined outside. */
  dayAt(t: number): TrancheDay | undefined {
    const index = this.dayIndexAt(t);
    return index < 0 ? undefined : this.days[index];
  }

  /** Coupons released by all slices with atMs <= t, over all days. */
  releasedCouponsAt(t: number): number {
    assertTime(t);
    return this.releasedBefore[upperBound(this.sliceAtMs, t)]!;
  }

  /** Coupons released by `day`'s slices with atMs <= t (0 for a day that is not a campaign day). */
  releasedOnDayAt(day: string, t: number): number {
    assertTime(t);
    const index = this.dayIndexByKey.get(day);
    if (index === undefined) return 0;
    const first = index * this.slicesPerDay;
    const released = upperBound(this.sliceAtMs, t, first, first + this.slicesPerDay);
    return this.releasedBefore[released]! - this.releasedBefore[first]!;
  }

  /** What issuance may not exceed at t: everything released so far, or only today's release. */
  spendableCapAt(t: number): SpendableCap {
    const dayIndex = this.dayIndexAt(t);
    const today = dayIndex < 0 ? undefined : this.days[dayIndex]!.day;
    const window = this.constantWindowAt(t);
    if (this.campaign.release.rollover) {
      return {
        scope: 'campaign',
        day: today,
        releasedCoupons: this.releasedCouponsAt(t),
        releasedBeforeDayCoupons: 0,
        ...window,
      };
    }
    return {
      scope: 'day',
      day: today,
      releasedCoupons: today === undefined ? 0 : this.releasedOnDayAt(today, t),
      releasedBeforeDayCoupons:
        dayIndex < 0 ? 0 : this.releasedBefore[dayIndex * this.slicesPerDay]!,
      ...window,
    };
  }

  /** The span around t between the nearest release or day boundary before it and after it. */
  private constantWindowAt(t: number): { fromMs: number; untilMs: number } {
    const slice = upperBound(this.sliceAtMs, t);
    const day = upperBound(this.dayStartMs, t);
    let fromMs = Math.max(
      slice > 0 ? this.sliceAtMs[slice - 1]! : UNBOUNDED_PAST_MS,
      day > 0 ? this.dayStartMs[day - 1]! : UNBOUNDED_PAST_MS,
    );
    let untilMs = Math.min(
      slice < this.sliceAtMs.length ? this.sliceAtMs[slice]! : UNBOUNDED_FUTURE_MS,
      day < this.dayStartMs.length ? this.dayStartMs[day]! : UNBOUNDED_FUTURE_MS,
    );
    if (t >= this.lastDayEndMs) fromMs = Math.max(fromMs, this.lastDayEndMs);
    else untilMs = Math.min(untilMs, this.lastDayEndMs);
    return { fromMs, untilMs };
  }

  /**
   * The first release after t: atMs of the first slice with atMs > t that releases at least one
   * coupon (a slice of 0 coupons releases nothing worth coming back for); undefined when none.
   */
  nextReleaseAt(t: number): number | undefined {
    assertTime(t);
    const next = this.nextNonEmpty[upperBound(this.sliceAtMs, t)]!;
    return next < this.sliceAtMs.length ? this.sliceAtMs[next] : undefined;
  }

  /** The start of the first campaign day that starts after t; undefined on or after the last day. */
  nextDayStartAt(t: number): number | undefined {
    assertTime(t);
    const next = upperBound(this.dayStartMs, t);
    return next < this.dayStartMs.length ? this.dayStartMs[next] : undefined;
  }
}
