import type { Cluster, Redis } from 'ioredis';
import type { CampaignCalendar } from '@coupons/campaign';
import { shardKeys, shardOfUser } from './keys';
import { listed, reconcileShard, type AcrossShards } from './reconcileShard';

export interface ShardReconciliation {
  shard: number;
  ledgerIssued: number;
  writtenOff: number;
  couponRecords: number;
  issuedEvents: number;
  releasedCap: number;
  redeemed: number;
  problems: string[];
}

export interface Reconciliation {
  campaignId: string;
  asOf: number;
  clean: boolean;
  issuedCoupons: number;
  issuedFen: number;
  /** Budget taken from a shard by a rebalancing transfer and not yet given (a crash between). */
  inTransitCoupons: number;
  /** Budget of transfers whose target was lost: spent, never credited. */
  writtenOffTransferCoupons: number;
  shards: ShardReconciliation[];
  problems: string[];
}

/**
 * Proves, shard by shard, that the counters, the coupon records and the audit stream tell one
 * story: issued = records (+ written off) = issued events; issued <= released; no user over a
 * limit; redeemed counters = redeemed records = redeemed - reversed events; the ledger's event
 * count and last event id are the stream's; no shard is marked rolled back. A stream the recorder
 * trimmed (the ledger's trimmedTo) holds only the events after what PostgreSQL recorded: the
 * checks that need the whole history (event counts, every record's issued event, redemptions by
 * event) are left to the record there, and what the kept events say is still checked. Across shards, the
 * rebalancing adjustments are what the transfer records say, and every transfer was credited at
 * most once: given, in transit, or written off with a lost target.
 */
export async function reconcile(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  now: number,
): Promise<Reconciliation> {
  const { campaign } = calendar;
  const across: AcrossShards = {
    transfersOut: new Map(),
    transfersIn: new Map(),
    gens: new Map(),
    adjustmentTotal: 0,
    redeemedByOrder: new Map(),
  };
  const shards: ShardReconciliation[] = [];
  for (let shard = 0; shard < campaign.shards; shard += 1)
    shards.push(await reconcileShard(redis, calendar, now, shard, across));
  const problems = shards.flatMap((s) =>
    s.problems.map((problem) => `shard ${s.shard}: ${problem}`),
  );
  await checkOrders(redis, calendar, across.redeemedByOrder, problems);
  const { inTransitCoupons, writtenOffTransferCoupons } = checkTransfers(across, problems);
  const issuedCoupons = shards.reduce((sum, s) => sum + s.ledgerIssued, 0);
  return {
    campaignId: campaign.id,
    asOf: now,
    clean: problems.length === 0,
    issuedCoupons,
    issuedFen: issuedCoupons * campaign.couponValueFen,
    inTransitCoupons,
    writtenOffTransferCoupons,
    shards,
    problems,
  };
}

/**
 * One coupon per order (couponsPerOrder), across shards: every redeemed coupon's order holds its
 * code on the order's shard, and no order carries more than the limit.
 */
async function checkOrders(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  redeemedByOrder: ReadonlyMap<string, string[]>,
  problems: string[],
): Promise<void> {
  const { campaign } = calendar;
  for (const [orderId, codes] of redeemedByOrder) {
    if (codes.length > campaign.couponsPerOrder)
      problems.push(
        `order ${orderId}: redeemed ${codes.length} coupons (${listed(codes)}) > ${campaign.couponsPerOrder} per order`,
      );
    const orderKey = shardKeys(campaign.id, shardOfUser(orderId, campaign.shards)).order(orderId);
    const held = await redis.hgetall(orderKey);
    const unheld = codes.filter((code) => held[code] === undefined);
    if (unheld.length > 0)
      problems.push(`order ${orderId}: redeemed by ${listed(unheld)} without holding them`);
  }
}

/**
 * Every transfer is debited at most once and credited at most once; a credit without its debit,
 * or a debit settled as given that its target has no record of, is money made or lost.
 */
function checkTransfers(
  across: AcrossShards,
  problems: string[],
): { inTransitCoupons: number; writtenOffTransferCoupons: number } {
  const { transfersOut, transfersIn, gens } = across;
  let inTransitCoupons = 0;
  let writtenOffTransferCoupons = 0;
  let expectedAdjustment = 0;
  for (const [id, out] of transfersOut) {
    expectedAdjustment -= out.coupons;
    const given = transfersIn.get(id);
    const targetSameGen = gens.get(out.target) === out.targetGen;
    if (given !== undefined) {
      if (given.coupons !== out.coupons)
        problems.push(`transfer ${id}: taken ${out.coupons}, given ${given.coupons}`);
      if (out.state === 'void') problems.push(`transfer ${id}: written off and given`);
    } else if (out.state === 'sent' && targetSameGen) inTransitCoupons += out.coupons;
    else if (out.state === 'done' && targetSameGen)
      problems.push(
        `transfer ${id}: settled as given, but shard ${out.target} has no record of it (rolled back?)`,
      );
    else writtenOffTransferCoupons += out.coupons;
  }
  for (const [id, given] of transfersIn) {
    expectedAdjustment += given.coupons;
    if (!transfersOut.has(id) && gens.get(given.source) === given.sourceGen)
      problems.push(`transfer ${id}: given ${given.coupons} without the same taken`);
  }
  if (across.adjustmentTotal !== expectedAdjustment)
    problems.push(
      `rebalancing adjustments sum to ${across.adjustmentTotal}, the transfer records to ${expectedAdjustment}`,
    );
  return { inTransitCoupons, writtenOffTransferCoupons };
}
