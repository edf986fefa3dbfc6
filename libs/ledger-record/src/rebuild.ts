import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  BudgetLedger,
  campaignFingerprint,
  codeOf,
  moneySettings,
  moneySettingsDiff,
  LedgerCode,
  registerLedgerScripts,
  shardKeys,
  type LedgerClock,
  type ShardKeys,
} from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import { compareStreamIds, parseStreamId } from './events';
import { RecordFault } from './fault';
import type { LedgerRecord } from './record';
import {
  expectOk,
  writeCoupons,
  writeEvents,
  writeOrders,
  writeUsers,
  type ShardJob,
} from './rebuildWrites';
import { recordedLedger, type Epoch } from './recordedLedger';

/**
 * When may a shard be rebuilt from the record, and is the result exact? (docs/durability-record.md)
 *
 * A shard is rebuilt only when it is lost or rolled back: no ledger in Redis, a ledger marked
 * rolled back, or a ledger behind the record (its last event is an earlier recorded one). A
 * healthy ledger the record has caught up with is left alone; one ahead of the record is never
 * touched.
 *
 * Refused, whatever the flags:
 * - the record holds nothing of the shard, or not the init that started its current ledger;
 * - Redis holds an event of the shard the record lacks (the recorder is behind: let it catch up).
 *
 * The record can show it holds everything Redis holds now; it cannot show it held everything the
 * lost state held at the moment of the loss (the recorder lags Redis by its batch and its
 * retries). So one of two statements is required of the operator:
 * - `recordCompleteThrough` (a stream id or an epoch ms): "the lost state held no event after
 *   this, and the recorder had recorded every shard through it" (the recorder's position at the
 *   loss, from its lag metric or log). Refused for a shard whose record goes past it, since then
 *   the point cannot be where the lost state ended. The rebuild is then exact and opens the shard.
 * - `afterLoss`: the lag is unknown. The shard is rebuilt exactly from the record (every recorded
 *   coupon stays valid and redeemable), then written off as `ledger:init --after-loss` does:
 *   everything it could still issue of the budget released so far is counted as issued, so a
 *   coupon issued in the lag and lost can never be issued twice. Never over-issues.
 */
export interface RebuildOptions {
  recordCompleteThrough?: string;
  afterLoss?: boolean;
  /** Only these shards (default: every shard of the campaign). */
  shards?: readonly number[];
  /** Rows per batch written to Redis (default 500). */
  batchSize?: number;
  /**
   * The rebuilt ledgers are fenced (lua/includes/guard.lua): they serve once the recorder has
   * verified the Redis process against the record. ledger:init sets it unless told otherwise.
   */
  fenced?: boolean;
}

export type ShardOutcome =
  | { shard: number; outcome: 'rebuilt'; coupons: number; events: number; gen: string }
  | { shard: number; outcome: 'in_sync' | 'refused'; reason: string };

export interface RebuildReport {
  campaignId: string;
  shards: ShardOutcome[];
  rebuilt: number[];
  refused: number[];
  /** With afterLoss: coupons written off (rebuilt shards and shards with nothing recorded). */
  writtenOffCoupons: number;
}

interface ShardPosition {
  gen: string | null;
  init_at: string | null;
  epoch_stream_ms: string | null;
  epoch_stream_seq: string | null;
  last_stream_id: string | null;
  ledger_events: string;
  rolled_back_reason: string | null;
}

/** "<ms>-<seq>" or "<ms>" (every event of that millisecond) as a stream id to compare with. */
export function completeThroughId(value: string): string {
  if (/^\d{1,19}$/.test(value)) return `${value}-18446744073709551615`;
  parseStreamId(value);
  return value;
}

/** Every id of a stream, oldest first (5000 at a time). */
async function streamIds(redis: Redis | Cluster, key: string): Promise<string[]> {
  const ids: string[] = [];
  let start = '-';
  for (;;) {
    const batch = await redis.xrange(key, start, '+', 'COUNT', 5000);
    ids.push(...batch.map(([id]) => id));
    if (batch.length < 5000) return ids;
    start = `(${batch[batch.length - 1]![0]}`;
  }
}

/**
 * Rebuilds the campaign's lost or rolled-back shards in Redis exactly from the record (see
 * RebuildOptions for when). Each shard in three steps (lua/rebuild*.lua): closed (refusing claims
 * as rolled back), its records written in batches, its ledger replaced as a new generation with a
 * "restore" event. A crash between steps leaves the shard closed; running the rebuild again
 * finishes it.
 */
export async function rebuildFromRecord(
  redis: Redis | Cluster,
  calendar: CampaignCalendar,
  clock: LedgerClock,
  record: LedgerRecord,
  options: RebuildOptions = {},
): Promise<RebuildReport> {
  const { campaign } = calendar;
  if (options.recordCompleteThrough !== undefined && options.afterLoss === true)
    throw new RecordFault(
      'refused',
      'rebuild: recordCompleteThrough and afterLoss exclude each other (choose what you know)',
    );
  const through =
    options.recordCompleteThrough === undefined
      ? undefined
      : completeThroughId(options.recordCompleteThrough);
  await refuseChangedMoneySettings(calendar, record);
  const scripts = registerLedgerScripts(redis);
  const report: RebuildReport = {
    campaignId: campaign.id,
    shards: [],
    rebuilt: [],
    refused: [],
    writtenOffCoupons: 0,
  };
  const shards = options.shards ?? Array.from({ length: campaign.shards }, (_, i) => i);
  for (const shard of shards) {
    const outcome = await rebuildShard({
      redis,
      scripts,
      calendar,
      clock,
      record,
      shard,
      through,
      afterLoss: options.afterLoss === true,
      batchSize: options.batchSize ?? 500,
      fenced: options.fenced === true,
    });
    report.shards.push(outcome);
    if (outcome.outcome === 'rebuilt') report.rebuilt.push(shard);
    if (outcome.outcome === 'refused') report.refused.push(shard);
  }
  if (options.afterLoss === true) {
    // The rebuilt shards are left marked rolled back: written off (and opened) here, with the
    // shards that have no ledger and nothing recorded, exactly as ledger:init --after-loss does.
    const init = await new BudgetLedger(redis, calendar, clock).init({
      afterLoss: true,
      fenced: options.fenced === true,
    });
    report.writtenOffCoupons = init.writtenOffCoupons;
  }
  return report;
}

/**
 * The record keeps the money settings each shard's ledger was initialised with (its init event):
 * a campaigns file that says otherwise (fewer shards, another pool or coupon value, ...) is
 * refused before anything is written, naming each difference. Shards whose init the record does
 * not hold (recorded before it kept them) are not compared.
 */
async function refuseChangedMoneySettings(
  calendar: CampaignCalendar,
  record: LedgerRecord,
): Promise<void> {
  const { campaign } = calendar;
  const given = moneySettings(campaign);
  const fingerprint = campaignFingerprint(campaign);
  const { rows } = await record.query<{ shard: number }>(
    `SELECT shard FROM shard_positions WHERE campaign_id = $1 ORDER BY shard`,
    [campaign.id],
  );
  for (const { shard } of rows) {
    const recorded = await record.moneySettings(campaign.id, shard);
    if (recorded === null || recorded.fingerprint === fingerprint) continue;
    const differences = moneySettingsDiff(recorded.money, given);
    throw new RecordFault(
      'refused',
      `the record holds shard ${shard} of campaign ${campaign.id} as initialised with other money settings than the campaigns file gives (${differences.length > 0 ? differences.join('; ') : `fingerprint ${recorded.fingerprint} -> ${fingerprint}`}): a rebuild would adopt them. Restore the campaigns file the campaign ran with`,
    );
  }
}

async function rebuildShard(job: ShardJob): Promise<ShardOutcome> {
  const { redis, record, shard, calendar } = job;
  const campaignId = calendar.campaign.id;
  const keys = shardKeys(campaignId, shard);
  const refused = (reason: string): ShardOutcome => ({ shard, outcome: 'refused', reason });

  const { rows } = await record.query<ShardPosition>(
    `SELECT gen, init_at, epoch_stream_ms, epoch_stream_seq, last_stream_id, ledger_events,
       rolled_back_reason
     FROM shard_positions WHERE campaign_id = $1 AND shard = $2`,
    [campaignId, shard],
  );
  const position = rows[0];
  const recordLast = position?.last_stream_id ?? null;
  const head = await ledgerHead(redis, keys);
  const ledgerExists = head.fingerprint !== null && head.rebuilding === null;
  if (position === undefined || recordLast === null) {
    return ledgerExists && head.rolledBack === null
      ? { shard, outcome: 'in_sync', reason: 'nothing recorded; the ledger in Redis is live' }
      : refused(
          `the record holds nothing of shard ${shard}: nothing to rebuild from (ledger:init --after-loss counts what it could have issued as issued)`,
        );
  }
  if (
    position.epoch_stream_ms === null ||
    position.epoch_stream_seq === null ||
    position.init_at === null
  )
    return refused(
      `the record does not hold the init event that started shard ${shard}'s ledger (the recorder started after it was trimmed): it cannot rebuild the ledger's counters`,
    );

  // Everything Redis still holds of the shard must be in the record.
  const ids = await streamIds(redis, keys.audit);
  const missing = await missingFromRecord(record, campaignId, shard, ids);
  if (missing.length > 0)
    return refused(
      `Redis holds ${missing.length} event(s) of shard ${shard} the record lacks (first ${missing[0]}): the recorder is behind or stopped; let it catch up, then rebuild`,
    );

  const lost = head.fingerprint === null || head.rolledBack !== null || head.rebuilding !== null;
  const behind =
    !lost && (head.lastEventId === null || compareStreamIds(head.lastEventId, recordLast) < 0);
  if (!lost && !behind) {
    return {
      shard,
      outcome: 'in_sync',
      reason: `the ledger in Redis is live and holds the record's last event ${recordLast}`,
    };
  }

  const leaveMarked = lossBoundary(job, recordLast);
  if (typeof leaveMarked !== 'string') return leaveMarked;
  return restoreShard(job, keys, head, {
    recordLast,
    redisLast: ids[ids.length - 1],
    ledgerEvents: position.ledger_events,
    initAt: position.init_at,
    epoch: { ms: position.epoch_stream_ms, seq: position.epoch_stream_seq },
    leaveMarked,
  });
}

/** The fields of the shard's ledger hash that say whether it is live, lost or being rebuilt. */
interface LedgerHead {
  fingerprint: string | null;
  rolledBack: string | null;
  lastEventId: string | null;
  rebuilding: string | null;
}

async function ledgerHead(redis: Redis | Cluster, keys: ShardKeys): Promise<LedgerHead> {
  const row = await redis.hmget(keys.ledger, 'fingerprint', 'rolledBack', 'lastEventId', 'rebuild');
  const field = (i: number): string | null => row[i] ?? null;
  return {
    fingerprint: field(0),
    rolledBack: field(1),
    lastEventId: field(2),
    rebuilding: field(3),
  };
}

/** The ids of `ids` (the shard's stream as Redis holds it) that the record lacks. */
async function missingFromRecord(
  record: LedgerRecord,
  campaignId: string,
  shard: number,
  ids: readonly string[],
): Promise<string[]> {
  const missing: string[] = [];
  for (let i = 0; i < ids.length; i += 5000) {
    const page = ids.slice(i, i + 5000);
    const found = await record.query<{ stream_id: string }>(
      `SELECT stream_id FROM ledger_events
       WHERE campaign_id = $1 AND shard = $2 AND stream_id = ANY($3)`,
      [campaignId, shard, page],
    );
    const have = new Set(found.rows.map((r) => r.stream_id));
    missing.push(...page.filter((id) => !have.has(id)));
  }
  return missing;
}

/**
 * How far the record is known complete at the loss: '' (complete through the given id), the
 * rolled-back mark to leave for ledger:init --after-loss, or a refusal (unknown, or impossible).
 */
function lossBoundary(job: ShardJob, recordLast: string): string | ShardOutcome {
  const { shard } = job;
  const refused = (reason: string): ShardOutcome => ({ shard, outcome: 'refused', reason });
  if (job.through !== undefined) {
    if (compareStreamIds(recordLast, job.through) > 0)
      return refused(
        `the record holds events of shard ${shard} up to ${recordLast}, after ${job.through}: that cannot be where the lost state ended; give the recorder's position at the loss`,
      );
    return '';
  }
  if (job.afterLoss)
    return 'rebuilt from the record, whose lag at the loss is unknown: written off by ledger:init --after-loss';
  return refused(
    `the record's lag at the time of the loss is unknown: say how far it is complete with --record-complete-through <stream id> (the recorder's position at the loss), or add --after-loss to rebuild and then write off what shard ${shard} could still issue`,
  );
}

/** What the record says the rebuilt ledger is, from the shard's position row. */
interface RecordedShard {
  recordLast: string;
  redisLast: string | undefined;
  ledgerEvents: string;
  initAt: string;
  epoch: Epoch;
  leaveMarked: string;
}

/** Closes the shard as it was read, writes the record's state into it, and opens it again. */
async function restoreShard(
  job: ShardJob,
  keys: ShardKeys,
  head: LedgerHead,
  recorded: RecordedShard,
): Promise<ShardOutcome> {
  const { redis, record, shard, calendar } = job;
  const refused = (reason: string): ShardOutcome => ({ shard, outcome: 'refused', reason });
  const { epoch } = recorded;
  // Close the shard, as it was read (compare-and-set on its last event).
  const token = randomBytes(8).toString('hex');
  const begun = await job.scripts.rebuildBegin(
    [keys.ledger, keys.audit],
    [
      campaignFingerprint(calendar.campaign),
      head.fingerprint === null ? '' : (head.lastEventId ?? ''),
      token,
      `rebuilding from the record (${token})`,
    ],
  );
  if (codeOf(begun) === LedgerCode.LedgerChanged)
    return refused(
      `shard ${shard}'s ledger changed while it was compared with the record (now at ${String(begun[1])}): run the rebuild again`,
    );
  expectOk(begun, shard, 'begin');

  const [seconds, micros] = await redis.time();
  const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const written = { coupons: 0, events: 0 };
  await writeCoupons(job, keys, token, nowMs, epoch, written);
  await writeUsers(job, keys, token, nowMs, epoch);
  await writeOrders(job, keys, token, nowMs);
  await writeEvents(job, keys, token, nowMs, epoch, recorded.redisLast, written);

  const ledger = await recordedLedger(record, calendar, shard, epoch, recorded.initAt);
  // '-' is never a run id: the rebuilt ledger serves once the recorder verified this process.
  if (job.fenced) ledger.fields.push('fence', '-');
  const today = calendar.dayAt(job.clock.now())?.day ?? '-';
  const finished = await job.scripts.rebuildFinish(
    [keys.ledger, keys.audit, keys.transit],
    [
      token,
      recorded.ledgerEvents,
      recorded.recordLast,
      today,
      recorded.leaveMarked,
      String(ledger.fields.length / 2),
      ...ledger.fields,
      ...ledger.transit,
    ],
  );
  expectOk(finished, shard, 'finish');
  // At the restore's generation (Redis time): a rolled-back mark detected before it and written
  // to the record late does not close the rebuilt shard's record again.
  await record.clearRolledBack(job.calendar.campaign.id, shard, Number(finished[1]));
  return {
    shard,
    outcome: 'rebuilt',
    coupons: written.coupons,
    events: written.events,
    gen: String(finished[1]),
  };
}
