import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { BudgetLedger, RedisTimeClock, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import { LedgerRecord, migrate, reconcileWithRecord } from '@coupons/ledger-record';
import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import {
  createPrivateDatabase,
  dropPrivateDatabase,
  liveCampaign,
  uniqueId,
  until,
  type PrivateDatabase,
} from '@coupons/testing';
import { Redis } from 'ioredis';
import { CuttableProxy } from './cuttableProxy';
import { takeInventory, type Inventory } from './inventory';
import { Fleet, ServicePod } from './pods';
import { SteadyLoad } from './steadyLoad';

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
  const campaign = liveCampaign(uniqueId('chaos-recorder'), {
    coupons: 2_000_000,
    shards,
    slicesPerDay: 1,
  });
  const calendar = new CampaignCalendar(parseCampaigns({ campaigns: [campaign] })[0]!);
  let server: RedisServerHandle | undefined;
  let database: PrivateDatabase | undefined;
  let proxy: CuttableProxy | undefined;
  let fleet: Fleet | undefined;
  let recorder: ServicePod | undefined;
  let redis: Redis | undefined;
  let record: LedgerRecord | undefined;
  try {
    database = await createPrivateDatabase();
    await migrate(database.url);
    record = LedgerRecord.connect(database.url);
    const direct = new URL(database.url);
    proxy = await CuttableProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);

    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const clock = new RedisTimeClock(redis);
    await clock.sync();
    const ledger = new BudgetLedger(redis, calendar, clock);
    await ledger.init({ neverIssued: true });
    fleet = new Fleet({ campaigns: [campaign], env: { REDIS_URL: server.url } });
    await fleet.start(2);
    const recorderEnv = {
      ...fleet.env,
      DATABASE_URL: viaProxy.toString(),
      RECORDER_BLOCK_MS: '50',
      RECORDER_SAMPLE_MS: '200',
      RECORDER_CLAIM_IDLE_MS: '1000',
    };
    recorder = await ServicePod.startRecorder(recorderEnv);

    const load = new SteadyLoad({
      campaignId: campaign.id,
      shards,
      apiKey: fleet.apiKey,
      pods: () => fleet!.running,
      claimsPerSecond: options.claimsPerSecond,
      redeemShare: 0.3,
      runId: randomBytes(4).toString('hex'),
    });
    load.start();
    await delay(options.loadMs / 4);
    await recorder.kill('SIGKILL');
    await delay(1_000);
    recorder = await ServicePod.startRecorder(recorderEnv);
    await delay(options.loadMs / 4);

    proxy.stop();
    const downFrom = load.now();
    let maxPendingEvents = 0;
    let maxOldestAgeSeconds = 0;
    const downUntil = performance.now() + options.databaseDownMs;
    while (performance.now() < downUntil) {
      await delay(250);
      const text = await fetch(`${recorder.metricsBase}/metrics`).then(
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
    const downTo = load.now();
    proxy.restore();
    const restoredAt = performance.now();
    await delay(Math.max(0, options.loadMs / 2 - options.databaseDownMs));
    await load.stop();
    await until(
      'the recorder caught up',
      async () =>
        (await reconcileWithRecord(redis!, calendar, record!)).lagging.length === 0
          ? true
          : undefined,
      60_000,
    ).catch(async (err: unknown) => {
      const lagging = (await reconcileWithRecord(redis!, calendar, record!)).lagging;
      throw new Error(
        `${(err as Error).message}: lagging ${JSON.stringify(lagging)}\nrecorder log:\n${recorder!.log()}`,
      );
    });
    const catchUpMs = performance.now() - restoredAt;

    let eventsInRedis = 0;
    for (let shard = 0; shard < shards; shard += 1)
      eventsInRedis += Number(
        (await redis.hget(shardKeys(campaign.id, shard).ledger, 'events')) ?? 0,
      );
    const counts = await record.query<{ total: string; distinct: string }>(
      `SELECT count(*) AS total, count(DISTINCT (shard, stream_id)) AS distinct
         FROM ledger_events WHERE campaign_id = $1`,
      [campaign.id],
    );
    const during = load.claims.filter((c) => c.sentAt >= downFrom && c.sentAt <= downTo);
    const check = await reconcileWithRecord(redis, calendar, record);
    return {
      options,
      eventsInRedis,
      eventsRecorded: Number(counts.rows[0]!.total),
      eventsTwice: Number(counts.rows[0]!.total) - Number(counts.rows[0]!.distinct),
      duringOutage: {
        sent: during.length,
        acknowledged: during.filter((c) => c.code !== undefined).length,
      },
      maxPendingEvents,
      maxOldestAgeSeconds,
      catchUpMs,
      recordProblems: check.problems,
      inventory: await takeInventory(redis, ledger, calendar, load.claims),
    };
  } finally {
    await recorder?.kill('SIGTERM');
    await fleet?.stop();
    redis?.disconnect();
    await record?.close();
    await proxy?.close();
    await server?.stop();
    if (database !== undefined) await dropPrivateDatabase(database.name);
  }
}
