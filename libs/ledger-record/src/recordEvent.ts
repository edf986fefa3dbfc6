import type { PoolClient } from 'pg';
import { compareStreamIds, invalid, type StreamEvent } from './events';
import type { EventRow } from './eventRows';
import { RecordFault } from './fault';

/** Per shard of a batch, as the record stands: its last stream id and sequence number. */
export type Heads = Map<string, { last: string | null; n: bigint }>;

const headKey = (event: StreamEvent) => JSON.stringify([event.campaignId, event.shard]);

/**
 * An event newer than the shard's last recorded one (by stream id) continues the recorded
 * history only when its sequence number is past the recorded one: stream ids are times, so the
 * events a Redis restored from an older state appended after the restore sort after the record,
 * but their sequence numbers repeat recorded ones. Such an event is refused ('diverged'): the
 * batch is not recorded, and the recorder's next verification marks the shard rolled back. An
 * init or restore starts a sequence (a new ledger, a rebuild or a write-off).
 */
export function checkSequence(heads: Heads, row: EventRow): void {
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
export async function lockShards(
  client: PoolClient,
  events: readonly StreamEvent[],
): Promise<Heads> {
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
export async function applyDerived(client: PoolClient, row: EventRow): Promise<void> {
  const { event } = row;
  const f = event.fields;
  switch (row.type) {
    case 'init':
    case 'restore':
      if (f.dayWrittenOff !== '0')
        await addDayTotals(client, event, f.day!, 'written_off', f.dayWrittenOff!, '0');
      return;
    case 'issued':
      return applyIssued(client, row);
    case 'redeemed':
    case 'reversed':
      return applyRedemption(client, row);
    case 'rebalance-out':
    case 'rebalance-in':
    case 'rebalance-void':
      return applyTransfer(client, row);
  }
}

/** An issue: the coupon (once only), the day's issued totals and the user's claims that day. */
async function applyIssued(client: PoolClient, row: EventRow): Promise<void> {
  const { event } = row;
  const f = event.fields;
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
}

/** A redemption or its reversal: the coupon's state and the day's redeemed totals. */
async function applyRedemption(client: PoolClient, row: EventRow): Promise<void> {
  const { event } = row;
  const f = event.fields;
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
}

/** A rebalance's step: the transfer row, whichever of its events comes first. */
async function applyTransfer(client: PoolClient, row: EventRow): Promise<void> {
  const { event } = row;
  const f = event.fields;
  switch (row.type) {
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
    default:
      return;
  }
}

/**
 * The shard's position after one newly inserted event: the last stream id, the generation and
 * the epoch only move forward; the ledger's event count is what an init or restore says, then
 * one more per event (as appendEvent counts); an init starts a new ledger (the epoch a rebuild
 * replays).
 */
export async function advancePosition(client: PoolClient, row: EventRow): Promise<void> {
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
