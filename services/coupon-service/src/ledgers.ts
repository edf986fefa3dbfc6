import { BudgetLedger, type LedgerClock } from '@coupons/budget-ledger';
import type { Logger } from '@coupons/telemetry';
import type { CampaignCatalog } from './campaignCatalog';
import type { RedisClient } from './redis/client';

/** One BudgetLedger per campaign this pod serves, all on the pod's one Redis client. */
export class LedgerRegistry {
  private readonly byId: ReadonlyMap<string, BudgetLedger>;

  /**
   * Rebalancing is on (docs/stranding.md: without it about 0.24% of a day's tranche can sit on
   * some shards while users of others are refused); a failed transfer is logged, never fatal.
   */
  constructor(redis: RedisClient, catalog: CampaignCatalog, clock: LedgerClock, logger: Logger) {
    this.byId = new Map(
      catalog.all().map((calendar) => {
        const campaign = calendar.campaign.id;
        const onError = (err: unknown, targetShard: number) =>
          logger.warn({ err, campaign, targetShard }, 'rebalancing transfer failed');
        return [campaign, new BudgetLedger(redis, calendar, clock, { rebalance: { onError } })];
      }),
    );
  }

  /** Finishes transfers a crashed pod left between their two steps (they only under-spend). */
  async completeTransfers(logger: Logger): Promise<void> {
    for (const ledger of this.all()) {
      const completed = await ledger.completeTransfers();
      if (completed > 0)
        logger.warn(
          { campaign: ledger.campaignId, completed },
          'completed rebalancing transfers left in transit',
        );
    }
  }

  get(campaignId: string): BudgetLedger | undefined {
    return this.byId.get(campaignId);
  }

  all(): BudgetLedger[] {
    return [...this.byId.values()];
  }
}
