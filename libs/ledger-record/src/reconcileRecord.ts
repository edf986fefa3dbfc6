import type { Cluster, Redis } from 'ioredis';
import { keysOfShard, shardKeys, storedCouponOf } from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import { compareStreamIds, type StreamEvent } from './events';
import type { CouponRow as RecordedCouponRow, LedgerRecord } from './record';
import { recordedLedger } from './recordedLedger';
import { readAuditEvents } from './streams';

export interface RecordShardComparison {
  shard: number;
  /** Events in the Redis stream the record does not hold yet, after all it holds (recorder lag). */
  unrecordedEvents: number;
  problems: string[];
}

/**
 * Redis, its audit streams and the record, compared. `clean` is false for any difference;
 * lag (events the recorder has not read yet) is not a difference, and is reported apart.
 */
export interface RecordReconciliation {
  campaignId: string;
  clean: boolean;
  /** Shards whose newest events are not recorded yet, and how many. */
  lagging: { shard: number; events: number; firstId: string }[];
  shards: RecordShardComparison[];
  problems: string[];
}

interface PositionRow {
  epoch_stream_ms: string | null;
  epoch_stream_seq: string | null;
  init_at: string | null;
  last_stream_id: string | null;
  ledger_events: string;
  rolled_back_reason: string | null;
}

/** What the comparison reads of a recorded coupon. */
type CouponRow = Pick<
  RecordedCouponRow,
  'code' | 'user_id' | 'value_fen' | 'status' | 'order_id' | 'discount_fen'
>;

const MAX_LISTED = 20;

/** "12 coupons (30000 fen)": `fen` when given, else coupons at the campaign's value. */
function money(coupons: bigint, valueFen: bigint, fen = coupons * valueFen): string {
  return `${coupons} coupon${coupons === 1n || coupons === -1n ? '' : 's'} (${fen} fen)`;
}

function sameFields(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * Compares, shard by shard: the Redis audit stream with the recorded events (each event in both,
 * with the same fields; lag at the tail is reported as lag, a hole or an event only in the record
 * as a problem); and, where the record has caught up with the stream, the Redis ledger counters
 * with the ones the record gives (issued, written off, per day, redeemed, redeemed fen,
 * rebalancing adjustments and transfer records) and every coupon record with the recorded coupon.
 * Every difference says how many coupons and how many fen. Money is compared as bigint.
 */
export async function reconcileWithRecord(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  record: LedgerRecord,
): Promise<RecordReconciliation> {
  const { campaign } = calendar;
  const valueFen = BigInt(campaign.couponValueFen);
  const shards: RecordShardComparison[] = [];
  const lagging: RecordReconciliation['lagging'] = [];
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    const problems: string[] = [];
    const keys = shardKeys(campaign.id, shard);
    const { rows } = await record.query<PositionRow>(
      `SELECT epoch_stream_ms, epoch_stream_seq, init_at, last_stream_id, ledger_events,
         rolled_back_reason
       FROM shard_positions WHERE campaign_id = $1 AND shard = $2`,
      [campaign.id, shard],
    );
    const position = rows[0];
    if (position !== undefined && position.rolled_back_reason !== null)
      problems.push(`the record marks the shard rolled back: ${position.rolled_back_reason}`);

    const unrecorded = await compareEvents(
      redis,
      record,
      campaign.id,
      shard,
      position?.last_stream_id ?? null,
      problems,
    );
    if (unrecorded.length > 0)
      lagging.push({ shard, events: unrecorded.length, firstId: unrecorded[0]!.streamId });

    const ledger = await redis.hgetall(keys.ledger);
    const caughtUp =
      unrecorded.length === 0 &&
      ledger.fingerprint !== undefined &&
      position !== undefined &&
      position.epoch_stream_ms !== null &&
      position.epoch_stream_seq !== null &&
      position.init_at !== null;
    if (ledger.fingerprint === undefined && position !== undefined)
      problems.push(
        'no ledger in Redis, and the record holds the shard: rebuild it from the record',
      );
    if (caughtUp) {
      const epoch = { ms: position.epoch_stream_ms!, seq: position.epoch_stream_seq! };
      const expected = await recordedLedger(record, calendar, shard, epoch, position.init_at!);
      problems.push(...compareLedger(ledger, expected.fields, valueFen));
      if (ledger.lastEventId !== position.last_stream_id)
        problems.push(
          `the ledger's last event is ${ledger.lastEventId ?? 'none'}, the record's ${position.last_stream_id ?? 'none'}`,
        );
      if (ledger.events !== position.ledger_events)
        problems.push(
          `the ledger counts ${ledger.events ?? 0} events, the record ${position.ledger_events}`,
        );
      problems.push(...(await compareCoupons(redis, record, campaign.id, shard, epoch, valueFen)));
    }
    shards.push({ shard, unrecordedEvents: unrecorded.length, problems });
  }
  const problems = shards.flatMap((s) => s.problems.map((p) => `shard ${s.shard}: ${p}`));
  return { campaignId: campaign.id, clean: problems.length === 0, lagging, shards, problems };
}

/**
 * The shard's stream against the recorded events, from the stream's first (older ones may be
 * trimmed): holes, differences and events only in the record are problems; returns the events
 * not recorded yet (the recorder's lag).
 */
async function compareEvents(
  redis: Redis | Cluster,
  record: LedgerRecord,
  campaignId: string,
  shard: number,
  recordLast: string | null,
  problems: string[],
): Promise<StreamEvent[]> {
  const inRedis = await readAuditEvents(redis, campaignId, shard);
  const first = inRedis[0]?.streamId;
  const recorded = new Map<string, Record<string, string>>();
  if (first !== undefined) {
    const [ms, seq] = first.split('-');
    const events = await record.query<{ stream_id: string; fields: Record<string, string> }>(
      `SELECT stream_id, fields FROM ledger_events
       WHERE campaign_id = $1 AND shard = $2 AND (stream_ms, stream_seq) >= ($3::bigint, $4::bigint)
       ORDER BY stream_ms, stream_seq`,
      [campaignId, shard, ms, seq],
    );
    for (const e of events.rows) recorded.set(e.stream_id, e.fields);
  }
  const unrecorded: StreamEvent[] = [];
  const holes: string[] = [];
  const changed: string[] = [];
  for (const event of inRedis) {
    const fields = recorded.get(event.streamId);
    if (fields === undefined) {
      if (recordLast !== null && compareStreamIds(event.streamId, recordLast) < 0)
        holes.push(event.streamId);
      else unrecorded.push(event);
    } else if (!sameFields(fields, event.fields)) changed.push(event.streamId);
    recorded.delete(event.streamId);
  }
  if (holes.length > 0)
    problems.push(
      `${holes.length} event(s) in Redis are not in the record, though it holds later ones (skipped): ${holes.slice(0, MAX_LISTED).join(', ')}`,
    );
  if (changed.length > 0)
    problems.push(
      `${changed.length} event(s) differ between Redis and the record: ${changed.slice(0, MAX_LISTED).join(', ')}`,
    );
  if (recorded.size > 0)
    problems.push(
      `${recorded.size} recorded event(s) are not in Redis (Redis went back: rebuild the shard from the record): ${[...recorded.keys()].slice(0, MAX_LISTED).join(', ')}`,
    );
  return unrecorded;
}

/** The counters of the ledger hash against the record's, each difference in coupons and fen. */
function compareLedger(
  ledger: Record<string, string>,
  expectedPairs: readonly string[],
  valueFen: bigint,
): string[] {
  const expected = new Map<string, string>();
  for (let i = 0; i + 1 < expectedPairs.length; i += 2)
    expected.set(expectedPairs[i]!, expectedPairs[i + 1]!);
  const problems: string[] = [];
  const counted = (field: string) =>
    field === 'issued' ||
    field === 'writtenOff' ||
    field === 'redeemed' ||
    field.startsWith('day:') ||
    field === 'adj' ||
    field.startsWith('adj:');
  const fields = new Set([...expected.keys(), ...Object.keys(ledger)]);
  for (const field of [...fields].sort()) {
    const inRedis = ledger[field];
    const inRecord = expected.get(field);
    if (counted(field)) {
      const r = BigInt(inRedis ?? 0);
      const p = BigInt(inRecord ?? 0);
      if (r !== p)
        problems.push(
          `${field}: Redis ${money(r, valueFen)}, record ${money(p, valueFen)}: differ by ${money(r - p, valueFen)}`,
        );
    } else if (field === 'redeemedFen') {
      const r = BigInt(inRedis ?? 0);
      const p = BigInt(inRecord ?? 0);
      if (r !== p)
        problems.push(`redeemedFen: Redis ${r} fen, record ${p} fen: differ by ${r - p} fen`);
    } else if (field.startsWith('xout:') || field.startsWith('xin:')) {
      // A transfer the target was credited with may still read "sent" until the sweep settles
      // it; the record says "done". Anything else must match.
      const settledLater =
        inRedis?.startsWith('sent:') === true &&
        inRecord?.startsWith('done:') === true &&
        inRedis.slice(5) === inRecord.slice(5);
      if (inRedis !== inRecord && !settledLater) {
        const parts = (inRecord ?? inRedis ?? '').split(':');
        const coupons = BigInt(parts[field.startsWith('xout:') ? 2 : 1] ?? 0);
        problems.push(
          `transfer ${field}: Redis ${inRedis ?? 'none'}, record ${inRecord ?? 'none'} (${money(coupons, valueFen)})`,
        );
      }
    } else if (field === 'fingerprint' || field === 'shardPoolCoupons') {
      if (inRedis !== inRecord)
        problems.push(`${field}: Redis ${inRedis ?? 'none'}, record gives ${inRecord ?? 'none'}`);
    }
  }
  return problems;
}

/** Every coupon record of the current ledger in Redis against the recorded coupon. */
async function compareCoupons(
  redis: Redis | Cluster,
  record: LedgerRecord,
  campaignId: string,
  shard: number,
  epoch: { ms: string; seq: string },
  valueFen: bigint,
): Promise<string[]> {
  const keys = shardKeys(campaignId, shard);
  const { rows } = await record.query<CouponRow>(
    `SELECT code, user_id, value_fen, status, order_id, discount_fen FROM coupons
     WHERE campaign_id = $1 AND shard = $2
       AND (issued_stream_ms, issued_stream_seq) > ($3::bigint, $4::bigint)`,
    [campaignId, shard, epoch.ms, epoch.seq],
  );
  const recorded = new Map(rows.map((row) => [row.code, row]));
  const onlyRedis: string[] = [];
  const differ: string[] = [];
  let onlyRedisFen = 0n;
  for (const key of await keysOfShard(redis, keys.tag, keys.couponPattern)) {
    const hash = await redis.hgetall(key);
    if (Object.keys(hash).length === 0) continue;
    const code = key.slice(keys.coupon('').length);
    const stored = storedCouponOf(hash);
    const coupon = {
      code,
      userId: stored.userId,
      valueFen: String(valueFen),
      status: stored.redemption === undefined ? 'issued' : 'redeemed',
      orderId: stored.redemption?.orderId,
      discountFen: stored.redemption?.discountFen,
    };
    const row = recorded.get(coupon.code);
    recorded.delete(coupon.code);
    if (row === undefined) {
      onlyRedis.push(coupon.code);
      onlyRedisFen += valueFen;
      continue;
    }
    const redisDiscount = BigInt(coupon.discountFen ?? 0);
    const recordDiscount = BigInt(row.discount_fen ?? 0);
    if (
      coupon.userId !== row.user_id ||
      coupon.valueFen !== row.value_fen ||
      coupon.status !== row.status ||
      (coupon.orderId ?? null) !== row.order_id ||
      redisDiscount !== recordDiscount
    )
      differ.push(
        `coupon ${coupon.code}: Redis ${coupon.status} ${coupon.orderId ?? ''} discount ${redisDiscount} fen, record ${row.status} ${row.order_id ?? ''} discount ${recordDiscount} fen: differ by ${redisDiscount - recordDiscount} fen`,
      );
  }
  const problems: string[] = [];
  if (onlyRedis.length > 0)
    problems.push(
      `${money(BigInt(onlyRedis.length), valueFen, onlyRedisFen)} in Redis only: ${onlyRedis.slice(0, MAX_LISTED).join(', ')}`,
    );
  if (recorded.size > 0) {
    const fen = [...recorded.values()].reduce((sum, row) => sum + BigInt(row.value_fen), 0n);
    problems.push(
      `${money(BigInt(recorded.size), valueFen, fen)} in the record only: ${[...recorded.keys()].slice(0, MAX_LISTED).join(', ')}`,
    );
  }
  problems.push(...differ.slice(0, MAX_LISTED));
  if (differ.length > MAX_LISTED)
    problems.push(`and ${differ.length - MAX_LISTED} more coupons differ`);
  return problems;
}
