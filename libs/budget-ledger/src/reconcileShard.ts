import type { Cluster, Redis } from 'ioredis';
import type { CampaignCalendar } from '@coupons/campaign';
import { storedCouponOf } from './storedCoupon';
import { shardKeys } from './keys';
import { keysOfShard } from './keyspace';
import type { ShardReconciliation } from './reconcileLedger';
import { shardReleaseOf, shareOf } from './shares';

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

export function listed(values: Iterable<string>): string {
  const all = [...values];
  return (
    all.slice(0, MAX_LISTED).join(', ') +
    (all.length > MAX_LISTED ? ` and ${all.length - MAX_LISTED} more` : '')
  );
}

export interface TransferOut {
  source: number;
  state: string;
  target: number;
  coupons: number;
  targetGen: string;
}
export interface TransferIn {
  target: number;
  source: number;
  coupons: number;
  sourceGen: string;
}

/** What the shards' checks gather for the checks across shards (transfers, orders). */
export interface AcrossShards {
  transfersOut: Map<string, TransferOut>;
  transfersIn: Map<string, TransferIn>;
  /** Each shard's ledger generation ('' without a ledger). */
  gens: Map<number, string>;
  /** The sum of every shard's rebalancing adjustments (adj and adj:<day>). */
  adjustmentTotal: number;
  /** orderId -> the codes redeemed for it. */
  redeemedByOrder: Map<string, string[]>;
}

type Ledger = Record<string, string>;

/** One shard: its counters against its records, its stream, its limits and its release. */
export async function reconcileShard(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  now: number,
  shard: number,
  across: AcrossShards,
): Promise<ShardReconciliation> {
  const { campaign } = calendar;
  const keys = shardKeys(campaign.id, shard);
  const problems: string[] = [];
  const ledger = await redis.hgetall(keys.ledger);
  if (ledger.fingerprint === undefined) problems.push('no ledger');
  if (ledger.rolledBack !== undefined)
    problems.push(
      `rolled back (${ledger.rolledBack}); refused until npm run ledger:init -- --after-loss`,
    );
  across.gens.set(shard, ledger.gen ?? '');
  const ledgerIssued = Number(ledger.issued ?? 0);
  const writtenOff = Number(ledger.writtenOff ?? 0);
  collectTransfers(ledger, shard, across);

  const events = await readStream(redis, keys.audit);
  const stream = streamFigures(events, ledger, problems);
  const trimmed = ledger.trimmedTo !== undefined;
  checkStreamEnd(ledger, events, stream.generationStart, trimmed, problems);

  const records = await readRecords(redis, calendar, keys, across.redeemedByOrder);
  const recordCodes = records.codes;
  const issuedCodes = stream.issuedCodes;
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

  const releasedCap = checkRelease(calendar, now, shard, ledger, problems);
  checkDays(calendar, now, shard, ledger, records.perDay, stream.dayWrittenOff, problems);
  await checkUsers(redis, calendar, keys, records.perUser, writtenOff, problems);

  const ledgerRedeemed = Number(ledger.redeemed ?? 0);
  if (ledgerRedeemed !== records.redeemed || (ledgerRedeemed !== stream.netRedemptions && !trimmed))
    problems.push(
      `redeemed: ledger ${ledgerRedeemed}, records ${records.redeemed}, events ${stream.netRedemptions} (redeemed - reversed)`,
    );
  if (Number(ledger.redeemedFen ?? 0) !== records.redeemedFen)
    problems.push(`redeemedFen: ledger ${ledger.redeemedFen ?? 0}, records ${records.redeemedFen}`);

  return {
    shard,
    ledgerIssued,
    writtenOff,
    couponRecords: recordCodes.size,
    issuedEvents: issuedCodes.size,
    releasedCap,
    redeemed: ledgerRedeemed,
    problems,
  };
}

/** The shard's rebalancing adjustments and the transfers its ledger took (xout) or gave (xin). */
function collectTransfers(ledger: Ledger, shard: number, across: AcrossShards): void {
  for (const [field, value] of Object.entries(ledger)) {
    if (field === 'adj' || field.startsWith('adj:')) across.adjustmentTotal += Number(value);
    else if (field.startsWith('xout:')) {
      const [state = '', target = '', coupons = '', targetGen = ''] = value.split(':');
      across.transfersOut.set(field.slice(5), {
        source: shard,
        state,
        target: Number(target),
        coupons: Number(coupons),
        targetGen,
      });
    } else if (field.startsWith('xin:')) {
      const [source = '', coupons = '', sourceGen = ''] = value.split(':');
      across.transfersIn.set(field.slice(4), {
        target: shard,
        source: Number(source),
        coupons: Number(coupons),
        sourceGen,
      });
    }
  }
}

/** What the shard's stream says: codes issued (each once), net redemptions, days written off. */
function streamFigures(events: readonly AuditEvent[], ledger: Ledger, problems: string[]) {
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
  return { issuedCodes, dayWrittenOff, netRedemptions, generationStart };
}

/**
 * The ledger and its stream must be from the same moment: a restore of one without the other,
 * or a stream entry lost, shows here.
 */
function checkStreamEnd(
  ledger: Ledger,
  events: readonly AuditEvent[],
  generationStart: number | undefined,
  trimmed: boolean,
  problems: string[],
): void {
  if (ledger.fingerprint === undefined) return;
  const last = events[events.length - 1];
  // Trimmed to nothing: the last event was recorded and trimmed, it cannot be compared.
  if (trimmed && last === undefined) {
    // Nothing left to compare the ledger with.
  } else if (last === undefined || ledger.lastEventId !== last.id)
    problems.push(
      `the ledger's last event is ${ledger.lastEventId ?? 'none'} but the stream ends at ${last?.id ?? 'nothing'}`,
    );
  if (generationStart === undefined) {
    if (!trimmed)
      problems.push(`the stream holds no start of the ledger's generation ${ledger.gen ?? '?'}`);
  } else {
    const start = events[generationStart]!;
    const counted = Number(start.fields.events ?? 0) + (events.length - 1 - generationStart);
    if (Number(ledger.events ?? 0) !== counted)
      problems.push(`the ledger counts ${ledger.events ?? 0} events, the stream ${counted}`);
  }
}

/** The shard's coupon records: codes, per day and per user, redemptions (noted per order). */
async function readRecords(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  keys: ReturnType<typeof shardKeys>,
  redeemedByOrder: Map<string, string[]>,
) {
  const codes = new Set<string>();
  const perDay = new Map<string, number>();
  const perUser = new Map<string, number>();
  let redeemed = 0;
  let redeemedFen = 0;
  for (const key of await keysOfShard(redis, keys.tag, keys.couponPattern)) {
    const hash = await redis.hgetall(key);
    if (Object.keys(hash).length === 0) continue;
    const code = key.slice(keys.coupon('').length);
    const record = storedCouponOf(hash);
    const day = calendar.dayAt(record.issuedAt)?.day ?? '-';
    codes.add(code);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
    perUser.set(record.userId, (perUser.get(record.userId) ?? 0) + 1);
    if (record.redemption !== undefined) {
      redeemed += 1;
      redeemedFen += record.redemption.discountFen;
      const orderCodes = redeemedByOrder.get(record.redemption.orderId) ?? [];
      redeemedByOrder.set(record.redemption.orderId, [...orderCodes, code]);
    }
  }
  return { codes, perDay, perUser, redeemed, redeemedFen };
}

/** Issued within the shard's pool share and (campaign-wide release) its release; returns the latter. */
function checkRelease(
  calendar: CampaignCalendar,
  now: number,
  shard: number,
  ledger: Ledger,
  problems: string[],
): number {
  const { campaign } = calendar;
  const ledgerIssued = Number(ledger.issued ?? 0);
  const poolShare = Number(
    ledger.shardPoolCoupons ?? shareOf(calendar.poolCoupons, campaign.shards, shard),
  );
  if (ledgerIssued > poolShare)
    problems.push(`issued ${ledgerIssued} > the shard's pool share ${poolShare}`);
  const adj = Number(ledger.adj ?? 0);
  const releasedCap = shareOf(calendar.releasedCouponsAt(now), campaign.shards, shard) + adj;
  if (calendar.spendableCapAt(now).scope === 'campaign' && ledgerIssued > releasedCap)
    problems.push(`issued ${ledgerIssued} > released ${releasedCap}`);
  return releasedCap;
}

/** Each day's counter: the records (and write-offs) of that day, within the day's release. */
function checkDays(
  calendar: CampaignCalendar,
  now: number,
  shard: number,
  ledger: Ledger,
  perDay: ReadonlyMap<string, number>,
  dayWrittenOff: ReadonlyMap<string, number>,
  problems: string[],
): void {
  const { campaign } = calendar;
  const spendable = calendar.spendableCapAt(now);
  const trimmed = ledger.trimmedTo !== undefined;
  const writtenOff = Number(ledger.writtenOff ?? 0);
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
}

/** Each user's counters: within the limits, and (nothing written off) their records' count. */
async function checkUsers(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  keys: ReturnType<typeof shardKeys>,
  perUser: ReadonlyMap<string, number>,
  writtenOff: number,
  problems: string[],
): Promise<void> {
  const { perUser: limits } = calendar.campaign;
  for (const key of await keysOfShard(redis, keys.tag, keys.userPattern)) {
    const userId = key.slice(keys.user('').length);
    const counters = await redis.hgetall(key);
    const total = Number(counters.total ?? 0);
    if (total > limits.total)
      problems.push(`user ${userId}: ${total} coupons > limit ${limits.total}`);
    if (total !== (perUser.get(userId) ?? 0) && writtenOff === 0)
      problems.push(`user ${userId}: counter ${total} != ${perUser.get(userId) ?? 0} records`);
    for (const [field, value] of Object.entries(counters)) {
      if (field.startsWith('d:') && Number(value) > limits.daily)
        problems.push(
          `user ${userId}: ${value} coupons on ${field.slice(2)} > daily limit ${limits.daily}`,
        );
    }
  }
}
