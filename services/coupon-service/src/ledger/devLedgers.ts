import { unfencedShards } from '@coupons/budget-ledger';
import type { Clock } from '@coupons/campaign';
import type { Logger } from '@coupons/telemetry';
import type { LedgerRegistry } from './ledgerGateway';

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

/**
 * Says at start, plainly, which campaigns' ledgers are not fenced (docs/money.md, the fence):
 * their shards serve whatever Redis process holds them, so a restart from an older snapshot or
 * a failover to a lagging replica serves claims before the book of record has compared it.
 * Right for development; in production ledger:init fences them.
 */
export async function warnUnfencedLedgers(
  ledgers: LedgerRegistry,
  redis: Parameters<typeof unfencedShards>[0],
  logger: Logger,
): Promise<void> {
  for (const ledger of ledgers.all()) {
    const { campaign } = ledger.calendar;
    const shards = await unfencedShards(redis, campaign);
    if (shards.length === 0) continue;
    logger.warn(
      { campaign: campaign.id, shards: shards.length },
      `shards are not fenced: ${shards.length} of ${campaign.shards} shards of campaign ${campaign.id} serve from any Redis process, verified against the book of record or not (initialised for development; production: npm run ledger:init, which fences them)`,
    );
  }
}
