import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { reconcileWithRecord, type LedgerRecord } from '@coupons/ledger-record';
import { testPostgresServerUrl } from '@coupons/testing';
import { CuttableProxy } from './cuttableProxy';
import { ledgerFields, takeInventory, type Inventory } from './inventory';
import { RecordedStack } from './recordedStack';

export interface RecorderFaultsOptions {
  claimsPerSecond: number;
  loadMs: number;
  /** how long PostgreSQL is unreachable, from half way through the load */
  databaseDownMs: number;
  shards?: number;
}

export interface RecorderFaultsResult {
  options: RecorderFaultsOptions;
  /** events every shard's ledger counts, and events the record holds: equal when none is missing */
  eventsInRedis: number;
  eventsRecorded: number;
  /** recorded events whose (campaign, shard, stream id) appears twice: 0 by the unique key */
  eventsTwice: number;
  /** claims sent / 2xx while PostgreSQL was down: claims do not need it */
  duringOutage: { sent: number; acknowledged: number };
  /** the most the recorder reported pending, and its oldest unrecorded event's age, meanwhile */
  maxPendingEvents: number;
  maxOldestAgeSeconds: number;
  /** from PostgreSQL back to the record holding every event */
  catchUpMs: number;
  recordProblems: string[];
  inventory: Inventory;
}

/** The sum (or max) of one metric's samples in a Prometheus text exposition. */
function metricValues(text: string, name: string): number[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)))
    .filter((value) => Number.isFinite(value));
}

/**
 * The recorder SIGKILLed under load and a new one started (the dead one's unacknowledged entries
 * are claimed after RECORDER_CLAIM_IDLE_MS), then PostgreSQL unreachable for a while: claims go on,
 * the lag grows and shows in the recorder's metrics, and recording catches up. At the end every
 * event Redis counted is recorded exactly once.
 */
export async function runRecorderFaults(
  options: RecorderFaultsOptions,
): Promise<RecorderFaultsResult> {
  const shards = options.shards ?? 4;
  let proxy: CuttableProxy | undefined;
  let stack: RecordedStack | undefined;
  try {
    // The recorder reaches PostgreSQL through a proxy the run can cut.
    const server = testPostgresServerUrl();
    proxy = await CuttableProxy.start({
      host: server.hostname,
      port: Number(server.port || 5432),
    });
    const port = proxy.port;
    stack = await RecordedStack.start({
      name: 'chaos-recorder',
      shards,
      pods: 2,
      recorderDatabaseUrl: (url) => {
        const viaProxy = new URL(url);
        viaProxy.hostname = '127.0.0.1';
        viaProxy.port = String(port);
        return viaProxy.toString();
      },
    });
    const { campaign, calendar } = stack;
    const redis = stack.redis!;
    const record = stack.record!;

    const load = stack.load(options.claimsPerSecond, 'load', 0.3);
    load.start();
    await delay(options.loadMs / 4);
    await stack.recorder!.kill('SIGKILL');
    await delay(1_000);
    await stack.restartRecorder();
    await delay(options.loadMs / 4);

    proxy.stop();
    const downFrom = load.now();
    const { maxPendingEvents, maxOldestAgeSeconds } = await watchLag(
      () => stack!.recorder!.metricsBase,
      options.databaseDownMs,
    );
    const downTo = load.now();
    proxy.restore();
    const restoredAt = performance.now();
    await delay(Math.max(0, options.loadMs / 2 - options.databaseDownMs));
    await load.stop();
    await stack.recorderCaughtUp(60_000);
    const catchUpMs = performance.now() - restoredAt;

    const events = await eventCounts(redis, record, campaign.id, shards);
    const during = load.claims.filter((c) => c.sentAt >= downFrom && c.sentAt <= downTo);
    const check = await reconcileWithRecord(redis, calendar, record);
    return {
      options,
      ...events,
      duringOutage: {
        sent: during.length,
        acknowledged: during.filter((c) => c.code !== undefined).length,
      },
      maxPendingEvents,
      maxOldestAgeSeconds,
      catchUpMs,
      recordProblems: check.problems,
      inventory: await takeInventory(redis, await stack.ledger(), calendar, load.claims),
    };
  } finally {
    await stack?.close();
    await proxy?.close();
  }
}

/** The recorder's lag as its metrics show it, every 250 ms for `forMs`: the highest seen. */
async function watchLag(
  metricsBase: () => string,
  forMs: number,
): Promise<{ maxPendingEvents: number; maxOldestAgeSeconds: number }> {
  let maxPendingEvents = 0;
  let maxOldestAgeSeconds = 0;
  const downUntil = performance.now() + forMs;
  while (performance.now() < downUntil) {
    await delay(250);
    const text = await fetch(`${metricsBase()}/metrics`).then(
      (res) => res.text(),
      () => '',
    );
    maxPendingEvents = Math.max(
      maxPendingEvents,
      metricValues(text, 'coupon_recorder_pending_events').reduce((a, b) => a + b, 0),
    );
    maxOldestAgeSeconds = Math.max(
      maxOldestAgeSeconds,
      ...metricValues(text, 'coupon_recorder_oldest_unrecorded_age_seconds'),
    );
  }
  return { maxPendingEvents, maxOldestAgeSeconds };
}

/** The events the shards' ledgers counted, the events recorded, and how many were recorded twice. */
async function eventCounts(
  redis: Redis,
  record: LedgerRecord,
  campaignId: string,
  shards: number,
): Promise<{ eventsInRedis: number; eventsRecorded: number; eventsTwice: number }> {
  const eventsInRedis = (await ledgerFields(redis, campaignId, shards, 'events')).reduce(
    (sum, events) => sum + Number(events ?? 0),
    0,
  );
  const counts = await record.query<{ total: string; distinct: string }>(
    `SELECT count(*) AS total, count(DISTINCT (shard, stream_id)) AS distinct
       FROM ledger_events WHERE campaign_id = $1`,
    [campaignId],
  );
  const total = Number(counts.rows[0]!.total);
  return {
    eventsInRedis,
    eventsRecorded: total,
    eventsTwice: total - Number(counts.rows[0]!.distinct),
  };
}
