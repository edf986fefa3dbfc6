import { BudgetLedger, type LedgerClock } from '@coupons/budget-ledger';
import type { CampaignCatalog } from './campaignCatalog';
import type { RedisClient } from './redis/client';

/** One BudgetLedger per campaign this pod serves, all on the pod's one Redis client. */
export class LedgerRegistry {
  private readonly byId: ReadonlyMap<string, BudgetLedger>;

  constructor(redis: RedisClient, catalog: CampaignCatalog, clock: LedgerClock) {
    this.byId = new Map(
      catalog
        .all()
        .map((calendar) => [calendar.campaign.id, new BudgetLedger(redis, calendar, clock)]),
    );
  }

  get(campaignId: string): BudgetLedger | undefined {
    return this.byId.get(campaignId);
  }

  all(): BudgetLedger[] {
    return [...this.byId.values()];
  }
}
