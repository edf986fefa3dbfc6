import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  BudgetLedger,
  campaignFingerprint,
  codeOf,
  LedgerCode,
  registerRebuildScripts,
  shardKeys,
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
  const scripts = registerRebuildScripts(redis);
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
    });
    report.shards.push(outcome);
    if (outcome.outcome === 'rebuilt') report.rebuilt.push(shard);
    if (outcome.outcome === 'refused') report.refused.push(shard);
  }
  if (options.afterLoss === true) {
    // The rebuilt shards are left marked rolled back: written off (and opened) here, with the
    // shards that have no ledger and nothing recorded, exactly as ledger:init --after-loss does.
    const init = await new BudgetLedger(redis, calendar, clock).init({ afterLoss: true });
    report.writtenOffCoupons = init.writtenOffCoupons;
  }
  return report;
}

interface ShardJob {
  redis: Redis | Cluster;
  scripts: RebuildScripts;
  calendar: CampaignCalendar;
  clock: LedgerClock;
  record: LedgerRecord;
  shard: number;
  through: string | undefined;
  afterLoss: boolean;
  batchSize: number;
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
  const ledgerRow = await redis.hmget(
    keys.ledger,
    'fingerprint',
    'rolledBack',
    'lastEventId',
    'rebuild',
  );
  const field = (i: number): string | null => ledgerRow[i] ?? null;
  const [fingerprint, rolledBack, lastEventId, rebuilding] = [
    field(0),
    field(1),
    field(2),
    field(3),
  ];
  const ledgerExists = fingerprint !== null && rebuilding === null;
  if (position === undefined || recordLast === null) {
    return ledgerExists && rolledBack === null
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
  if (missing.length > 0)
    return refused(
      `Redis holds ${missing.length} event(s) of shard ${shard} the record lacks (first ${missing[0]}): the recorder is behind or stopped; let it catch up, then rebuild`,
    );
  const redisLast = ids[ids.length - 1];

  const lost = fingerprint === null || rolledBack !== null || rebuilding !== null;
  const behind = !lost && (lastEventId === null || compareStreamIds(lastEventId, recordLast) < 0);
  if (!lost && !behind) {
    return {
      shard,
      outcome: 'in_sync',
      reason: `the ledger in Redis is live and holds the record's last event ${recordLast}`,
    };
  }

  let leaveMarked = '';
  if (job.through !== undefined) {
    if (compareStreamIds(recordLast, job.through) > 0)
      return refused(
        `the record holds events of shard ${shard} up to ${recordLast}, after ${job.through}: that cannot be where the lost state ended; give the recorder's position at the loss`,
      );
  } else if (job.afterLoss) {
    leaveMarked =
      'rebuilt from the record, whose lag at the loss is unknown: written off by ledger:init --after-loss';
  } else {
    return refused(
      `the record's lag at the time of the loss is unknown: say how far it is complete with --record-complete-through <stream id> (the recorder's position at the loss), or add --after-loss to rebuild and then write off what shard ${shard} could still issue`,
    );
  }

  // Close the shard, as it was read (compare-and-set on its last event).
  const token = randomBytes(8).toString('hex');
  const begun = await job.scripts.begin(
    [keys.ledger, keys.audit],
    [
      campaignFingerprint(calendar.campaign),
      fingerprint === null ? '' : (lastEventId ?? ''),
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
  const epoch = { ms: position.epoch_stream_ms, seq: position.epoch_stream_seq };
  const written = { coupons: 0, events: 0 };
  await writeCoupons(job, keys, token, nowMs, epoch, written);
  await writeUsers(job, keys, token, nowMs, epoch);
  await writeOrders(job, keys, token, nowMs);
  await writeEvents(job, keys, token, nowMs, epoch, redisLast, written);

  const ledger = await recordedLedger(record, calendar, shard, epoch, position.init_at);
  const today = calendar.dayAt(job.clock.now())?.day ?? '-';
  const finished = await job.scripts.finish(
    [keys.ledger, keys.audit, keys.transit],
    [
      token,
      position.ledger_events,
      recordLast,
      today,
      leaveMarked,
      String(ledger.fields.length / 2),
      ...ledger.fields,
      ...ledger.transit,
    ],
  );
  expectOk(finished, shard, 'finish');
  await record.clearRolledBack(campaignId, shard);
  return {
    shard,
    outcome: 'rebuilt',
    coupons: written.coupons,
    events: written.events,
    gen: String(finished[1]),
  };
}

function expectOk(reply: (string | number)[], shard: number, step: string): void {
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
async function writeCoupons(
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
async function writeUsers(
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
async function writeOrders(
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
async function writeEvents(
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
