import type { SpendableCap, Clock } from '@coupons/campaign';

// A shard's share of the budget: what it may issue under a cap, the window the issue script is
// sent, and when a shard running dry asks a richer one for more (docs/stranding.md).

/** The exact share of `total` that shard `index` of `parts` holds (remainder to the lowest). */
export function shareOf(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/**
 * What `shard` may issue under `cap`, before rebalancing. Campaign scope: its share of everything
 * released. Day scope: its share of the day taken cumulatively (share of everything released up
 * to now minus its share of what the earlier days released), so each day's remainder rotates
 * over the shards and the days' shares add up to exactly the shard's share of the pool: the pool
 * cap never strands a coupon.
 */
export function shardReleaseOf(
  cap: Pick<SpendableCap, 'scope' | 'releasedCoupons' | 'releasedBeforeDayCoupons'>,
  shards: number,
  shard: number,
): number {
  if (cap.scope === 'campaign') return shareOf(cap.releasedCoupons, shards, shard);
  const before = cap.releasedBeforeDayCoupons;
  return shareOf(before + cap.releasedCoupons, shards, shard) - shareOf(before, shards, shard);
}

/**
 * The window the issue script is sent: the calendar's, cut to the campaign's claim period, or
 * wholly before ("early") or after it ("late"), so the script needs no start and end of its own.
 */
export function claimWindow(
  cap: { fromMs: number; untilMs: number; scope: 'campaign' | 'day' },
  campaign: { startsAt: number; endsAt: number; couponExpiresAt: number },
  at: number,
): { fromMs: number; untilMs: number; scope: 'campaign' | 'day' | 'early' | 'late' } {
  // No claim after the coupons' expiry, which may fall inside the last day.
  const lastClaimMs = Math.min(campaign.endsAt, campaign.couponExpiresAt);
  if (at < campaign.startsAt)
    return {
      fromMs: cap.fromMs,
      untilMs: Math.min(cap.untilMs, campaign.startsAt),
      scope: 'early',
    };
  if (at > lastClaimMs)
    return { fromMs: Math.max(cap.fromMs, lastClaimMs + 1), untilMs: cap.untilMs, scope: 'late' };
  return {
    fromMs: Math.max(cap.fromMs, campaign.startsAt),
    untilMs: Math.min(cap.untilMs, lastClaimMs + 1),
    scope: cap.scope,
  };
}

export interface RebalanceTriggerOptions {
  /** A shard with at most this many coupons left (or none) asks for budget. */
  lowWater: number;
  /** At most one transfer started per shard per this many ms (per pod). */
  minIntervalMs: number;
  clock: Clock;
  /** Moves budget into the shard; its errors go to onError, never to the claim that triggered it. */
  run: (targetShard: number) => Promise<unknown>;
  onError: (err: unknown, targetShard: number) => void;
}

/**
 * Decides when a shard running dry asks a richer one for budget (docs/stranding.md): when a claim
 * leaves it at or below the low-water mark or finds it sold out; at most one transfer in flight
 * per shard, and not more often than minIntervalMs. Runs beside claims, never inside one.
 */
export class RebalanceTrigger {
  private readonly inFlight = new Set<number>();
  private readonly lastStartedAt = new Map<number, number>();

  constructor(private readonly options: RebalanceTriggerOptions) {}

  /** Called after every claim on `shard` with what the shard has left (0 when sold out). */
  afterClaim(shard: number, unspent: number): void {
    if (unspent > this.options.lowWater || this.inFlight.has(shard)) return;
    const now = this.options.clock.now();
    const last = this.lastStartedAt.get(shard);
    if (last !== undefined && now - last < this.options.minIntervalMs) return;
    this.inFlight.add(shard);
    this.lastStartedAt.set(shard, now);
    this.options
      .run(shard)
      .catch((err: unknown) => this.options.onError(err, shard))
      .finally(() => this.inFlight.delete(shard));
  }

  /** For tests and shutdown: whether a transfer is running. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }
}

/**
 * Defaults from the simulation: move at most one slice's share of one shard at a time, and ask
 * when a shard is down to 1/50 of that (at least 10), which covers a 100 ms transfer about five
 * times over at a 15x flash crowd.
 */
export function defaultRebalanceSizes(
  maxSliceCoupons: number,
  shards: number,
): { maxCoupons: number; lowWater: number } {
  const maxCoupons = Math.max(1, Math.ceil(maxSliceCoupons / shards));
  return { maxCoupons, lowWater: Math.max(10, Math.ceil(maxCoupons / 50)) };
}
