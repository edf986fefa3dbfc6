import { createHash } from 'node:crypto';
import type { Campaign } from '@coupons/campaign';

/**
 * A digest of every campaign setting that decides how much money may move. Stored in each
 * shard's ledger at init; a pod whose campaigns file says otherwise is refused by the scripts.
 */
export function campaignFingerprint(campaign: Campaign): string {
  const money = [
    campaign.id,
    campaign.poolFen,
    campaign.couponValueFen,
    campaign.timeZone,
    campaign.startsAt,
    campaign.endsAt,
    campaign.couponExpiresAt,
    campaign.perUser.daily,
    campaign.perUser.total,
    campaign.release.slicesPerDay,
    campaign.release.rollover,
    Object.entries(campaign.release.dayWeights).sort(([a], [b]) => a.localeCompare(b)),
    campaign.shards,
  ];
  return createHash('sha256').update(JSON.stringify(money)).digest('hex').slice(0, 16);
}

/** The exact share of `total` that shard `index` of `parts` holds (remainder to the lowest). */
export function shareOf(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}
