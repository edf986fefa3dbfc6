import { Cluster, type Redis } from 'ioredis';
import type { CampaignCalendar } from '@coupons/campaign';
import { shareOf } from './fingerprint';
import { shardKeys } from './keys';

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
  shards: ShardReconciliation[];
  problems: string[];
}

const MAX_LISTED = 20;

/** Every key of one shard: SCAN on a single node; on a cluster, the keys of the tag's slot. */
async function keysOfShard(
  redis: Redis | Cluster,
  tag: string,
  pattern: string,
): Promise<string[]> {
  const prefix = pattern.slice(0, -1);
  if (!(redis instanceof Cluster)) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', tag));
  const keys = new Set<string>();
  for (const node of redis.nodes('master')) {
    const count = Number(await node.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
    if (count === 0) continue;
    const inSlot = (await node.call('CLUSTER', 'GETKEYSINSLOT', slot, count)) as string[];
    for (const key of inSlot) if (key.startsWith(prefix)) keys.add(key);
  }
  return [...keys];
}

async function readStream(redis: Redis | Cluster, key: string): Promise<Record<string, string>[]> {
  const events: Record<string, string>[] = [];
  let start = '-';
  for (;;) {
    const batch = await redis.xrange(key, start, '+', 'COUNT', 5000);
    for (const [, fields] of batch) {
      const event: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i]!] = fields[i + 1]!;
      events.push(event);
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

/**
 * Proves, shard by shard, that the counters, the coupon records and the audit stream tell one
 * story: issued = records (+ written off at a re-init) = issued events; issued <= released;
 * no user over a limit; redeemed counters = redeemed records = redeemed - reversed events.
 */
export async function reconcile(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  now: number,
): Promise<Reconciliation> {
  const { campaign } = calendar;
  const shards: ShardReconciliation[] = [];
  const transfersOut = new Map<string, number>();
  const transfersIn = new Map<string, number>();
  let adjustmentTotal = 0;
  const spendable = calendar.spendableCapAt(now);
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    const keys = shardKeys(campaign.id, shard);
    const problems: string[] = [];
    const ledger = await redis.hgetall(keys.ledger);
    if (ledger.fingerprint === undefined) {
      problems.push('no ledger');
    }
    const ledgerIssued = Number(ledger.issued ?? 0);
    const writtenOff = Number(ledger.writtenOff ?? 0);
    const adj = Number(ledger.adj ?? 0);
    for (const [field, value] of Object.entries(ledger)) {
      if (field === 'adj' || field.startsWith('adj:')) adjustmentTotal += Number(value);
      else if (field.startsWith('xout:'))
        transfersOut.set(field.slice(5), Number(value.split(':')[1]));
      else if (field.startsWith('xin:'))
        transfersIn.set(field.slice(4), Number(value.split(':')[1]));
    }

    const events = await readStream(redis, keys.audit);
    const issuedCodes = new Set<string>();
    let dayWrittenOff: { day: string; coupons: number } | undefined;
    let netRedemptions = 0;
    for (const event of events) {
      if (event.type === 'issued' && event.code !== undefined) {
        if (issuedCodes.has(event.code))
          problems.push(`code ${event.code} issued twice in the audit stream`);
        issuedCodes.add(event.code);
      } else if (event.type === 'redeemed') netRedemptions += 1;
      else if (event.type === 'reversed') netRedemptions -= 1;
      else if (event.type === 'init' && Number(event.dayWrittenOff ?? 0) > 0)
        dayWrittenOff = { day: event.day ?? '', coupons: Number(event.dayWrittenOff) };
    }

    const recordCodes = new Set<string>();
    const perDay = new Map<string, number>();
    const perUser = new Map<string, number>();
    let redeemedRecords = 0;
    let redeemedFen = 0;
    for (const key of await keysOfShard(redis, keys.tag, keys.couponPattern)) {
      const record = await redis.hgetall(key);
      if (record.code === undefined) continue;
      recordCodes.add(record.code);
      perDay.set(record.trancheDay ?? '', (perDay.get(record.trancheDay ?? '') ?? 0) + 1);
      perUser.set(record.userId ?? '', (perUser.get(record.userId ?? '') ?? 0) + 1);
      if (record.status === 'redeemed') {
        redeemedRecords += 1;
        redeemedFen += Number(record.discountFen ?? 0);
      }
    }

    if (ledgerIssued !== writtenOff + recordCodes.size)
      problems.push(
        `ledger issued ${ledgerIssued} != written off ${writtenOff} + ${recordCodes.size} coupon records`,
      );
    if (issuedCodes.size !== recordCodes.size)
      problems.push(`${issuedCodes.size} issued events != ${recordCodes.size} coupon records`);
    const withoutEvent = [...recordCodes].filter((code) => !issuedCodes.has(code));
    const withoutRecord = [...issuedCodes].filter((code) => !recordCodes.has(code));
    if (withoutEvent.length > 0)
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
      const expected =
        (perDay.get(day) ?? 0) + (dayWrittenOff?.day === day ? dayWrittenOff.coupons : 0);
      if (counted !== expected)
        problems.push(`day ${day}: ledger says ${counted}, records say ${expected}`);
      if (spendable.scope === 'day') {
        const dayCap =
          shareOf(calendar.releasedOnDayAt(day, now), campaign.shards, shard) +
          Number(ledger[`adj:${day}`] ?? 0);
        if (counted > dayCap) problems.push(`day ${day}: issued ${counted} > released ${dayCap}`);
      }
    }

    for (const key of await keysOfShard(redis, keys.tag, keys.userPattern)) {
      const userId = key.slice(`${keys.tag}:user:`.length);
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
    if (ledgerRedeemed !== redeemedRecords || ledgerRedeemed !== netRedemptions)
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
  let inTransitCoupons = 0;
  for (const [id, coupons] of transfersOut) if (!transfersIn.has(id)) inTransitCoupons += coupons;
  for (const [id, coupons] of transfersIn) {
    if (transfersOut.get(id) !== coupons)
      problems.push(`transfer ${id}: given ${coupons} without the same taken`);
  }
  // Rebalancing moves budget, never makes it: what was taken is given or still in transit.
  if (adjustmentTotal + inTransitCoupons !== 0)
    problems.push(
      `rebalancing adjustments sum to ${adjustmentTotal} with ${inTransitCoupons} in transit (must be 0)`,
    );
  const issuedCoupons = shards.reduce((sum, s) => sum + s.ledgerIssued, 0);
  return {
    campaignId: campaign.id,
    asOf: now,
    clean: problems.length === 0,
    issuedCoupons,
    issuedFen: issuedCoupons * campaign.couponValueFen,
    inTransitCoupons,
    shards,
    problems,
  };
}
