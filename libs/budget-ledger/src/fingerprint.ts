import { createHash } from 'node:crypto';
import type { CampaignConfig } from '@coupons/campaign';

/**
 * Every campaign setting that decides how much money may move or how it is spent, by name. The
 * book of record keeps them per shard (the init event carries them), so a rebuild from it can
 * name what a campaigns file changed.
 */
export function moneySettings(campaign: CampaignConfig): Record<string, unknown> {
  return {
    id: campaign.id,
    poolFen: campaign.poolFen,
    couponValueFen: campaign.couponValueFen,
    minOrderFen: campaign.minOrderFen,
    timeZone: campaign.timeZone,
    startsAt: campaign.startsAt,
    endsAt: campaign.endsAt,
    couponExpiresAt: campaign.couponExpiresAt,
    perUserDaily: campaign.perUser.daily,
    perUserTotal: campaign.perUser.total,
    slicesPerDay: campaign.release.slicesPerDay,
    rollover: campaign.release.rollover,
    dayWeights: Object.entries(campaign.release.dayWeights).sort(([a], [b]) => a.localeCompare(b)),
    shards: campaign.shards,
    // Only when raised, so ledgers initialised before the limit existed keep their fingerprint.
    ...(campaign.couponsPerOrder === 1 ? {} : { couponsPerOrder: campaign.couponsPerOrder }),
  };
}

/** The settings of moneySettings that differ between two, as "name: recorded -> given". */
export function moneySettingsDiff(
  recorded: Record<string, unknown>,
  given: Record<string, unknown>,
): string[] {
  // In moneySettings' order (a record read back from jsonb has its keys in another).
  const names = [...new Set([...Object.keys(given), ...Object.keys(recorded)])];
  return names.flatMap((name) => {
    const [a, b] = [JSON.stringify(recorded[name]), JSON.stringify(given[name])];
    return a === b ? [] : [`${name}: ${a ?? 'absent'} -> ${b ?? 'absent'}`];
  });
}

/**
 * The layout of the keys the scripts read and write (the compact coupon record, the idempotency
 * scope without the API key, order holds). A ledger made by code of another layout has another
 * fingerprint, so every script refuses it (503, config_mismatch) instead of misreading its
 * records; `ledger:init --from-record` rebuilds it in this layout. Raise it with any change of
 * what a script stores.
 */
export const LEDGER_LAYOUT = 2;

/**
 * A digest of the money settings and the ledger layout. Stored in each shard's ledger at init;
 * every script refuses a caller whose campaigns file (or code) says otherwise.
 */
export function campaignFingerprint(campaign: CampaignConfig): string {
  const money = Object.values(moneySettings(campaign));
  return createHash('sha256')
    .update(JSON.stringify([`layout:${LEDGER_LAYOUT}`, ...money]))
    .digest('hex')
    .slice(0, 16);
}
