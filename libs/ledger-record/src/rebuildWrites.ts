import type { Cluster, Redis } from 'ioredis';
import {
  codeOf,
  LedgerCode,
  shardOfUser,
  type LedgerClock,
  type RebuildScripts,
  type ShardKeys,
} from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import { couponHashFields } from './couponHash';
import { compareStreamIds, parseStreamId } from './events';
import { RecordFault } from './fault';
import type { CouponRow, LedgerRecord } from './record';
import type { Epoch } from './recordedLedger';

/** One shard's rebuild: where it reads from, where it writes and how. */
export interface ShardJob {
  redis: Redis | Cluster;
  scripts: RebuildScripts;
  calendar: CampaignCalendar;
  clock: LedgerClock;
  record: LedgerRecord;
  shard: number;
  through: string | undefined;
  afterLoss: boolean;
  batchSize: number;
  fenced: boolean;
}

export function expectOk(reply: (string | number)[], shard: number, step: string): void {
  if (codeOf(reply) !== LedgerCode.Ok)
    throw new RecordFault(
      'refused',
      `rebuild of shard ${shard}, ${step}: ${LedgerCode[codeOf(reply)]} (another rebuild took the shard over?)`,
    );
}

/** Sends `ops` (each naming its key) as batches of the records script. */
class Batch {
  private keys: string[] = [];
  private argv: string[] = [];
  private count = 0;

  constructor(
    private readonly job: ShardJob,
    private readonly ledgerKey: string,
    private readonly token: string,
    private readonly nowMs: number,
  ) {}

  async add(op: string, key: string, ...args: string[]): Promise<void> {
    this.keys.push(key);
    this.argv.push(op, String(this.keys.length + 1), ...args);
    this.count += 1;
    if (this.count >= this.job.batchSize) await this.flush();
  }

  /** An op whose arguments are `first`, then `fields` (name, value, ...) counted in pairs. */
  addPairs(op: string, key: string, first: string, fields: string[]): Promise<void> {
    return this.add(op, key, first, String(fields.length / 2), ...fields);
  }

  async flush(): Promise<void> {
    if (this.count === 0) return;
    const reply = await this.job.scripts.rebuildRecords(
      [this.ledgerKey, ...this.keys],
      [this.token, String(this.nowMs), ...this.argv],
    );
    expectOk(reply, this.job.shard, 'records');
    this.keys = [];
    this.argv = [];
    this.count = 0;
  }
}

/**
 * Every row of a query paged by a key: `page(cursor)` reads up to a batch of the rows after
 * `cursor` (none when all are read), `after(row)` is the cursor past a row.
 */
async function eachRow<Row, Cursor>(
  first: Cursor,
  page: (cursor: Cursor) => Promise<{ rows: Row[] }>,
  after: (row: Row) => Cursor,
  each: (row: Row) => Promise<void>,
): Promise<void> {
  let cursor = first;
  for (;;) {
    const { rows } = await page(cursor);
    for (const row of rows) await each(row);
    const last = rows[rows.length - 1];
    if (last === undefined) return;
    cursor = after(last);
  }
}

/**
 * What the rebuild reads of a coupon: all but the campaign, the shard and the stream id (it pages
 * by the id's two numbers).
 */
type CouponPageRow = Omit<CouponRow, 'campaign_id' | 'shard' | 'issued_stream_id'>;

/**
 * The coupon records of the current ledger (issued after its init), as issueCoupon-5.lua,
 * redeemCoupon-3.lua and reverseRedemption-3.lua left them, and the idempotency keys whose
 * keep-until is still ahead ("<code>\n<bodyHash>", expiring at keep-until).
 */
export async function writeCoupons(
  job: ShardJob,
  keys: ShardKeys,
  token: string,
  nowMs: number,
  epoch: Epoch,
  written: { coupons: number },
): Promise<void> {
  const batch = new Batch(job, keys.ledger, token, nowMs);
  const page = (cursor: Epoch) =>
    job.record.query<CouponPageRow>(
      `SELECT code, user_id, value_fen, issued_at, expires_at, tranche_day, status, order_id,
         discount_fen, redeemed_at, reversals, idem, body_hash, keep_until, issued_stream_ms,
         issued_stream_seq
       FROM coupons
       WHERE campaign_id = $1 AND shard = $2
         AND (issued_stream_ms, issued_stream_seq) > ($3::bigint, $4::bigint)
       ORDER BY issued_stream_ms, issued_stream_seq LIMIT $5`,
      [job.calendar.campaign.id, job.shard, cursor.ms, cursor.seq, job.batchSize],
    );
  const after = (c: CouponPageRow): Epoch => ({ ms: c.issued_stream_ms, seq: c.issued_stream_seq });
  await eachRow(epoch, page, after, async (c) => {
    const fields = couponHashFields({
      code: c.code,
      userId: c.user_id,
      valueFen: c.value_fen,
      issuedAt: c.issued_at,
      expiresAt: c.expires_at,
      trancheDay: c.tranche_day,
      status: c.status,
      orderId: c.order_id,
      discountFen: c.discount_fen,
      redeemedAt: c.redeemed_at,
      reversals: c.reversals,
    });
    const keepUntil = c.keep_until ?? '';
    await batch.addPairs('hash', keys.coupon(c.code), keepUntil, fields);
    if (c.idem !== null && c.body_hash !== null && keepUntil !== '' && Number(keepUntil) > nowMs)
      await batch.add('string', keys.idempotency(c.idem), keepUntil, `${c.code}\n${c.body_hash}`);
    written.coupons += 1;
  });
  await batch.flush();
}

/** Every user's claim counters of the current ledger: total and d:<day>, as issueCoupon-5 counts. */
export async function writeUsers(
  job: ShardJob,
  keys: ShardKeys,
  token: string,
  nowMs: number,
  epoch: Epoch,
): Promise<void> {
  const batch = new Batch(job, keys.ledger, token, nowMs);
  const page = (cursor: string) =>
    job.record.query<{
      user_id: string;
      days: Record<string, string>;
      total: string;
      keep_until: string | null;
    }>(
      `SELECT user_id, jsonb_object_agg('d:' || tranche_day, claims::text) AS days,
         sum(claims)::text AS total, max(keep_until)::text AS keep_until
       FROM (SELECT user_id, tranche_day, count(*) AS claims, max(keep_until) AS keep_until
             FROM coupons
             WHERE campaign_id = $1 AND shard = $2
               AND (issued_stream_ms, issued_stream_seq) > ($3::bigint, $4::bigint)
               AND user_id > $5
             GROUP BY user_id, tranche_day) AS per_day
       GROUP BY user_id ORDER BY user_id LIMIT $6`,
      [job.calendar.campaign.id, job.shard, epoch.ms, epoch.seq, cursor, job.batchSize],
    );
  await eachRow(
    '',
    page,
    (user) => user.user_id,
    async (user) => {
      const fields = ['total', user.total, ...Object.entries(user.days).flat()];
      await batch.addPairs('hash', keys.user(user.user_id), user.keep_until ?? '', fields);
    },
  );
  await batch.flush();
}

/**
 * The order reservations of this shard (reserveOrder-3.lua): every order whose orderId hashes to
 * this shard holds the codes redeemed for it, whichever shard the coupon is on. A hold that a
 * fault left without a redemption is not in the record and is not rebuilt.
 */
export async function writeOrders(
  job: ShardJob,
  keys: ShardKeys,
  token: string,
  nowMs: number,
): Promise<void> {
  const batch = new Batch(job, keys.ledger, token, nowMs);
  const { campaign } = job.calendar;
  const page = (cursor: string) =>
    job.record.query<{
      order_id: string;
      codes: string[];
      keep_until: string | null;
    }>(
      `SELECT order_id, array_agg(code ORDER BY code) AS codes, max(keep_until)::text AS keep_until
       FROM coupons
       WHERE campaign_id = $1 AND status = 'redeemed' AND order_id IS NOT NULL AND order_id > $2
       GROUP BY order_id ORDER BY order_id LIMIT $3`,
      [campaign.id, cursor, job.batchSize],
    );
  await eachRow(
    '',
    page,
    (order) => order.order_id,
    async (order) => {
      if (shardOfUser(order.order_id, campaign.shards) !== job.shard) return;
      const fields = order.codes.flatMap((code) => [code, '1']);
      await batch.addPairs('hash', keys.order(order.order_id), order.keep_until ?? '', fields);
    },
  );
  await batch.flush();
}

/**
 * The audit stream of the current ledger, from its init: the recorded events Redis does not hold
 * any more, at their own ids (appended after what it still holds, which the record holds too).
 * A consumer group on a lost stream is gone with it; the recorder re-reads and its replays are
 * duplicates.
 */
export async function writeEvents(
  job: ShardJob,
  keys: ShardKeys,
  token: string,
  nowMs: number,
  epoch: Epoch,
  redisLast: string | undefined,
  written: { events: number },
): Promise<void> {
  const batch = new Batch(job, keys.ledger, token, nowMs);
  const start = redisLast === undefined ? undefined : parseStreamId(redisLast);
  let first = { ms: epoch.ms, seq: epoch.seq, inclusive: true };
  if (start !== undefined && compareStreamIds(redisLast!, `${epoch.ms}-${epoch.seq}`) >= 0)
    first = { ms: start.ms, seq: start.seq, inclusive: false };
  const page = (cursor: typeof first) =>
    job.record.query<{
      stream_id: string;
      stream_ms: string;
      stream_seq: string;
      fields: Record<string, string>;
    }>(
      `SELECT stream_id, stream_ms, stream_seq, fields FROM ledger_events
       WHERE campaign_id = $1 AND shard = $2
         AND ((stream_ms, stream_seq) > ($3::bigint, $4::bigint)
              OR ($5 AND stream_ms = $3::bigint AND stream_seq = $4::bigint))
       ORDER BY stream_ms, stream_seq LIMIT $6`,
      [job.calendar.campaign.id, job.shard, cursor.ms, cursor.seq, cursor.inclusive, job.batchSize],
    );
  const after = (event: { stream_ms: string; stream_seq: string }) => ({
    ms: event.stream_ms,
    seq: event.stream_seq,
    inclusive: false,
  });
  await eachRow(first, page, after, async (event) => {
    // The type first, as every script writes it (jsonb does not keep the fields' order).
    const { type, ...rest } = event.fields;
    const fields = [...(type === undefined ? [] : ['type', type]), ...Object.entries(rest).flat()];
    await batch.addPairs('event', keys.audit, event.stream_id, fields);
    written.events += 1;
  });
  await batch.flush();
}
