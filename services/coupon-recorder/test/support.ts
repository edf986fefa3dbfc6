import type { Cluster, Redis } from 'ioredis';
import { BudgetLedger } from '@coupons/budget-ledger';
import {
  CampaignCalendar,
  parseCampaigns,
  systemClock,
  type CampaignConfig,
} from '@coupons/campaign';
import { EVENT_TYPES, LedgerRecord, migrate } from '@coupons/ledger-record';
import { createLogger, createRecorderMetrics, type RecorderMetrics } from '@coupons/telemetry';
import {
  liveCampaign,
  uniqueId,
  usePrivateDatabaseClient,
  type PrivateDatabase,
} from '@coupons/testing';
import { Recorder, shardsOf, type EventRecord, type RecorderOptions } from '../src';

/**
 * A private PostgreSQL database with the book of record's tables, and a LedgerRecord on it for
 * the block's tests, handed to `opened` and closed after them.
 */
export function usePrivateRecord(opened: (record: LedgerRecord) => void): PrivateDatabase {
  return usePrivateDatabaseClient(migrate, LedgerRecord.connect, opened);
}

/** A campaign open now (the ledger goes by Redis TIME), `shards` shards, initialised. */
export async function liveLedger(
  redis: Redis | Cluster,
  shards = 2,
  options: { fenced?: boolean } = {},
): Promise<{ campaign: CampaignConfig; ledger: BudgetLedger }> {
  const [campaign] = parseCampaigns({
    campaigns: [liveCampaign(uniqueId('rec'), { shards, coupons: 100_000 })],
  });
  const ledger = new BudgetLedger(redis, new CampaignCalendar(campaign!), systemClock);
  await ledger.init({ neverIssued: true, fenced: options.fenced === true });
  return { campaign: campaign!, ledger };
}

let users = 0;
/** `count` claims by new users, each issued. */
export async function claims(ledger: BudgetLedger, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    users += 1;
    const userId = `u${users}-${Math.random().toString(36).slice(2, 8)}`;
    const result = await ledger.issue({
      userId,
      idempotencyKey: `k-${userId}`,
      bodyHash: `{"userId":"${userId}"}`,
    });
    if (result.kind !== 'issued') throw new Error(`claim ${result.kind}`);
  }
}

export const silentLogger = createLogger({ level: 'silent' });

/** A recorder over every shard of `campaign`, with its own metrics; options override. */
export function recorderFor(
  redis: Redis | Cluster,
  record: EventRecord,
  campaign: CampaignConfig,
  options: Partial<RecorderOptions> = {},
): { recorder: Recorder; metrics: RecorderMetrics } {
  const metrics = options.metrics ?? createRecorderMetrics(EVENT_TYPES);
  const recorder = new Recorder({
    redis,
    record,
    shards: shardsOf([campaign]),
    consumer: options.consumer ?? uniqueId('consumer'),
    batchSize: 50,
    claimIdleMs: 60_000,
    logger: silentLogger,
    ...options,
    metrics,
  });
  return { recorder, metrics };
}

/**
 * A live ledger (liveLedger) of `shards` shards with `count` claims, and a recorder (recorderFor)
 * that has recorded all of it (drain): where a test of what befalls a recorded shard begins.
 */
export async function recordedLedger(
  redis: Redis | Cluster,
  record: EventRecord,
  shards: number,
  count: number,
): Promise<{
  campaign: CampaignConfig;
  ledger: BudgetLedger;
  recorder: Recorder;
  metrics: RecorderMetrics;
}> {
  const { campaign, ledger } = await liveLedger(redis, shards);
  await claims(ledger, count);
  const { recorder, metrics } = recorderFor(redis, record, campaign);
  await drain(recorder);
  return { campaign, ledger, recorder, metrics };
}

/** Rounds until one records nothing (and had no fault); the entries recorded. */
export async function drain(recorder: Recorder): Promise<number> {
  let total = 0;
  for (let i = 0; i < 1000; i += 1) {
    const { recorded, faults } = await recorder.round();
    if (faults > 0) throw new Error(`round with ${faults} faults`);
    if (recorded === 0) return total;
    total += recorded;
  }
  throw new Error('drain: still recording after 1000 rounds');
}

/** Stream ids of every event the record holds for the campaign's shard, in order. */
export async function recordedIds(
  record: LedgerRecord,
  campaignId: string,
  shard: number,
): Promise<string[]> {
  const { rows } = await record.query<{ stream_id: string }>(
    `SELECT stream_id FROM ledger_events WHERE campaign_id = $1 AND shard = $2
     ORDER BY stream_ms, stream_seq`,
    [campaignId, shard],
  );
  return rows.map((row) => row.stream_id);
}

/** A counter's or gauge's value for these labels (0 when the series does not exist). */
export async function metricValue(
  metrics: RecorderMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
    .reduce((sum, v) => sum + v.value, 0);
}
