import { Router } from 'express';
import type { BudgetSnapshot } from '@coupons/budget-ledger';
import { toZonedIso, type CampaignCalendar } from '@coupons/campaign';
import type { CampaignCatalog } from '../../campaignCatalog';
import type { LedgerRegistry } from '../../ledgers';
import { requireScope } from '../auth';
import { campaignFromPath } from '../campaignParam';
import { callContext, type LedgerGateway } from '../ledgerGateway';

/**
 * The budget in fen: coupons x couponValueFen, so every figure is a whole number of coupons.
 * issuedFen counts what a re-initialisation after a loss wrote off as issued.
 */
export function budgetView(snapshot: BudgetSnapshot, calendar: CampaignCalendar) {
  const { campaign } = calendar;
  const fen = (coupons: number) => coupons * campaign.couponValueFen;
  const iso = (ms: number | undefined) =>
    ms === undefined ? null : toZonedIso(ms, campaign.timeZone);
  return {
    campaignId: campaign.id,
    currency: campaign.currency,
    poolFen: fen(snapshot.poolCoupons),
    releasedFen: fen(snapshot.releasedCoupons),
    issuedFen: fen(snapshot.issuedCoupons),
    remainingFen: fen(snapshot.releasedCoupons - snapshot.issuedCoupons),
    unreleasedFen: fen(snapshot.poolCoupons - snapshot.releasedCoupons),
    today:
      snapshot.today === undefined
        ? null
        : {
            day: snapshot.today.day,
            trancheFen: fen(snapshot.today.trancheCoupons),
            releasedFen: fen(snapshot.today.releasedCoupons),
            issuedFen: fen(snapshot.today.issuedCoupons),
          },
    nextReleaseAt: iso(snapshot.nextReleaseAt),
    asOf: iso(snapshot.asOf),
    // For operators: a shard out of budget while others have some is stranding; a missing
    // shard refuses its users' claims (503) until an operator restores it.
    shards: snapshot.shards.map((shard) => ({
      shard: shard.shard,
      releasedFen: fen(shard.releasedCoupons),
      issuedFen: fen(shard.issuedCoupons),
      remainingFen: fen(shard.releasedCoupons - shard.issuedCoupons),
    })),
    missingShards: snapshot.missingShards,
  };
}

export function budgetRouter(deps: {
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  gateway: LedgerGateway;
}): Router {
  const router = Router();
  router.get('/v1/campaigns/:campaignId/budget', requireScope('budget:read'), async (req, res) => {
    const calendar = campaignFromPath(deps.catalog, req.params.campaignId);
    const ledger = deps.ledgers.get(calendar.campaign.id);
    if (ledger === undefined) throw new Error(`no ledger for campaign ${calendar.campaign.id}`);
    const snapshot = await deps.gateway.budget(ledger, callContext(req));
    res.json(budgetView(snapshot, calendar));
  });
  return router;
}
