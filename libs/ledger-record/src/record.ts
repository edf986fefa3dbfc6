import { Pool, type PoolClient } from 'pg';
import {
  compareStreamIds,
  EVENT_TYPES,
  integerField,
  invalid,
  parseStreamId,
  textField,
  type EventType,
  type StreamEvent,
} from './events';
import { RecordFault } from './fault';

/**
 * A coupon as the record holds it. Money is bigint (fen, exact whatever the amount); times are
 * epoch ms as number (safe: below 2^53 until the year 287396).
 */
export interface RecordedCoupon {
  campaignId: string;
  code: string;
  shard: number;
  userId: string;
  valueFen: bigint;
  issuedAt: number;
  expiresAt: number;
  trancheDay: string;
  status: 'issued' | 'redeemed';
  orderId: string | null;
  discountFen: bigint | null;
  redeemedAt: number | null;
  /** orderId -> reversedAt (ms): those orders never redeem this coupon again. */
  reversals: Record<string, string>;
  /** The idempotency scope hash of the claim that issued it, its body hash, and keep-until. */
  idem: string | null;
  bodyHash: string | null;
  keepUntil: number | null;
  issuedStreamId: string;
}

export interface RecordPosition {
  /** The ledger generation of the last init or restore recorded ('' when none is recorded). */
  gen: string;
  /** The last recorded stream id of the shard. */
  streamId: string;
  /** The ledger's event count (its field `events`) as of that event. */
  events: number;
}

const nullableMs = (value: string | null): number | null => (value === null ? null : Number(value));

/**
 * The book of record in PostgreSQL (schema: migrations/). Redis decides claims; every event of a
 * shard's audit stream is recorded here once, with the state derived from it in the same
 * transaction, so the derived tables are always exactly the fold of the recorded events.
 */
export class LedgerRecord {
  private constructor(readonly pool: Pool) {}

  /** A pool of at most `max` connections (default 4); nothing connects before the first query. */
  static connect(databaseUrl: string, options: { max?: number } = {}): LedgerRecord {
    const pool = new Pool({ connectionString: databaseUrl, max: options.max ?? 4 });
    // An idle client that loses its server emits here; the next query reports it to its caller.
    pool.on('error', () => undefined);
    return new LedgerRecord(pool);
  }

  /**
   * One transaction: inserts the events (a replay of an already recorded one is a no-op) and
   * updates the derived state for the ones actually inserted. Every event is checked before
   * anything is written; any fault rolls the whole batch back, so a recorder that acknowledges
   * its stream entries only after this resolves records each exactly once. Give each shard's
   * events in stream order (as XREADGROUP delivers them): an older event than the shard's
   * position is still recorded, but does not move the position, the generation or the epoch.
   */
  async record(events: readonly StreamEvent[]): Promise<{ recorded: number; duplicates: number }> {
    if (events.length === 0) return { recorded: 0, duplicates: 0 };
    const rows = events.map(toRow);
    return this.transaction(async (client) => {
      const heads = await lockShards(client, events);
      let recorded = 0;
      for (const row of rows) {
        const inserted = await client.query(
          `INSERT INTO ledger_events (campaign_id, shard, stream_id, stream_ms, stream_seq, type,
             at, gen, code, user_id, order_id, transfer_id, value_fen, discount_fen, coupons, fields,
             seq)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
           ON CONFLICT DO NOTHING RETURNING 1`,
          [
            row.event.campaignId,
            row.event.shard,
            row.event.streamId,
            row.ms,
            row.seq,
            row.type,
            row.at,
            row.gen,
            row.code,
            row.userId,
            row.orderId,
            row.transferId,
            row.valueFen,
            row.discountFen,
            row.coupons,
            JSON.stringify(row.event.fields),
            row.n ?? null,
          ],
        );
        if (inserted.rowCount === 0) continue;
        checkSequence(heads, row);
        recorded += 1;
        await applyDerived(client, row);
        await advancePosition(client, row);
      }
      return { recorded, duplicates: rows.length - recorded };
    });
  }

  /**
   * The last recorded stream id of a shard, its sequence number (the ledger's events as of it)
   * and the generation, or null (nothing recorded).
   */
  async position(campaignId: string, shard: number): Promise<RecordPosition | null> {
    const { rows } = await this.query<{
      gen: string | null;
      last_stream_id: string;
      ledger_events: string;
    }>(
      `SELECT gen, last_stream_id, ledger_events FROM shard_positions
       WHERE campaign_id = $1 AND shard = $2 AND last_stream_id IS NOT NULL`,
      [campaignId, shard],
    );
    const row = rows[0];
    if (row === undefined) return null;
    return { gen: row.gen ?? '', streamId: row.last_stream_id, events: Number(row.ledger_events) };
  }

  /**
   * Marks the shard's record as not the shard's history any more (Redis went back: the stream no
   * longer holds what was recorded). Kept until clearRolledBack (a rebuild clears it).
   */
  async markRolledBack(
    campaignId: string,
    shard: number,
    reason: string,
    /**
     * Redis time (ms) the mark was set there: not written when a rebuild cleared the shard after
     * it (the recorder's write can land after a rebuild it raced). Undefined: written.
     */
    markedAtMs?: number,
  ): Promise<void> {
    await this.query(
      `INSERT INTO shard_positions (campaign_id, shard, rolled_back_at, rolled_back_reason)
       VALUES ($1, $2, now(), $3)
       ON CONFLICT (campaign_id, shard) DO UPDATE
       SET rolled_back_at = now(), rolled_back_reason = EXCLUDED.rolled_back_reason
       WHERE $4::bigint IS NULL OR shard_positions.rolled_back_cleared_ms IS NULL
         OR shard_positions.rolled_back_cleared_ms < $4::bigint`,
      [campaignId, shard, reason, markedAtMs ?? null],
    );
  }

  /** `clearedAtMs`: Redis time of the rebuild that cleared it (a mark set before it stays away). */
  async clearRolledBack(campaignId: string, shard: number, clearedAtMs?: number): Promise<void> {
    await this.query(
      `UPDATE shard_positions SET rolled_back_at = NULL, rolled_back_reason = NULL,
         rolled_back_cleared_ms = GREATEST(rolled_back_cleared_ms, $3::bigint)
       WHERE campaign_id = $1 AND shard = $2`,
      [campaignId, shard, clearedAtMs ?? null],
    );
  }

  /** The money settings the shard's current ledger was initialised with, or null (not recorded). */
  async moneySettings(
    campaignId: string,
    shard: number,
  ): Promise<{ fingerprint: string; money: Record<string, unknown> } | null> {
    const { rows } = await this.query<{
      fingerprint: string | null;
      money: Record<string, unknown> | null;
    }>(`SELECT fingerprint, money FROM shard_positions WHERE campaign_id = $1 AND shard = $2`, [
      campaignId,
      shard,
    ]);
    const row = rows[0];
    if (row === undefined || row.fingerprint === null || row.money === null) return null;
    return { fingerprint: row.fingerprint, money: row.money };
  }

  /** The rolled-back mark of a shard: when and why, or null. */
  async rolledBack(
    campaignId: string,
    shard: number,
  ): Promise<{ at: Date; reason: string } | null> {
    const { rows } = await this.query<{ rolled_back_at: Date | null; rolled_back_reason: string }>(
      `SELECT rolled_back_at, rolled_back_reason FROM shard_positions
       WHERE campaign_id = $1 AND shard = $2`,
      [campaignId, shard],
    );
    const row = rows[0];
    return row?.rolled_back_at ? { at: row.rolled_back_at, reason: row.rolled_back_reason } : null;
  }

  async findCoupon(campaignId: string, code: string): Promise<RecordedCoupon | null> {
    const { rows } = await this.query<CouponRow>(
      `SELECT * FROM coupons WHERE campaign_id = $1 AND code = $2`,
      [campaignId, code],
    );
    return rows[0] === undefined ? null : couponOf(rows[0]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** One query; a PostgreSQL error becomes a RecordFault('database'). */
  async query<Row extends object = Record<string, unknown>>(
    sql: string,
    values: readonly unknown[] = [],
  ): Promise<{ rows: Row[]; rowCount: number }> {
    try {
      const result = await this.pool.query(sql, values as unknown[]);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw asFault(error);
    }
  }

  /** `body` in one transaction on one connection (rolled back when it throws). */
  async transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw asFault(error);
    }
    // A checked-out client whose server goes away emits 'error' on itself (the pool's listener
    // covers idle ones only); unheard, it would end the process. The query in flight rejects.
    const ignore = () => undefined;
    client.on('error', ignore);
    let failed = false;
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw asFault(error);
    } finally {
      client.off('error', ignore);
      // After a failure the connection may be broken: destroyed, never handed out again.
      client.release(failed);
    }
  }
}

function asFault(error: unknown): RecordFault {
  if (error instanceof RecordFault) return error;
  return new RecordFault('database', `PostgreSQL: ${(error as Error).message}`, { cause: error });
}

interface CouponRow {
  campaign_id: string;
  code: string;
  shard: number;
  user_id: string;
  value_fen: string;
  issued_at: string;
  expires_at: string;
  tranche_day: string;
  status: 'issued' | 'redeemed';
  order_id: string | null;
  discount_fen: string | null;
  redeemed_at: string | null;
  reversals: Record<string, string>;
  idem: string | null;
  body_hash: string | null;
  keep_until: string | null;
  issued_stream_id: string;
}

export function couponOf(row: CouponRow): RecordedCoupon {
  return {
    campaignId: row.campaign_id,
    code: row.code,
    shard: row.shard,
    userId: row.user_id,
    valueFen: BigInt(row.value_fen),
    issuedAt: Number(row.issued_at),
    expiresAt: Number(row.expires_at),
    trancheDay: row.tranche_day,
    status: row.status,
    orderId: row.order_id,
    discountFen: row.discount_fen === null ? null : BigInt(row.discount_fen),
    redeemedAt: nullableMs(row.redeemed_at),
    reversals: row.reversals,
    idem: row.idem,
    bodyHash: row.body_hash,
    keepUntil: nullableMs(row.keep_until),
    issuedStreamId: row.issued_stream_id,
  };
}

/** An event checked and split into the columns of ledger_events (integers as exact text). */
interface EventRow {
  event: StreamEvent;
  type: EventType;
  ms: string;
  seq: string;
  at: string | undefined;
  gen: string | undefined;
  code: string | undefined;
  userId: string | undefined;
  orderId: string | undefined;
  transferId: string | undefined;
  valueFen: string | undefined;
  discountFen: string | undefined;
  coupons: string | undefined;
  /** The event's sequence number on the shard (field n; an init or restore's events). */
  n: string | undefined;
}

/** What each type must carry, as the Lua scripts write it; anything else is refused. */
const REQUIRED: Record<EventType, { integers: string[]; texts: string[] }> = {
  init: { integers: ['gen', 'events', 'writtenOff', 'dayWrittenOff', 'at'], texts: ['day'] },
  restore: { integers: ['gen', 'events', 'writtenOff', 'dayWrittenOff', 'at'], texts: ['day'] },
  issued: {
    integers: ['valueFen', 'at', 'expiresAt'],
    texts: ['code', 'userId', 'day'],
  },
  redeemed: { integers: ['discountFen', 'at'], texts: ['code', 'userId', 'orderId'] },
  reversed: { integers: ['discountFen', 'at'], texts: ['code', 'userId', 'orderId'] },
  'rebalance-out': {
    integers: ['coupons', 'target', 'targetGen', 'at'],
    texts: ['transfer', 'field'],
  },
  'rebalance-in': {
    integers: ['coupons', 'source', 'sourceGen', 'at'],
    texts: ['transfer', 'field'],
  },
  'rebalance-void': { integers: ['coupons', 'target', 'at'], texts: ['transfer'] },
};

function toRow(event: StreamEvent): EventRow {
  if (!Number.isSafeInteger(event.shard) || event.shard < 0)
    throw invalid(event, `has shard ${event.shard}`);
  if (event.campaignId === '') throw invalid(event, 'has no campaign id');
  const { ms, seq } = parseStreamId(event.streamId);
  const type = event.fields.type as EventType;
  if (!EVENT_TYPES.includes(type))
    throw invalid(event, 'is of a type this version of @coupons/ledger-record does not know');
  const required = REQUIRED[type];
  for (const name of required.integers) integerField(event, name, true);
  for (const name of required.texts) textField(event, name, true);
  integerField(event, 'keepUntil', false);
  const starts = type === 'init' || type === 'restore';
  const n =
    integerField(event, 'n', false) ?? (starts ? integerField(event, 'events', true) : undefined);
  if (type === 'init' && event.fields.money !== undefined) {
    try {
      JSON.parse(event.fields.money);
    } catch {
      throw invalid(event, 'carries money settings that are not JSON');
    }
  }
  return {
    n,
    event,
    type,
    ms,
    seq,
    at: integerField(event, 'at', false),
    gen: type === 'init' || type === 'restore' ? integerField(event, 'gen', true) : undefined,
    code: textField(event, 'code', false),
    userId: textField(event, 'userId', false),
    orderId: textField(event, 'orderId', false),
    transferId: textField(event, 'transfer', false),
    valueFen: integerField(event, 'valueFen', false),
    discountFen: integerField(event, 'discountFen', false),
    coupons: integerField(event, 'coupons', false),
  };
}

/** Per shard of a batch, as the record stands: its last stream id and sequence number. */
type Heads = Map<string, { last: string | null; n: bigint }>;

const headKey = (event: StreamEvent) => JSON.stringify([event.campaignId, event.shard]);

/**
 * An event newer than the shard's last recorded one (by stream id) continues the recorded
 * history only when its sequence number is past the recorded one: stream ids are times, so the
 * events a Redis restored from an older state appended after the restore sort after the record,
 * but their sequence numbers repeat recorded ones. Such an event is refused ('diverged'): the
 * batch is not recorded, and the recorder's next verification marks the shard rolled back. An
 * init or restore starts a sequence (a new ledger, a rebuild or a write-off).
 */
function checkSequence(heads: Heads, row: EventRow): void {
  const head = heads.get(headKey(row.event));
  if (head === undefined) return;
  const forward = head.last === null || compareStreamIds(row.event.streamId, head.last) > 0;
  if (!forward) return;
  const starts = row.type === 'init' || row.type === 'restore';
  if (row.n !== undefined && !starts && head.last !== null && BigInt(row.n) <= head.n)
    throw new RecordFault(
      'diverged',
      `campaign ${row.event.campaignId} shard ${row.event.shard} event ${row.event.streamId} (${row.type}) has sequence number ${row.n}, which the record holds already up to ${head.n} at ${head.last}: Redis went back to an older state and appended since`,
    );
  head.last = row.event.streamId;
  if (row.n !== undefined) head.n = BigInt(row.n);
  else head.n += 1n;
}

/**
 * Locks the position rows of the batch's shards, in one order, before anything else: two
 * recorders writing the same shard take turns (the position and the counters are read-modify-
 * write), and never deadlock. Returns where each shard's record stands (checkSequence).
 */
async function lockShards(client: PoolClient, events: readonly StreamEvent[]): Promise<Heads> {
  const heads: Heads = new Map();
  const shards = [...new Set(events.map((e) => JSON.stringify([e.campaignId, e.shard])))]
    .map((key) => JSON.parse(key) as [string, number])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x - y));
  for (const [campaignId, shard] of shards) {
    await client.query(
      `INSERT INTO shard_positions (campaign_id, shard) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [campaignId, shard],
    );
    const { rows } = await client.query<{ last_stream_id: string | null; ledger_events: string }>(
      `SELECT last_stream_id, ledger_events FROM shard_positions
       WHERE campaign_id = $1 AND shard = $2 FOR UPDATE`,
      [campaignId, shard],
    );
    heads.set(JSON.stringify([campaignId, shard]), {
      last: rows[0]?.last_stream_id ?? null,
      n: BigInt(rows[0]?.ledger_events ?? '0'),
    });
  }
  return heads;
}

async function addDayTotals(
  client: PoolClient,
  event: StreamEvent,
  day: string,
  column: 'issued' | 'redeemed' | 'written_off',
  coupons: string,
  fen: string,
): Promise<void> {
  const fenColumn = column === 'written_off' ? null : `${column}_fen`;
  await client.query(
    `INSERT INTO shard_day_totals (campaign_id, shard, day, ${column}_coupons${fenColumn ? `, ${fenColumn}` : ''})
     VALUES ($1, $2, $3, $4::bigint${fenColumn ? ', $5::bigint' : ''})
     ON CONFLICT (campaign_id, shard, day) DO UPDATE SET
       ${column}_coupons = shard_day_totals.${column}_coupons + EXCLUDED.${column}_coupons
       ${fenColumn ? `, ${fenColumn} = shard_day_totals.${fenColumn} + EXCLUDED.${fenColumn}` : ''}`,
    fenColumn
      ? [event.campaignId, event.shard, day, coupons, fen]
      : [event.campaignId, event.shard, day, coupons],
  );
}

/** The derived state of one newly inserted event, as the Lua script that wrote it changed Redis. */
async function applyDerived(client: PoolClient, row: EventRow): Promise<void> {
  const { event } = row;
  const f = event.fields;
  switch (row.type) {
    case 'init':
    case 'restore':
      if (f.dayWrittenOff !== '0')
        await addDayTotals(client, event, f.day!, 'written_off', f.dayWrittenOff!, '0');
      return;
    case 'issued': {
      const inserted = await client.query(
        `INSERT INTO coupons (campaign_id, code, shard, user_id, value_fen, issued_at, expires_at,
           tranche_day, status, idem, body_hash, keep_until, issued_stream_id, issued_stream_ms,
           issued_stream_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'issued', $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [
          event.campaignId,
          f.code,
          event.shard,
          f.userId,
          f.valueFen,
          f.at,
          f.expiresAt,
          f.day,
          f.idem ?? null,
          f.bodyHash ?? null,
          f.keepUntil ?? null,
          event.streamId,
          row.ms,
          row.seq,
        ],
      );
      if (inserted.rowCount === 0)
        throw invalid(event, `issues code ${f.code}, which the record holds as issued already`);
      await addDayTotals(client, event, f.day!, 'issued', '1', f.valueFen!);
      await client.query(
        `INSERT INTO user_day_claims (campaign_id, shard, user_id, day, claims, keep_until)
         VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (campaign_id, shard, user_id, day) DO UPDATE SET
           claims = user_day_claims.claims + 1,
           keep_until = GREATEST(user_day_claims.keep_until, EXCLUDED.keep_until)`,
        [event.campaignId, event.shard, f.userId, f.day, f.keepUntil ?? null],
      );
      return;
    }
    case 'redeemed':
    case 'reversed': {
      const redeemed = row.type === 'redeemed';
      const updated = await client.query<{ tranche_day: string }>(
        redeemed
          ? `UPDATE coupons SET status = 'redeemed', order_id = $4, discount_fen = $5,
               redeemed_at = $6
             WHERE campaign_id = $1 AND code = $2 AND shard = $3 RETURNING tranche_day`
          : `UPDATE coupons SET status = 'issued', order_id = NULL, discount_fen = NULL,
               redeemed_at = NULL, reversals = reversals || jsonb_build_object($4::text, $6::text)
             WHERE campaign_id = $1 AND code = $2 AND shard = $3 AND $5::bigint IS NOT NULL
             RETURNING tranche_day`,
        [event.campaignId, f.code, event.shard, f.orderId, f.discountFen, f.at],
      );
      const day = updated.rows[0]?.tranche_day;
      if (day === undefined)
        throw new RecordFault(
          'gap',
          `campaign ${event.campaignId} shard ${event.shard} event ${event.streamId}: ${row.type} coupon ${f.code}, whose issue the record does not hold (events skipped or trimmed before recording)`,
        );
      const sign = redeemed ? '' : '-';
      await addDayTotals(client, event, day, 'redeemed', `${sign}1`, `${sign}${f.discountFen}`);
      return;
    }
    case 'rebalance-out':
      await client.query(
        `INSERT INTO transfers (campaign_id, transfer_id, source_shard, source_gen, target_shard,
           target_gen, coupons, field, taken_at)
         SELECT $1, $2, $3, gen, $4, $5, $6, $7, $8 FROM shard_positions
         WHERE campaign_id = $1 AND shard = $3
         ON CONFLICT (campaign_id, transfer_id) DO UPDATE SET
           source_shard = EXCLUDED.source_shard, source_gen = EXCLUDED.source_gen,
           target_shard = EXCLUDED.target_shard, target_gen = EXCLUDED.target_gen,
           field = EXCLUDED.field, taken_at = EXCLUDED.taken_at`,
        [
          event.campaignId,
          f.transfer,
          event.shard,
          f.target,
          f.targetGen,
          f.coupons,
          f.field,
          f.at,
        ],
      );
      return;
    case 'rebalance-in':
      await client.query(
        `INSERT INTO transfers (campaign_id, transfer_id, source_shard, source_gen, target_shard,
           target_gen, coupons, field, given_at)
         SELECT $1, $2, $3, $4, $5, gen, $6, $7, $8 FROM shard_positions
         WHERE campaign_id = $1 AND shard = $5
         ON CONFLICT (campaign_id, transfer_id) DO UPDATE SET given_at = EXCLUDED.given_at`,
        [
          event.campaignId,
          f.transfer,
          f.source,
          f.sourceGen,
          event.shard,
          f.coupons,
          f.field,
          f.at,
        ],
      );
      return;
    case 'rebalance-void':
      await client.query(
        `INSERT INTO transfers (campaign_id, transfer_id, source_shard, target_shard, coupons,
           voided_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (campaign_id, transfer_id) DO UPDATE SET voided_at = EXCLUDED.voided_at`,
        [event.campaignId, f.transfer, event.shard, f.target, f.coupons, f.at],
      );
      return;
  }
}

/**
 * The shard's position after one newly inserted event: the last stream id, the generation and
 * the epoch only move forward; the ledger's event count is what an init or restore says, then
 * one more per event (as appendEvent counts); an init starts a new ledger (the epoch a rebuild
 * replays).
 */
async function advancePosition(client: PoolClient, row: EventRow): Promise<void> {
  const { event } = row;
  const starts = row.type === 'init' || row.type === 'restore';
  await client.query(
    `UPDATE shard_positions SET
       recorded_events = recorded_events + 1,
       last_stream_id = CASE WHEN forward THEN $3 ELSE last_stream_id END,
       last_stream_ms = CASE WHEN forward THEN $4::bigint ELSE last_stream_ms END,
       last_stream_seq = CASE WHEN forward THEN $5::bigint ELSE last_stream_seq END,
       ledger_events = CASE WHEN forward AND $6::bigint IS NOT NULL THEN $6::bigint
                            WHEN $11::bigint IS NOT NULL AND NOT forward THEN ledger_events
                            ELSE ledger_events + 1 END,
       fingerprint = CASE WHEN forward AND $12::text IS NOT NULL THEN $12 ELSE fingerprint END,
       money = CASE WHEN forward AND $12::text IS NOT NULL THEN $13::jsonb ELSE money END,
       gen = CASE WHEN forward THEN COALESCE($7::bigint, gen) ELSE gen END,
       init_at = CASE WHEN forward AND $8 THEN $9::bigint ELSE init_at END,
       epoch_stream_ms = CASE WHEN forward AND $8 THEN $4::bigint ELSE epoch_stream_ms END,
       epoch_stream_seq = CASE WHEN forward AND $8 THEN $5::bigint ELSE epoch_stream_seq END,
       written_off_coupons = written_off_coupons + COALESCE($10::bigint, 0)
     FROM (SELECT last_stream_ms IS NULL OR ($4::bigint, $5::bigint) > (last_stream_ms, last_stream_seq)
             AS forward
           FROM shard_positions WHERE campaign_id = $1 AND shard = $2) AS step
     WHERE campaign_id = $1 AND shard = $2`,
    [
      event.campaignId,
      event.shard,
      event.streamId,
      row.ms,
      row.seq,
      row.n ?? null,
      row.gen ?? null,
      row.type === 'init',
      row.at ?? null,
      starts ? event.fields.writtenOff : null,
      row.n ?? null,
      row.type === 'init' ? (event.fields.fingerprint ?? null) : null,
      row.type === 'init' ? (event.fields.money ?? null) : null,
    ],
  );
}
