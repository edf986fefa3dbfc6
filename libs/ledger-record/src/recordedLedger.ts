import { campaignFingerprint, shareOf } from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import type { LedgerRecord } from './record';

/** The stream id of the init event that started a shard's current ledger (shard_positions). */
export interface Epoch {
  ms: string;
  seq: string;
}

/**
 * The ledger hash of the current ledger, from the record: the counters initLedger-2.lua starts
 * and every script since moved (issued = coupons + written off, day:<d>, redeemed, redeemedFen,
 * adj fields and transfer records), as field/value pairs; and the transfers still in transit.
 */
export async function recordedLedger(
  record: LedgerRecord,
  calendar: CampaignCalendar,
  shard: number,
  epoch: Epoch,
  initAt: string,
): Promise<{ fields: string[]; transit: string[] }> {
  const { campaign } = calendar;
  const { coupons, perDay, writtenOff, transfers } = await recordedRows(
    record,
    campaign.id,
    shard,
    epoch,
  );
  // Counts of coupons: at most the pool (< 2^53), so plain numbers are exact here.
  const issuedCoupons = Number(coupons.rows[0]!.issued);
  const writtenOffCoupons = Number(writtenOff.rows[0]!.coupons);
  const { adjustments, outs, ins } = foldTransfers(transfers);

  const fields: string[] = [
    'fingerprint',
    campaignFingerprint(campaign),
    'shardPoolCoupons',
    String(shareOf(calendar.poolCoupons, campaign.shards, shard)),
    'issued',
    String(issuedCoupons + writtenOffCoupons),
    'writtenOff',
    String(writtenOffCoupons),
    'redeemed',
    coupons.rows[0]!.redeemed,
    'redeemedFen',
    coupons.rows[0]!.redeemed_fen,
    'campaignId',
    campaign.id,
    'shard',
    String(shard),
    'initAt',
    initAt,
  ];
  for (const { day, coupons: n } of perDay.rows) fields.push(`day:${day}`, n);
  for (const [field, value] of adjustments) fields.push(field, String(value));
  const transit: string[] = [];
  for (const [id, out] of outs) {
    // A transfer the target was credited with is settled as done (the pods' sweep would settle
    // it so); one neither given nor written off is still in transit.
    const state = out.void ? 'void' : out.given ? 'done' : 'sent';
    fields.push(`xout:${id}`, `${state}:${out.value}`);
    if (state === 'sent') transit.push(id);
  }
  for (const [id, value] of ins) fields.push(`xin:${id}`, value);
  return { fields, transit };
}

/** The record's rows of the current ledger (after its epoch): coupons, days, write-offs, transfers. */
async function recordedRows(record: LedgerRecord, campaignId: string, shard: number, epoch: Epoch) {
  const args = [campaignId, shard, epoch.ms, epoch.seq];
  const inEpoch = `campaign_id = $1 AND shard = $2`;
  const coupons = await record.query<{
    issued: string;
    redeemed: string;
    redeemed_fen: string;
  }>(
    `SELECT count(*)::text AS issued,
       count(*) FILTER (WHERE status = 'redeemed')::text AS redeemed,
       coalesce(sum(discount_fen) FILTER (WHERE status = 'redeemed'), 0)::text AS redeemed_fen
     FROM coupons WHERE ${inEpoch}
       AND (issued_stream_ms, issued_stream_seq) > ($3::bigint, $4::bigint)`,
    args,
  );
  const perDay = await record.query<{ day: string; coupons: string }>(
    `SELECT day, sum(coupons)::text AS coupons FROM (
       SELECT tranche_day AS day, count(*) AS coupons FROM coupons WHERE ${inEpoch}
         AND (issued_stream_ms, issued_stream_seq) > ($3::bigint, $4::bigint)
         GROUP BY tranche_day
       UNION ALL
       SELECT fields->>'day', (fields->>'dayWrittenOff')::bigint FROM ledger_events
       WHERE ${inEpoch} AND type IN ('init', 'restore')
         AND (stream_ms, stream_seq) >= ($3::bigint, $4::bigint)
         AND (fields->>'dayWrittenOff')::bigint > 0) AS days
     GROUP BY day ORDER BY day`,
    args,
  );
  const writtenOff = await record.query<{ coupons: string }>(
    `SELECT coalesce(sum((fields->>'writtenOff')::bigint), 0)::text AS coupons FROM ledger_events
     WHERE ${inEpoch} AND type IN ('init', 'restore')
       AND (stream_ms, stream_seq) >= ($3::bigint, $4::bigint)`,
    args,
  );
  const transfers = await record.query<TransferEventRow>(
    `SELECT e.type, e.transfer_id, e.fields, t.given_at IS NOT NULL AS given
     FROM ledger_events e
     LEFT JOIN transfers t ON t.campaign_id = e.campaign_id AND t.transfer_id = e.transfer_id
     WHERE e.campaign_id = $1 AND e.shard = $2
       AND e.type IN ('rebalance-out', 'rebalance-in', 'rebalance-void')
       AND (e.stream_ms, e.stream_seq) >= ($3::bigint, $4::bigint)
     ORDER BY e.stream_ms, e.stream_seq`,
    args,
  );

  return { coupons, perDay, writtenOff, transfers: transfers.rows };
}

interface TransferEventRow {
  type: string;
  transfer_id: string;
  fields: Record<string, string>;
  given: boolean;
}

/** The ledger's rebalancing adjustments and transfer records, from its transfer events in order. */
function foldTransfers(transfers: readonly TransferEventRow[]) {
  const adjustments = new Map<string, number>([['adj', 0]]);
  const outs = new Map<string, { value: string; void: boolean; given: boolean }>();
  const ins = new Map<string, string>();
  for (const t of transfers) {
    const f = t.fields;
    const coupons = Number(f.coupons);
    if (t.type === 'rebalance-out') {
      adjustments.set(f.field!, (adjustments.get(f.field!) ?? 0) - coupons);
      outs.set(t.transfer_id, {
        value: `${f.target}:${f.coupons}:${f.targetGen}:${f.field}`,
        void: false,
        given: t.given,
      });
    } else if (t.type === 'rebalance-in') {
      adjustments.set(f.field!, (adjustments.get(f.field!) ?? 0) + coupons);
      ins.set(t.transfer_id, `${f.source}:${f.coupons}:${f.sourceGen}:${f.field}`);
    } else {
      const out = outs.get(t.transfer_id);
      if (out !== undefined) out.void = true;
    }
  }

  return { adjustments, outs, ins };
}
