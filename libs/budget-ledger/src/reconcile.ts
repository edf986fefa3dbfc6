import type { Cluster, Redis } from 'ioredis';
import type { CampaignCalendar } from '@coupons/campaign';
import { storedCouponOf } from './couponRecord';
import { shardKeys } from './keys';
import { shardOfUser } from './shard';
import { keysOfShard } from './keyspace';
import { shardReleaseOf, shareOf } from './shares';

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

const MAX_LISTED = 20;

interface AuditEvent {
  id: string;
  fields: Record<string, string>;
}

async function readStream(redis: Redis | Cluster, key: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let start = '-';
  for (;;) {
    const batch = await redis.xrange(key, start, '+', 'COUNT', 5000);
    for (const [id, flat] of batch) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      events.push({ id, fields });
    }
    if (batch.length < 5000) return events;
    start = `(${batch[batch.length - 1]![0]}`;
  }
}

function listed(values: Iterable<string>): string {
  const all = [...values];
  return (
    all.slice(0, MAX_LISTED).join(', ') +
    (all.length > MAX_LISTED ? ` and ${all.length - MAX_LISTED} more` : '')
  );
}

interface TransferOut {
  source: number;
  state: string;
  target: number;
  coupons: number;
  targetGen: string;
}
interface TransferIn {
  target: number;
  source: number;
  coupons: number;
  sourceGen: string;
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
  const shards: ShardReconciliation[] = [];
  const transfersOut = new Map<string, TransferOut>();
  const transfersIn = new Map<string, TransferIn>();
  const gens = new Map<number, string>();
  let adjustmentTotal = 0;
  const redeemedByOrder = new Map<string, string[]>();
  const spendable = calendar.spendableCapAt(now);
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    const keys = shardKeys(campaign.id, shard);
    const problems: string[] = [];
    const ledger = await redis.hgetall(keys.ledger);
    if (ledger.fingerprint === undefined) problems.push('no ledger');
    if (ledger.rolledBack !== undefined)
      problems.push(
        `rolled back (${ledger.rolledBack}); refused until npm run ledger:init -- --after-loss`,
      );
    gens.set(shard, ledger.gen ?? '');
    const ledgerIssued = Number(ledger.issued ?? 0);
    const writtenOff = Number(ledger.writtenOff ?? 0);
    const adj = Number(ledger.adj ?? 0);
    for (const [field, value] of Object.entries(ledger)) {
      if (field === 'adj' || field.startsWith('adj:')) adjustmentTotal += Number(value);
      else if (field.startsWith('xout:')) {
        const [state = '', target = '', coupons = '', targetGen = ''] = value.split(':');
        transfersOut.set(field.slice(5), {
          source: shard,
          state,
          target: Number(target),
          coupons: Number(coupons),
          targetGen,
        });
      } else if (field.startsWith('xin:')) {
        const [source = '', coupons = '', sourceGen = ''] = value.split(':');
        transfersIn.set(field.slice(4), {
          target: shard,
          source: Number(source),
          coupons: Number(coupons),
          sourceGen,
        });
      }
    }

    const events = await readStream(redis, keys.audit);
    const issuedCodes = new Set<string>();
    const dayWrittenOff = new Map<string, number>();
    let netRedemptions = 0;
    let generationStart: number | undefined;
    events.forEach(({ fields: event }, index) => {
      if (event.type === 'issued' && event.code !== undefined) {
        if (issuedCodes.has(event.code))
          problems.push(`code ${event.code} issued twice in the audit stream`);
        issuedCodes.add(event.code);
      } else if (event.type === 'redeemed') netRedemptions += 1;
      else if (event.type === 'reversed') netRedemptions -= 1;
      else if (event.type === 'init' || event.type === 'restore') {
        const day = event.day ?? '';
        dayWrittenOff.set(day, (dayWrittenOff.get(day) ?? 0) + Number(event.dayWrittenOff ?? 0));
        if (event.gen === ledger.gen) generationStart = index;
      }
    });

    // The ledger and its stream must be from the same moment: a restore of one without the
    // other, or a stream entry lost, shows here.
    const last = events[events.length - 1];
    const trimmed = ledger.trimmedTo !== undefined;
    if (ledger.fingerprint !== undefined) {
      // Trimmed to nothing: the last event was recorded and trimmed, it cannot be compared.
      if (trimmed && last === undefined) {
        // Nothing left to compare the ledger with.
      } else if (last === undefined || ledger.lastEventId !== last.id)
        problems.push(
          `the ledger's last event is ${ledger.lastEventId ?? 'none'} but the stream ends at ${last?.id ?? 'nothing'}`,
        );
      if (generationStart === undefined) {
        if (!trimmed)
          problems.push(
            `the stream holds no start of the ledger's generation ${ledger.gen ?? '?'}`,
          );
      } else {
        const start = events[generationStart]!;
        const counted = Number(start.fields.events ?? 0) + (events.length - 1 - generationStart);
        if (Number(ledger.events ?? 0) !== counted)
          problems.push(`the ledger counts ${ledger.events ?? 0} events, the stream ${counted}`);
      }
    }

    const recordCodes = new Set<string>();
    const perDay = new Map<string, number>();
    const perUser = new Map<string, number>();
    let redeemedRecords = 0;
    let redeemedFen = 0;
    for (const key of await keysOfShard(redis, keys.tag, keys.couponPattern)) {
      const hash = await redis.hgetall(key);
      if (Object.keys(hash).length === 0) continue;
      const code = key.slice(keys.coupon('').length);
      const record = storedCouponOf(hash);
      const day = calendar.dayAt(record.issuedAt)?.day ?? '-';
      recordCodes.add(code);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
      perUser.set(record.userId, (perUser.get(record.userId) ?? 0) + 1);
      if (record.redemption !== undefined) {
        redeemedRecords += 1;
        redeemedFen += record.redemption.discountFen;
        const codes = redeemedByOrder.get(record.redemption.orderId) ?? [];
        redeemedByOrder.set(record.redemption.orderId, [...codes, code]);
      }
    }

    if (ledgerIssued !== writtenOff + recordCodes.size)
      problems.push(
        `ledger issued ${ledgerIssued} != written off ${writtenOff} + ${recordCodes.size} coupon records`,
      );
    if (issuedCodes.size !== recordCodes.size && !trimmed)
      problems.push(`${issuedCodes.size} issued events != ${recordCodes.size} coupon records`);
    const withoutEvent = [...recordCodes].filter((code) => !issuedCodes.has(code));
    const withoutRecord = [...issuedCodes].filter((code) => !recordCodes.has(code));
    if (withoutEvent.length > 0 && !trimmed)
      problems.push(`records without an issued event: ${listed(withoutEvent)}`);
    if (withoutRecord.length > 0)
      problems.push(`issued events without a record: ${listed(withoutRecord)}`);

    const poolShare = Number(
      ledger.shardPoolCoupons ?? shareOf(calendar.poolCoupons, campaign.shards, shard),
    );
    if (ledgerIssued > poolShare)
      problems.push(`issued ${ledgerIssued} > the shard's pool share ${poolShare}`);
    const releasedCap = shareOf(calendar.releasedCouponsAt(now), campaign.shards, shard) + adj;
    if (spendable.scope === 'campaign' && ledgerIssued > releasedCap)
      problems.push(`issued ${ledgerIssued} > released ${releasedCap}`);
    for (const [field, value] of Object.entries(ledger)) {
      if (!field.startsWith('day:')) continue;
      const day = field.slice(4);
      const counted = Number(value);
      const expected = (perDay.get(day) ?? 0) + (dayWrittenOff.get(day) ?? 0);
      // A trimmed stream may have lost the init or restore event that wrote part of the day off.
      const writeOffTrimmed = trimmed && writtenOff > 0;
      if (writeOffTrimmed ? counted < expected : counted !== expected)
        problems.push(`day ${day}: ledger says ${counted}, records say ${expected}`);
      const tranche = calendar.days.find((d) => d.day === day);
      if (spendable.scope === 'day' && tranche !== undefined) {
        const dayCap =
          shardReleaseOf(
            {
              scope: 'day',
              releasedCoupons: calendar.releasedOnDayAt(day, now),
              releasedBeforeDayCoupons: calendar.spendableCapAt(tranche.startMs)
                .releasedBeforeDayCoupons,
            },
            campaign.shards,
            shard,
          ) + Number(ledger[`adj:${day}`] ?? 0);
        if (counted > dayCap) problems.push(`day ${day}: issued ${counted} > released ${dayCap}`);
      }
    }

    for (const key of await keysOfShard(redis, keys.tag, keys.userPattern)) {
      const userId = key.slice(keys.user('').length);
      const counters = await redis.hgetall(key);
      const total = Number(counters.total ?? 0);
      if (total > campaign.perUser.total)
        problems.push(`user ${userId}: ${total} coupons > limit ${campaign.perUser.total}`);
      if (total !== (perUser.get(userId) ?? 0) && writtenOff === 0)
        problems.push(`user ${userId}: counter ${total} != ${perUser.get(userId) ?? 0} records`);
      for (const [field, value] of Object.entries(counters)) {
        if (field.startsWith('d:') && Number(value) > campaign.perUser.daily)
          problems.push(
            `user ${userId}: ${value} coupons on ${field.slice(2)} > daily limit ${campaign.perUser.daily}`,
          );
      }
    }

    const ledgerRedeemed = Number(ledger.redeemed ?? 0);
    if (ledgerRedeemed !== redeemedRecords || (ledgerRedeemed !== netRedemptions && !trimmed))
      problems.push(
        `redeemed: ledger ${ledgerRedeemed}, records ${redeemedRecords}, events ${netRedemptions} (redeemed - reversed)`,
      );
    if (Number(ledger.redeemedFen ?? 0) !== redeemedFen)
      problems.push(`redeemedFen: ledger ${ledger.redeemedFen ?? 0}, records ${redeemedFen}`);

    shards.push({
      shard,
      ledgerIssued,
      writtenOff,
      couponRecords: recordCodes.size,
      issuedEvents: issuedCodes.size,
      releasedCap,
      redeemed: ledgerRedeemed,
      problems,
    });
  }
  const problems = shards.flatMap((s) =>
    s.problems.map((problem) => `shard ${s.shard}: ${problem}`),
  );

  // One coupon per order (couponsPerOrder), across shards: every redeemed coupon's order holds its
  // code on the order's shard, and no order carries more than the limit.
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

  // Every transfer is debited at most once and credited at most once; a credit without its
  // debit, or a debit settled as given that its target has no record of, is money made or lost.
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
  if (adjustmentTotal !== expectedAdjustment)
    problems.push(
      `rebalancing adjustments sum to ${adjustmentTotal}, the transfer records to ${expectedAdjustment}`,
    );
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
