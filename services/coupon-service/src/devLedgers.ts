import type { Clock } from '@coupons/campaign';
import type { Logger } from '@coupons/telemetry';
import type { LedgerRegistry } from './ledgers';

/**
 * Development start-up only (main.ts, NODE_ENV not production): a campaign with no ledger at all
 * in this Redis gets one, and the log says so. A campaign with some shards missing is a loss, not
 * a fresh Redis: it is left alone for an operator (claims on those shards answer 503).
 */
export async function initDevelopmentLedgers(
  ledgers: LedgerRegistry,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  for (const ledger of ledgers.all()) {
    const { campaign } = ledger.calendar;
    const { missingShards } = await ledger.snapshot();
    if (missingShards.length === 0) continue;
    const campaignLog = logger.child({ campaign: campaign.id });
    if (missingShards.length < campaign.shards) {
      campaignLog.error(
        { missingShards },
        `campaign ${campaign.id}: some shards have no ledger (state lost?); claims on them answer 503 until an operator runs: npm run ledger:init -- --campaign ${campaign.id} --after-loss`,
      );
      continue;
    }
    const phase = ledger.calendar.phase(clock.now());
    if (phase === 'scheduled') {
      const report = await ledger.init();
      campaignLog.info(
        { created: report.created.length },
        `development: initialised the ledger of campaign ${campaign.id} (not started yet)`,
      );
      continue;
    }
    const report = await ledger.init({ neverIssued: true });
    campaignLog.warn(
      { created: report.created.length, phase },
      `development: campaign ${campaign.id} is ${phase} but this Redis had no ledger for it; initialised it from zero, as if nothing had been issued. Production never does this: there, run npm run ledger:init`,
    );
  }
}
