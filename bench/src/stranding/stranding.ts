import { shardOfUser } from '@coupons/budget-ledger';
import { mulberry32 } from '@coupons/testing';
import { ShardBudgets, sliceStartMs } from './shardBudgets';
import {
  DAY_MS,
  type ArrivalProfile,
  type Popularity,
  type StrandingOptions,
  type StrandingReport,
} from './types';

// How much of a day's tranche is left on some shards while users pinned to other shards are told
// "sold out until the next release". Pure and deterministic: one seeded PRNG, no clock, no I/O.

export * from './types';

/** The shard of every user-<n>, n < users, by the real mapping (or another, for experiments). */
export function mapUsersToShards(
  users: number,
  shards: number,
  shardOf: (userId: string, shards: number) => number = shardOfUser,
): Uint16Array {
  if (shards > 65_535) throw new RangeError(`shards must be <= 65535, got ${shards}`);
  const map = new Uint16Array(users);
  for (let n = 0; n < users; n += 1) map[n] = shardOf(`user-${n}`, shards);
  return map;
}

interface Segment {
  readonly startMs: number;
  readonly endMs: number;
  /** Share of all attempts arriving in [startMs, endMs), uniformly within it. */
  readonly mass: number;
}

/** The arrival profile as a piecewise-constant density over the day, in time order. */
function arrivalSegments(profile: ArrivalProfile, slicesPerDay: number): Segment[] {
  const split = (startMs: number, endMs: number, mass: number, share: number, withinMs: number) => {
    const headEnd = Math.min(endMs, startMs + withinMs);
    if (headEnd >= endMs) return [{ startMs, endMs, mass }];
    return [
      { startMs, endMs: headEnd, mass: mass * share },
      { startMs: headEnd, endMs, mass: mass * (1 - share) },
    ];
  };
  switch (profile.kind) {
    case 'uniform':
      return [{ startMs: 0, endMs: DAY_MS, mass: 1 }];
    case 'flash-day':
      return split(0, DAY_MS, 1, profile.share, profile.withinMs);
    case 'flash-slice':
      return Array.from({ length: slicesPerDay }, (_, k) =>
        split(
          sliceStartMs(k, slicesPerDay),
          sliceStartMs(k + 1, slicesPerDay),
          1 / slicesPerDay,
          profile.share,
          profile.withinMs,
        ),
      ).flat();
  }
}

function userPicker(users: number, popularity: Popularity, random: () => number): () => number {
  if (popularity.kind === 'uniform') return () => Math.floor(random() * users);
  const cumulative = new Float64Array(users);
  let total = 0;
  for (let r = 0; r < users; r += 1) {
    total += 1 / (r + 1) ** popularity.exponent;
    cumulative[r] = total;
  }
  // guide[j]: the first user whose cumulative weight exceeds j / users of the total, so a draw
  // searches only between two neighbouring guides (inverse-CDF with a guide table).
  const guide = new Uint32Array(users + 1);
  for (let j = 0, r = 0; j <= users; j += 1) {
    while (r < users - 1 && cumulative[r]! <= (j / users) * total) r += 1;
    guide[j] = r;
  }
  return () => {
    const u = random();
    const target = u * total;
    const j = Math.floor(u * users);
    let lo = guide[j]!;
    let hi = guide[j + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

function assertOptions(opts: StrandingOptions): void {
  const positiveInt = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  };
  positiveInt('users', opts.users);
  positiveInt('shards', opts.shards);
  positiveInt('trancheCoupons', opts.trancheCoupons);
  positiveInt('slicesPerDay', opts.slicesPerDay);
  positiveInt('perUserDaily', opts.perUserDaily ?? 3);
  if ((opts.perUserDaily ?? 3) > 255) throw new RangeError('perUserDaily must be <= 255');
  if (opts.popularity?.kind === 'zipf' && !(opts.popularity.exponent >= 0)) {
    throw new RangeError('popularity.exponent must be >= 0');
  }
  if (!(opts.demandFactor >= 0) || !Number.isFinite(opts.demandFactor)) {
    throw new RangeError(`demandFactor must be finite and >= 0, got ${opts.demandFactor}`);
  }
  const arrival = opts.arrival;
  if (arrival && arrival.kind !== 'uniform') {
    if (!(arrival.share >= 0 && arrival.share <= 1))
      throw new RangeError('arrival.share not in [0, 1]');
    if (!(arrival.withinMs > 0)) throw new RangeError('arrival.withinMs must be > 0');
  }
  const rule = opts.rebalance;
  if (rule?.kind === 'on-sold-out') {
    positiveInt('rebalance.maxCoupons', rule.maxCoupons);
    if (!Number.isSafeInteger(rule.lowWaterCoupons ?? 0) || (rule.lowWaterCoupons ?? 0) < 0) {
      throw new RangeError('rebalance.lowWaterCoupons must be an integer >= 0');
    }
    if (!(rule.cooldownMs >= 0)) throw new RangeError('rebalance.cooldownMs must be >= 0');
  }
  if (rule?.kind === 'periodic' && !(rule.everyMs > 0)) {
    throw new RangeError('rebalance.everyMs must be > 0');
  }
  if (rule && !(rule.latencyMs >= 0)) throw new RangeError('rebalance.latencyMs must be >= 0');
  const map = opts.userShards;
  if (map) {
    if (map.length !== opts.users) throw new RangeError('userShards.length must equal users');
    for (let n = 0; n < map.length; n += 1) {
      const shard = map[n]!;
      if (!Number.isInteger(shard) || shard < 0 || shard >= opts.shards) {
        throw new RangeError(`userShards[${n}] = ${shard} is not a shard`);
      }
    }
  }
}

/**
 * One day of claims against a tranche split across shards exactly as the ledger splits it
 * (ShardBudgets). Attempt i arrives at F^-1((i + u) / attempts) for the profile's distribution F
 * (stratified, so arrivals are in time order and every slice gets its share to within one
 * attempt), from a user drawn by `popularity`; it is issued when the user is under the daily
 * limit and the user's shard has unspent budget.
 */
export function simulateStranding(opts: StrandingOptions): StrandingReport {
  assertOptions(opts);
  const { users, shards, trancheCoupons, slicesPerDay, trace } = opts;
  const perUserDaily = opts.perUserDaily ?? 3;
  const rule = opts.rebalance;
  const random = mulberry32(opts.seed);
  const userShards = opts.userShards ?? mapUsersToShards(users, shards);
  const pickUser = userPicker(users, opts.popularity ?? { kind: 'uniform' }, random);
  const arrivalAt = arrivalTimes(opts.arrival ?? { kind: 'uniform' }, slicesPerDay);
  const attempts = Math.round(opts.demandFactor * trancheCoupons);
  const budgets = new ShardBudgets(shards, trancheCoupons, slicesPerDay, rule, trace);
  const lowWater = rule?.kind === 'on-sold-out' ? (rule.lowWaterCoupons ?? -1) : -1;
  const lastSliceAt = sliceStartMs(slicesPerDay - 1, slicesPerDay);
  const soldOutInLastSlice = new Float64Array(shards);
  const dailyCount = new Uint8Array(users);
  const tally = { issued: 0, soldOut: 0, userLimit: 0, whileElsewhere: 0, maxStranded: 0 };

  for (let i = 0; i < attempts; i += 1) {
    const atMs = arrivalAt((i + random()) / attempts);
    budgets.advanceTo(atMs);
    const user = pickUser();
    const shard = userShards[user]!;
    if (dailyCount[user]! >= perUserDaily) {
      tally.userLimit += 1;
      trace?.({ kind: 'refuse', atMs, user, shard, reason: 'user-limit' });
    } else if (budgets.unspent[shard]! > 0) {
      budgets.issue(shard);
      tally.issued += 1;
      dailyCount[user]! += 1;
      trace?.({ kind: 'issue', atMs, user, shard });
      if (budgets.spendable + budgets.inTransit === 0) budgets.stopRefusing(atMs);
      if (budgets.unspent[shard]! <= lowWater) budgets.pull(atMs, shard);
    } else {
      tally.soldOut += 1;
      trace?.({ kind: 'refuse', atMs, user, shard, reason: 'sold-out' });
      // This shard holds nothing, so everything spendable is on other shards.
      if (budgets.spendable > 0) {
        tally.whileElsewhere += 1;
        budgets.refusedWhileElsewhere(atMs);
        tally.maxStranded = Math.max(tally.maxStranded, budgets.spendable);
      }
      if (atMs >= lastSliceAt) soldOutInLastSlice[shard]! += 1;
      budgets.pull(atMs, shard);
    }
  }
  budgets.advanceTo(DAY_MS - 1);
  budgets.stopRefusing(DAY_MS);

  const shardsRefusingAtEnd = soldOutInLastSlice.reduce((n, count) => n + (count > 0 ? 1 : 0), 0);
  let strandedAtEndCoupons = 0;
  let inTransitAtEnd = 0;
  const usersOnShard = new Float64Array(shards);
  for (let n = 0; n < users; n += 1) usersOnShard[userShards[n]!]! += 1;
  for (let s = 0; s < shards; s += 1) {
    const othersRefused = shardsRefusingAtEnd - (soldOutInLastSlice[s]! > 0 ? 1 : 0) > 0;
    if (othersRefused) strandedAtEndCoupons += budgets.unspent[s]! + budgets.inTransitTo[s]!;
    inTransitAtEnd += budgets.inTransitTo[s]!;
  }

  return {
    trancheCoupons,
    attempts,
    issuedCoupons: tally.issued,
    unissuedAtEnd: budgets.released - tally.issued,
    refusedSoldOut: tally.soldOut,
    refusedUserLimit: tally.userLimit,
    refusedWhileBudgetElsewhere: tally.whileElsewhere,
    maxStrandedWhileRefusing: tally.maxStranded / trancheCoupons,
    maxStrandedWhileRefusingCoupons: tally.maxStranded,
    maxRefusingWhileBudgetElsewhereMs: budgets.maxRefusingMs,
    strandedAtEnd: strandedAtEndCoupons / trancheCoupons,
    strandedAtEndCoupons,
    shards: budgets.outcomes(usersOnShard, soldOutInLastSlice),
    rebalance: {
      transfers: budgets.transferCount,
      couponsMoved: budgets.couponsMoved,
      inTransitAtEnd,
    },
  };
}

/**
 * The arrival time of the attempt at cumulative probability p: walks the profile's segments
 * forward (p only grows, attempt by attempt) and interpolates within one.
 */
function arrivalTimes(profile: ArrivalProfile, slicesPerDay: number): (p: number) => number {
  const segments = arrivalSegments(profile, slicesPerDay);
  let segment = 0;
  let massBefore = 0;
  return (p) => {
    while (segment < segments.length - 1 && p >= massBefore + segments[segment]!.mass) {
      massBefore += segments[segment]!.mass;
      segment += 1;
    }
    const { startMs, endMs, mass } = segments[segment]!;
    const within = Math.min(1, Math.max(0, (p - massBefore) / mass));
    return Math.min(endMs - 1, Math.floor(startMs + within * (endMs - startMs)));
  };
}
