import { createHash } from 'node:crypto';
import type { Campaign } from '@coupons/campaign';

/**
 * A digest of every campaign setting that decides how much money may move or how it is spent.
 * Stored in each shard's ledger at init; every script refuses a caller whose campaigns file says
 * otherwise.
 */
export function campaignFingerprint(campaign: Campaign): string {
  const money = [
    campaign.id,
    campaign.poolFen,
    campaign.couponValueFen,
    campaign.minOrderFen,
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
    // Only when raised, so ledgers initialised before the limit existed keep their fingerprint.
    ...(campaign.couponsPerOrder === 1 ? [] : [campaign.couponsPerOrder]),
  ];
  return createHash('sha256').update(JSON.stringify(money)).digest('hex').slice(0, 16);
}
