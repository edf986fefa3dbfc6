import type { SpendableCap } from '@coupons/campaign';

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
