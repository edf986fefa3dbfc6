// What the stranding simulation (stranding.ts) takes and reports.

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
