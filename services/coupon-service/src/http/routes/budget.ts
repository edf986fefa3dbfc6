import type { RequestHandler } from 'express';
import type { BudgetSnapshot } from '@coupons/budget-ledger';
import { couponsToFen, toZonedIso, type CampaignCalendar } from '@coupons/campaign';
import { type CampaignCatalog, campaignFromPath } from '../../campaignCatalog';
import type { LedgerRegistry, LedgerGateway } from '../../ledger/ledgerGateway';
import { callContext } from '../requestLog';
import { contextOf } from '../../frontDoor/frontDoor';

/**
 * The budget in fen: coupons x couponValueFen, so every figure is a whole number of coupons.
 * issuedFen counts what a re-initialisation after a loss wrote off as issued. A shard whose state
 * is lost or rolled back has no known figures: they are null (listed in unknownShards with the
 * reason), never zero, and so are the totals they are part of.
 */
function budgetView(snapshot: BudgetSnapshot, calendar: CampaignCalendar) {
  const { campaign } = calendar;
  const fen = (coupons: number) => couponsToFen(campaign, coupons);
  const fenOrNull = (coupons: number | null) => (coupons === null ? null : fen(coupons));
  const minus = (a: number, b: number | null) => (b === null ? null : fen(a) - fen(b));
  const iso = (ms: number | undefined) =>
    ms === undefined ? null : toZonedIso(ms, campaign.timeZone);
  return {
    campaignId: campaign.id,
    currency: campaign.currency,
    poolFen: fen(snapshot.poolCoupons),
    releasedFen: fen(snapshot.releasedCoupons),
    issuedFen: fenOrNull(snapshot.issuedCoupons),
    remainingFen: minus(snapshot.releasedCoupons, snapshot.issuedCoupons),
    unreleasedFen: fen(snapshot.poolCoupons - snapshot.releasedCoupons),
    today:
      snapshot.today === undefined
        ? null
        : {
            day: snapshot.today.day,
            trancheFen: fen(snapshot.today.trancheCoupons),
            releasedFen: fen(snapshot.today.releasedCoupons),
            issuedFen: fenOrNull(snapshot.today.issuedCoupons),
          },
    nextReleaseAt: iso(snapshot.nextReleaseAt),
    asOf: iso(snapshot.asOf),
    // For operators: a shard out of budget while others have some is stranding; an unknown
    // shard refuses its users' claims (503) until an operator restores it.
    shards: snapshot.shards.map((shard) => ({
      shard: shard.shard,
      state: shard.state,
      releasedFen: fen(shard.releasedCoupons),
      issuedFen: fenOrNull(shard.issuedCoupons),
      remainingFen: minus(shard.releasedCoupons, shard.issuedCoupons),
    })),
    unknownShards: snapshot.unknownShards,
  };
}

export function budgetHandler(deps: {
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  gateway: LedgerGateway;
}): RequestHandler {
  return async (req, res) => {
    const calendar = campaignFromPath(deps.catalog, contextOf(res).params.campaignId);
    const ledger = deps.ledgers.get(calendar.campaign.id);
    if (ledger === undefined) throw new Error(`no ledger for campaign ${calendar.campaign.id}`);
    const snapshot = await deps.gateway.budget(ledger, callContext(req, res));
    res.json(budgetView(snapshot, calendar));
  };
}
