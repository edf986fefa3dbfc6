import { splitEvenly } from '@coupons/campaign';
import type { RebalanceRule, ShardOutcome, StrandingEvent } from './types';

interface Transfer {
  readonly dueMs: number;
  readonly shard: number;
  readonly coupons: number;
}

/** The start of release slice k of a 24 h day. */
export function sliceStartMs(slice: number, slicesPerDay: number): number {
  return Math.floor((slice * 86_400_000) / slicesPerDay);
}

/**
 * One day's budget across shards, split exactly as the ledger splits it: slice k releases
 * splitEvenly(tranche, slicesPerDay)[k] at its start, shard s may issue up to
 * splitEvenly(released so far, shards)[s] plus its net rebalancing transfers, and a transfer is
 * debited at once and credited `latencyMs` later (in transit, on no shard, in between).
 */
export class ShardBudgets {
  private readonly sliceCoupons: number[];
  private readonly baseCap: Float64Array; // splitEvenly(released, shards)
  readonly unspent: Float64Array; // cap + net transfers - issued
  private readonly issued: Float64Array;
  private readonly netTransfers: Float64Array;
  readonly inTransitTo: Float64Array;
  private readonly lastCreditAt: Float64Array;
  /** Everything issuable right now, on some shard (the sum of unspent). */
  spendable = 0;
  inTransit = 0;
  released = 0;
  private nextSlice = 0;
  private nextSliceAt = 0;
  private readonly transfers: Transfer[] = []; // due times ascend: one constant latency
  private transferHead = 0;
  transferCount = 0;
  couponsMoved = 0;
  private readonly tickEveryMs: number;
  private nextTickAt: number;
  /** First refusal with budget elsewhere since budget was last all gone (NaN: none). */
  private refusingSince = NaN;
  maxRefusingMs = 0;

  constructor(
    private readonly shards: number,
    trancheCoupons: number,
    private readonly slicesPerDay: number,
    private readonly rule: RebalanceRule | undefined,
    private readonly trace: ((event: StrandingEvent) => void) | undefined,
  ) {
    this.sliceCoupons = splitEvenly(trancheCoupons, slicesPerDay);
    this.baseCap = new Float64Array(shards);
    this.unspent = new Float64Array(shards);
    this.issued = new Float64Array(shards);
    this.netTransfers = new Float64Array(shards);
    this.inTransitTo = new Float64Array(shards);
    this.lastCreditAt = new Float64Array(shards).fill(-Infinity);
    this.tickEveryMs = rule?.kind === 'periodic' ? rule.everyMs : Infinity;
    this.nextTickAt = this.tickEveryMs;
  }

  /** Ends a stretch of refusals while budget was elsewhere, keeping the longest. */
  stopRefusing(atMs: number): void {
    if (!Number.isNaN(this.refusingSince))
      this.maxRefusingMs = Math.max(this.maxRefusingMs, atMs - this.refusingSince);
    this.refusingSince = NaN;
  }

  /** A sold-out refusal while budget sat on other shards starts (or continues) a stretch. */
  refusedWhileElsewhere(atMs: number): void {
    if (Number.isNaN(this.refusingSince)) this.refusingSince = atMs;
  }

  /** Applies every release, credit and periodic rebalance due at or before t, in time order. */
  advanceTo(t: number): void {
    for (;;) {
      const creditAt =
        this.transferHead < this.transfers.length
          ? this.transfers[this.transferHead]!.dueMs
          : Infinity;
      const next = Math.min(this.nextSliceAt, creditAt, this.nextTickAt);
      if (next > t) return;
      if (this.nextSliceAt === next) this.release();
      else if (creditAt === next) this.credit(this.transfers[this.transferHead++]!);
      else this.equalise(next);
    }
  }

  /** Issues one coupon on `shard` (the caller checked it has unspent budget). */
  issue(shard: number): void {
    this.unspent[shard]! -= 1;
    this.issued[shard]! += 1;
    this.spendable -= 1;
  }

  /**
   * The on-sold-out rule: `shard` ran dry (or low) at atMs; unless it has a transfer on the way or
   * got one within the cooldown, move half the gap (at most maxCoupons) from the richest shard.
   */
  pull(atMs: number, shard: number): void {
    const rule = this.rule;
    if (rule?.kind !== 'on-sold-out' || this.spendable < 2) return; // < 2: nothing worth halving
    if (this.inTransitTo[shard]! > 0 || atMs - this.lastCreditAt[shard]! < rule.cooldownMs) return;
    let richest = shard;
    for (let s = 0; s < this.shards; s += 1)
      if (this.unspent[s]! > this.unspent[richest]!) richest = s;
    const coupons = Math.min(
      rule.maxCoupons,
      Math.floor((this.unspent[richest]! - this.unspent[shard]!) / 2),
    );
    if (coupons > 0) this.debit(atMs, richest, coupons, shard);
  }

  /** What each shard was given and issued; `soldOutInLastSlice` comes from the caller. */
  outcomes(usersOnShard: Float64Array, soldOutInLastSlice: Float64Array): ShardOutcome[] {
    return Array.from({ length: this.shards }, (_, s) => ({
      users: usersOnShard[s]!,
      releasedCoupons: this.baseCap[s]! + this.netTransfers[s]!,
      issuedCoupons: this.issued[s]!,
      soldOutInLastSlice: soldOutInLastSlice[s]!,
    }));
  }

  private debit(atMs: number, shard: number, coupons: number, target: number): void {
    this.unspent[shard]! -= coupons;
    this.netTransfers[shard]! -= coupons;
    this.spendable -= coupons;
    this.inTransit += coupons;
    this.inTransitTo[target]! += coupons;
    this.transfers.push({ dueMs: atMs + (this.rule?.latencyMs ?? 0), shard: target, coupons });
    this.transferCount += 1;
    this.couponsMoved += coupons;
    this.trace?.({ kind: 'debit', atMs, shard, coupons, target });
  }

  private credit(transfer: Transfer): void {
    const { dueMs, shard, coupons } = transfer;
    this.inTransit -= coupons;
    this.inTransitTo[shard]! -= coupons;
    this.unspent[shard]! += coupons;
    this.netTransfers[shard]! += coupons;
    this.spendable += coupons;
    this.lastCreditAt[shard] = dueMs;
    this.trace?.({ kind: 'credit', atMs: dueMs, shard, coupons });
  }

  private release(): void {
    this.stopRefusing(this.nextSliceAt);
    this.released += this.sliceCoupons[this.nextSlice]!;
    const caps = splitEvenly(this.released, this.shards);
    for (let s = 0; s < this.shards; s += 1) {
      const added = caps[s]! - this.baseCap[s]!;
      this.baseCap[s] = caps[s]!;
      this.unspent[s]! += added;
      this.spendable += added;
    }
    this.trace?.({
      kind: 'release',
      atMs: this.nextSliceAt,
      slice: this.nextSlice,
      releasedCoupons: this.released,
    });
    this.nextSlice += 1;
    this.nextSliceAt =
      this.nextSlice < this.slicesPerDay
        ? sliceStartMs(this.nextSlice, this.slicesPerDay)
        : Infinity;
  }

  /** The periodic rule: every shard above an even split gives down to it, sources first. */
  private equalise(atMs: number): void {
    const targets = splitEvenly(this.spendable, this.shards);
    const owed: number[] = [];
    for (let s = 0; s < this.shards; s += 1) {
      const gap = targets[s]! - this.unspent[s]!;
      if (gap > 0) owed.push(s, gap);
    }
    // Sources first: every debit happens before any credit it pays for.
    let o = 0;
    for (let s = 0; s < this.shards; s += 1) {
      let surplus = this.unspent[s]! - targets[s]!;
      while (surplus > 0 && o < owed.length) {
        const coupons = Math.min(surplus, owed[o + 1]!);
        this.debit(atMs, s, coupons, owed[o]!);
        surplus -= coupons;
        owed[o + 1]! -= coupons;
        if (owed[o + 1] === 0) o += 2;
      }
    }
    this.nextTickAt += this.tickEveryMs;
  }
}
