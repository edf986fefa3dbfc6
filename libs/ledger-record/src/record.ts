import { Pool, type PoolClient } from 'pg';
import type { StreamEvent } from './events';
import { toRow } from './eventRows';
import { RecordFault } from './fault';
import { advancePosition, applyDerived, checkSequence, lockShards } from './recordEvent';

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

/** A row of the coupons table as pg reads it (bigint columns as text). */
export interface CouponRow {
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
  issued_stream_ms: string;
  issued_stream_seq: string;
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
