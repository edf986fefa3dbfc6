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
import type { LedgerRecord } from './record';
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

  async flush(): Promise<void> {
    if (this.count === 0) return;
    const reply = await this.job.scripts.records(
      [this.ledgerKey, ...this.keys],
      [this.token, String(this.nowMs), ...this.argv],
    );
    expectOk(reply, this.job.shard, 'records');
    this.keys = [];
    this.argv = [];
    this.count = 0;
  }
}

interface CouponPageRow {
  code: string;
  user_id: string;
  value_fen: string;
  issued_at: string;
  expires_at: string;
  tranche_day: string;
  status: string;
  order_id: string | null;
  discount_fen: string | null;
  redeemed_at: string | null;
  reversals: Record<string, string>;
  idem: string | null;
  body_hash: string | null;
  keep_until: string | null;
  issued_stream_ms: string;
  issued_stream_seq: string;
}

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
  let cursor = epoch;
  for (;;) {
    const { rows } = await job.record.query<CouponPageRow>(
      `SELECT code, user_id, value_fen, issued_at, expires_at, tranche_day, status, order_id,
         discount_fen, redeemed_at, reversals, idem, body_hash, keep_until, issued_stream_ms,
         issued_stream_seq
       FROM coupons
       WHERE campaign_id = $1 AND shard = $2
         AND (issued_stream_ms, issued_stream_seq) > ($3::bigint, $4::bigint)
       ORDER BY issued_stream_ms, issued_stream_seq LIMIT $5`,
      [job.calendar.campaign.id, job.shard, cursor.ms, cursor.seq, job.batchSize],
    );
    for (const c of rows) {
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
      await batch.add('hash', keys.coupon(c.code), keepUntil, String(fields.length / 2), ...fields);
      if (c.idem !== null && c.body_hash !== null && keepUntil !== '' && Number(keepUntil) > nowMs)
        await batch.add('string', keys.idempotency(c.idem), keepUntil, `${c.code}\n${c.body_hash}`);
      written.coupons += 1;
    }
    const last = rows[rows.length - 1];
    if (last === undefined) break;
    cursor = { ms: last.issued_stream_ms, seq: last.issued_stream_seq };
  }
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
  let cursor = '';
  for (;;) {
    const { rows } = await job.record.query<{
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
    for (const user of rows) {
      const fields = ['total', user.total, ...Object.entries(user.days).flat()];
      await batch.add(
        'hash',
        keys.user(user.user_id),
        user.keep_until ?? '',
        String(fields.length / 2),
        ...fields,
      );
    }
    const last = rows[rows.length - 1];
    if (last === undefined) break;
    cursor = last.user_id;
  }
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
  let cursor = '';
  for (;;) {
    const { rows } = await job.record.query<{
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
    for (const order of rows) {
      if (shardOfUser(order.order_id, campaign.shards) !== job.shard) continue;
      const fields = order.codes.flatMap((code) => [code, '1']);
      await batch.add(
        'hash',
        keys.order(order.order_id),
        order.keep_until ?? '',
        String(fields.length / 2),
        ...fields,
      );
    }
    const last = rows[rows.length - 1];
    if (last === undefined) break;
    cursor = last.order_id;
  }
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
  let cursor = { ms: epoch.ms, seq: epoch.seq, inclusive: true };
  if (start !== undefined && compareStreamIds(redisLast!, `${epoch.ms}-${epoch.seq}`) >= 0)
    cursor = { ms: start.ms, seq: start.seq, inclusive: false };
  for (;;) {
    const { rows } = await job.record.query<{
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
    for (const event of rows) {
      // The type first, as every script writes it (jsonb does not keep the fields' order).
      const { type, ...rest } = event.fields;
      const fields = [
        ...(type === undefined ? [] : ['type', type]),
        ...Object.entries(rest).flat(),
      ];
      await batch.add('event', keys.audit, event.stream_id, String(fields.length / 2), ...fields);
      written.events += 1;
    }
    const last = rows[rows.length - 1];
    if (last === undefined) break;
    cursor = { ms: last.stream_ms, seq: last.stream_seq, inclusive: false };
  }
  await batch.flush();
}
