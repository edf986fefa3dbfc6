import type { Clock } from '@coupons/campaign';
import type { Logger } from '@coupons/telemetry';
import type { LedgerRegistry } from './ledgers';

/**
 * Start-up only, and only when asked for (LEDGER_AUTO_INIT=true, or the private Redis `npm start`
 * started for itself): a campaign with no trace at all in this Redis gets a ledger, and the log
 * says so. A campaign with any trace (a shard, a coupon, an audit entry, a user's counters) is
 * never initialised here: if some of its ledger is missing, that is a loss for an operator
 * (claims on those shards answer 503), not a fresh start.
 */
export async function initDevelopmentLedgers(
  ledgers: LedgerRegistry,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  for (const ledger of ledgers.all()) {
    const { campaign } = ledger.calendar;
    const campaignLog = logger.child({ campaign: campaign.id });
    const { unknownShards } = await ledger.snapshot();
    if (unknownShards.length === 0) continue;
    const phase = ledger.calendar.phase(clock.now());
    try {
      const report = await ledger.init(phase === 'scheduled' ? {} : { neverIssued: true });
      const message = `auto-init: initialised the ledger of campaign ${campaign.id}, which had no trace in this Redis`;
      if (phase === 'scheduled') campaignLog.info({ created: report.created.length }, message);
      else
        campaignLog.warn(
          { created: report.created.length, phase },
          `${message}; it is ${phase}, so it starts from zero as if nothing had been issued (never do this where it ran before: there, run npm run ledger:init)`,
        );
    } catch (err) {
      campaignLog.error(
        { unknownShards, err: { message: (err as Error).message } },
        `auto-init: campaign ${campaign.id} has traces in this Redis but shards without a ledger (state lost?); left for an operator: npm run ledger:init -- --campaign ${campaign.id} --after-loss`,
      );
    }
  }
}
