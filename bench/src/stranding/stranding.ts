import { splitEvenly } from '@coupons/campaign';
import { shardOfUser } from '@coupons/budget-ledger';

// How much of a day's tranche is left on some shards while users pinned to other shards are told
// "sold out until the next release". Pure and deterministic: one seeded PRNG, no clock, no I/O.

export const DAY_MS = 86_400_000;

/** When the day's claim attempts arrive (the count is fixed: demandFactor x tranche). */
export type ArrivalProfile =
  | { readonly kind: 'uniform' }
  /** `share` of every slice's attempts in the first `withinMs` after its release (the herd that
   * Retry-After sends back to the release), the rest uniform over the slice. */
  | { readonly kind: 'flash-slice'; readonly share: number; readonly withinMs: number }
  /** `share` of the day's attempts in its first `withinMs`, the rest uniform over the day. */
  | { readonly kind: 'flash-day'; readonly share: number; readonly withinMs: number };

/** Which user an attempt comes from: uniform, or user-<r> with weight 1 / (r + 1) ** exponent. */
export type Popularity =
  { readonly kind: 'uniform' } | { readonly kind: 'zipf'; readonly exponent: number };

/**
 * Moving unspent released budget between shards. A transfer debits the source at once (so the
 * coupons can no longer be issued there) and credits the target `latencyMs` later; in between the
 * coupons are in transit, on no shard, so the sum of the shards' caps never exceeds the release.
 */
export type RebalanceRule =
  /**
   * When shard s refuses a claim for sold-out, or (if lowWaterCoupons is set) an issue leaves it
   * with at most lowWaterCoupons, and s has nothing in transit to it and got nothing in the last
   * `cooldownMs`: move min(maxCoupons, floor((u - u_s) / 2)) from the shard with the most unspent
   * budget u. Halving the gap keeps the source at least as rich as the target: no ping-pong.
   */
  | {
      readonly kind: 'on-sold-out';
      readonly maxCoupons: number;
      readonly cooldownMs: number;
      readonly latencyMs: number;
      readonly lowWaterCoupons?: number;
    }
  /** Every `everyMs`: debit every shard above an even split of the total unspent budget down to
   * it, then credit the shards below it up to it. */
  | { readonly kind: 'periodic'; readonly everyMs: number; readonly latencyMs: number };

export interface StrandingOptions {
  readonly users: number;
  readonly shards: number;
  /** The day's tranche in coupons. */
  readonly trancheCoupons: number;
  /** Equal release slices over a 24 h day; slice k opens at floor(k * DAY_MS / slicesPerDay). */
  readonly slicesPerDay: number;
  /** Claim attempts over the day / tranche (rounded to whole attempts). */
  readonly demandFactor: number;
  readonly seed: number;
  /** Per-user daily limit (the campaign limit, 21, cannot bind within one day). Default 3. */
  readonly perUserDaily?: number;
  readonly arrival?: ArrivalProfile;
  readonly popularity?: Popularity;
  readonly rebalance?: RebalanceRule;
  /** Shard of user n at index n; default shardOfUser(`user-<n>`, shards), the real mapping. */
  readonly userShards?: ArrayLike<number>;
  /** Sees every event in time order (tests replay it to check the invariants independently). */
  readonly trace?: (event: StrandingEvent) => void;
}

export type StrandingEvent =
  /** Slice `slice` opens: `releasedCoupons` is the cumulative release of the day so far. */
  | {
      readonly kind: 'release';
      readonly atMs: number;
      readonly slice: number;
      readonly releasedCoupons: number;
    }
  | { readonly kind: 'issue'; readonly atMs: number; readonly user: number; readonly shard: number }
  | {
      readonly kind: 'refuse';
      readonly atMs: number;
      readonly user: number;
      readonly shard: number;
      readonly reason: RefusalReason;
    }
  /** Rebalance: taken from a shard's cap for `target` (always first) / added to it (later). */
  | {
      readonly kind: 'debit';
      readonly atMs: number;
      readonly shard: number;
      readonly coupons: number;
      readonly target: number;
    }
  | {
      readonly kind: 'credit';
      readonly atMs: number;
      readonly shard: number;
      readonly coupons: number;
    };

/** `sold-out`: under the daily limit, shard has no unspent release. `user-limit`: at the limit. */
export type RefusalReason = 'sold-out' | 'user-limit';

export interface ShardOutcome {
  readonly users: number;
  /** The shard's cap at the end of the day: its even share of the tranche plus net transfers. */
  readonly releasedCoupons: number;
  readonly issuedCoupons: number;
  /** Sold-out refusals on this shard during the last slice. */
  readonly soldOutInLastSlice: number;
}

export interface StrandingReport {
  readonly trancheCoupons: number;
  readonly attempts: number;
  readonly issuedCoupons: number;
  /** Released (the whole tranche by the end of the day) minus issued, stranded or not. */
  readonly unissuedAtEnd: number;
  /** Attempts by users under their daily limit refused because their shard had no budget. */
  readonly refusedSoldOut: number;
  /** Attempts by users already at their daily limit (refused whatever the shard held). */
  readonly refusedUserLimit: number;
  /** Sold-out refusals made while the other shards held unspent released budget. */
  readonly refusedWhileBudgetElsewhere: number;
  /** Max over sold-out refusals of the unspent released budget on the other shards, / tranche. */
  readonly maxStrandedWhileRefusing: number;
  readonly maxStrandedWhileRefusingCoupons: number;
  /** Longest time from a sold-out refusal made while other shards held budget until no shard held
   * any (nor any in transit), or the next release, or the end of the day: how long it lasts. */
  readonly maxRefusingWhileBudgetElsewhereMs: number;
  /**
   * Unissued budget at the end of the day on shards s such that some other shard refused a user
   * for sold-out in the last slice (coupons in transit count on their target), / tranche: the
   * part of the day's tranche that users elsewhere wanted and could not get.
   */
  readonly strandedAtEnd: number;
  readonly strandedAtEndCoupons: number;
  readonly shards: readonly ShardOutcome[];
  readonly rebalance: {
    /** Transfers started (one debit each; every credit follows its debit). */
    readonly transfers: number;
    readonly couponsMoved: number;
    /** Debited, not yet credited when the day ended. */
    readonly inTransitAtEnd: number;
  };
}

/** mulberry32: a tiny 32-bit PRNG, uniform in [0, 1); fine for a simulation, never for keys. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

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

function sliceStartMs(slice: number, slicesPerDay: number): number {
  return Math.floor((slice * DAY_MS) / slicesPerDay);
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

interface Transfer {
  readonly dueMs: number;
  readonly shard: number;
  readonly coupons: number;
}

/**
 * One day of claims against a tranche split across shards exactly as the ledger splits it: slice k
 * releases splitEvenly(tranche, slicesPerDay)[k] at its start, and shard s may issue up to
 * splitEvenly(released so far, shards)[s] (+ net rebalance transfers). Attempt i arrives at
 * F^-1((i + u) / attempts) for the profile's distribution F (stratified, so arrivals are in time
 * order and every slice gets its share to within one attempt), from a user drawn by `popularity`;
 * it is issued when the user is under the daily limit and the user's shard has unspent budget.
 */
export function simulateStranding(opts: StrandingOptions): StrandingReport {
  assertOptions(opts);
  const { users, shards, trancheCoupons, slicesPerDay, trace } = opts;
  const perUserDaily = opts.perUserDaily ?? 3;
  const rule = opts.rebalance;
  const random = mulberry32(opts.seed);
  const userShards = opts.userShards ?? mapUsersToShards(users, shards);
  const pickUser = userPicker(users, opts.popularity ?? { kind: 'uniform' }, random);
  const segments = arrivalSegments(opts.arrival ?? { kind: 'uniform' }, slicesPerDay);
  const attempts = Math.round(opts.demandFactor * trancheCoupons);

  const sliceCoupons = splitEvenly(trancheCoupons, slicesPerDay);
  const baseCap = new Float64Array(shards); // splitEvenly(released, shards)
  const unspent = new Float64Array(shards); // cap + net transfers - issued
  const issued = new Float64Array(shards);
  const netTransfers = new Float64Array(shards);
  const inTransitTo = new Float64Array(shards);
  const lastCreditAt = new Float64Array(shards).fill(-Infinity);
  const soldOutInLastSlice = new Float64Array(shards);
  const dailyCount = new Uint8Array(users);
  let spendable = 0; // sum of unspent: everything issuable right now, on some shard
  let inTransit = 0;
  let refusingSince = NaN; // first refusal with budget elsewhere since budget was last all gone
  let maxRefusingMs = 0;
  const stopRefusing = (atMs: number) => {
    if (!Number.isNaN(refusingSince)) maxRefusingMs = Math.max(maxRefusingMs, atMs - refusingSince);
    refusingSince = NaN;
  };
  let released = 0;
  let nextSlice = 0;
  let nextSliceAt = 0;

  const transfers: Transfer[] = []; // due times ascend: one constant latency
  let transferHead = 0;
  let transferCount = 0;
  let couponsMoved = 0;
  const tickEveryMs = rule?.kind === 'periodic' ? rule.everyMs : Infinity;
  let nextTickAt = tickEveryMs;

  const debit = (atMs: number, shard: number, coupons: number, target: number) => {
    unspent[shard]! -= coupons;
    netTransfers[shard]! -= coupons;
    spendable -= coupons;
    inTransit += coupons;
    inTransitTo[target]! += coupons;
    transfers.push({ dueMs: atMs + (rule?.latencyMs ?? 0), shard: target, coupons });
    transferCount += 1;
    couponsMoved += coupons;
    trace?.({ kind: 'debit', atMs, shard, coupons, target });
  };

  const credit = (transfer: Transfer) => {
    const { dueMs, shard, coupons } = transfer;
    inTransit -= coupons;
    inTransitTo[shard]! -= coupons;
    unspent[shard]! += coupons;
    netTransfers[shard]! += coupons;
    spendable += coupons;
    lastCreditAt[shard] = dueMs;
    trace?.({ kind: 'credit', atMs: dueMs, shard, coupons });
  };

  const release = () => {
    stopRefusing(nextSliceAt);
    released += sliceCoupons[nextSlice]!;
    const caps = splitEvenly(released, shards);
    for (let s = 0; s < shards; s += 1) {
      const added = caps[s]! - baseCap[s]!;
      baseCap[s] = caps[s]!;
      unspent[s]! += added;
      spendable += added;
    }
    trace?.({ kind: 'release', atMs: nextSliceAt, slice: nextSlice, releasedCoupons: released });
    nextSlice += 1;
    nextSliceAt = nextSlice < slicesPerDay ? sliceStartMs(nextSlice, slicesPerDay) : Infinity;
  };

  const equalise = (atMs: number) => {
    const targets = splitEvenly(spendable, shards);
    const owed: number[] = [];
    for (let s = 0; s < shards; s += 1) {
      const gap = targets[s]! - unspent[s]!;
      if (gap > 0) owed.push(s, gap);
    }
    // Sources first: every debit happens before any credit it pays for.
    let o = 0;
    for (let s = 0; s < shards; s += 1) {
      let surplus = unspent[s]! - targets[s]!;
      while (surplus > 0 && o < owed.length) {
        const coupons = Math.min(surplus, owed[o + 1]!);
        debit(atMs, s, coupons, owed[o]!);
        surplus -= coupons;
        owed[o + 1]! -= coupons;
        if (owed[o + 1] === 0) o += 2;
      }
    }
    nextTickAt += tickEveryMs;
  };

  /** Applies every release, credit and periodic rebalance due at or before t, in time order. */
  const advanceTo = (t: number) => {
    for (;;) {
      const creditAt = transferHead < transfers.length ? transfers[transferHead]!.dueMs : Infinity;
      const next = Math.min(nextSliceAt, creditAt, nextTickAt);
      if (next > t) return;
      if (nextSliceAt === next) release();
      else if (creditAt === next) credit(transfers[transferHead++]!);
      else equalise(next);
    }
  };

  const lowWater = rule?.kind === 'on-sold-out' ? (rule.lowWaterCoupons ?? -1) : -1;
  const pull = (atMs: number, shard: number) => {
    if (rule?.kind !== 'on-sold-out' || spendable < 2) return; // < 2: nothing worth halving
    if (inTransitTo[shard]! > 0 || atMs - lastCreditAt[shard]! < rule.cooldownMs) return;
    let richest = shard;
    for (let s = 0; s < shards; s += 1) if (unspent[s]! > unspent[richest]!) richest = s;
    const coupons = Math.min(
      rule.maxCoupons,
      Math.floor((unspent[richest]! - unspent[shard]!) / 2),
    );
    if (coupons > 0) debit(atMs, richest, coupons, shard);
  };

  let refusedSoldOut = 0;
  let refusedUserLimit = 0;
  let refusedWhileBudgetElsewhere = 0;
  let maxStrandedWhileRefusing = 0;
  let issuedTotal = 0;
  const lastSliceAt = sliceStartMs(slicesPerDay - 1, slicesPerDay);

  let segment = 0;
  let massBefore = 0;
  for (let i = 0; i < attempts; i += 1) {
    const p = (i + random()) / attempts;
    while (segment < segments.length - 1 && p >= massBefore + segments[segment]!.mass) {
      massBefore += segments[segment]!.mass;
      segment += 1;
    }
    const { startMs, endMs, mass } = segments[segment]!;
    const within = Math.min(1, Math.max(0, (p - massBefore) / mass));
    const atMs = Math.min(endMs - 1, Math.floor(startMs + within * (endMs - startMs)));
    advanceTo(atMs);

    const user = pickUser();
    const shard = userShards[user]!;
    if (dailyCount[user]! >= perUserDaily) {
      refusedUserLimit += 1;
      trace?.({ kind: 'refuse', atMs, user, shard, reason: 'user-limit' });
    } else if (unspent[shard]! > 0) {
      unspent[shard]! -= 1;
      issued[shard]! += 1;
      spendable -= 1;
      issuedTotal += 1;
      dailyCount[user]! += 1;
      trace?.({ kind: 'issue', atMs, user, shard });
      if (spendable + inTransit === 0) stopRefusing(atMs);
      if (unspent[shard]! <= lowWater) pull(atMs, shard);
    } else {
      refusedSoldOut += 1;
      trace?.({ kind: 'refuse', atMs, user, shard, reason: 'sold-out' });
      // This shard holds nothing, so everything spendable is on other shards.
      if (spendable > 0) {
        refusedWhileBudgetElsewhere += 1;
        if (Number.isNaN(refusingSince)) refusingSince = atMs;
        maxStrandedWhileRefusing = Math.max(maxStrandedWhileRefusing, spendable);
      }
      if (atMs >= lastSliceAt) soldOutInLastSlice[shard]! += 1;
      pull(atMs, shard);
    }
  }
  advanceTo(DAY_MS - 1);
  stopRefusing(DAY_MS);

  const shardsRefusingAtEnd = soldOutInLastSlice.reduce((n, count) => n + (count > 0 ? 1 : 0), 0);
  let strandedAtEndCoupons = 0;
  let inTransitAtEnd = 0;
  const outcomes: ShardOutcome[] = [];
  const usersOnShard = new Float64Array(shards);
  for (let n = 0; n < users; n += 1) usersOnShard[userShards[n]!]! += 1;
  for (let s = 0; s < shards; s += 1) {
    const othersRefused = shardsRefusingAtEnd - (soldOutInLastSlice[s]! > 0 ? 1 : 0) > 0;
    if (othersRefused) strandedAtEndCoupons += unspent[s]! + inTransitTo[s]!;
    inTransitAtEnd += inTransitTo[s]!;
    outcomes.push({
      users: usersOnShard[s]!,
      releasedCoupons: baseCap[s]! + netTransfers[s]!,
      issuedCoupons: issued[s]!,
      soldOutInLastSlice: soldOutInLastSlice[s]!,
    });
  }

  return {
    trancheCoupons,
    attempts,
    issuedCoupons: issuedTotal,
    unissuedAtEnd: released - issuedTotal,
    refusedSoldOut,
    refusedUserLimit,
    refusedWhileBudgetElsewhere,
    maxStrandedWhileRefusing: maxStrandedWhileRefusing / trancheCoupons,
    maxStrandedWhileRefusingCoupons: maxStrandedWhileRefusing,
    maxRefusingWhileBudgetElsewhereMs: maxRefusingMs,
    strandedAtEnd: strandedAtEndCoupons / trancheCoupons,
    strandedAtEndCoupons,
    shards: outcomes,
    rebalance: { transfers: transferCount, couponsMoved, inTransitAtEnd },
  };
}
