import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { takeInventory, type Inventory } from './inventory';
import { Fleet, MAINS, runCli, ServicePod } from './pods';
import { SteadyLoad, type ClaimRecord } from './steadyLoad';

export type LossKind = 'empty' | 'older-snapshot';

export interface LossOptions {
  kind: LossKind;
  claimsPerSecond: number;
  /** load before the loss (the snapshot, for older-snapshot, is taken half way) */
  loadMs: number;
  pods?: number;
  shards?: number;
}

export interface LossResult {
  options: LossOptions;
  /** claims sent / 2xx before the loss */
  before: { sent: number; acknowledged: number };
  /** coupons the ledger counted as issued before the loss, and in PostgreSQL then */
  issuedBefore: number;
  recordedCoupons: number;
  /** claims right after the loss (every pod restarted): how many were refused */
  afterLoss: { sent: number; refused: number; refusedWith: string[] };
  /** ledger:init --from-record: exit code and the time it took */
  restore: { code: number; ms: number; output: string };
  /** coupons the ledger counts after the restore (must equal issuedBefore) */
  issuedAfterRestore: number | null;
  /** replays of acknowledged claims from before the loss: same coupon / asked */
  replays: { asked: number; sameCoupon: number };
  /** new claims after the restore that got 2xx */
  resumed: { sent: number; acknowledged: number };
  /**
   * From the loss to the first 2xx of a new claim after the restore: Redis and every pod back,
   * the refusals seen, the restore run (by this script at once; an operator takes longer).
   */
  recoveryMs: number;
  /** differences between Redis, its streams and PostgreSQL after the restore */
  recordProblems: string[];
  inventory: Inventory;
}

/**
 * Redis loses its data under a fleet of real service processes and a recorder: it restarts empty,
 * or from a snapshot taken half way through the load; then every pod restarts (none remembers
 * what it saw). Claims must refuse, `ledger:init --from-record` must restore the shards exactly,
 * the record and Redis must agree, replays of keys from before must return the same coupons, and
 * issuing must resume from the same totals.
 */
export async function runLoss(options: LossOptions): Promise<LossResult> {
  const shards = options.shards ?? 4;
  const campaign = liveCampaign(uniqueId(`chaos-${options.kind}`), {
    coupons: 2_000_000,
    shards,
    slicesPerDay: 1,
  });
  const calendar = new CampaignCalendar(parseCampaigns({ campaigns: [campaign] })[0]!);
  const backupDir = mkdtempSync(join(tmpdir(), 'coupons-chaos-rdb-'));
  let server: RedisServerHandle | undefined;
  let database: PrivateDatabase | undefined;
  let fleet: Fleet | undefined;
  let recorder: ServicePod | undefined;
  let redis: Redis | undefined;
  let record: LedgerRecord | undefined;
  try {
    database = await createPrivateDatabase();
    await migrate(database.url);
    record = LedgerRecord.connect(database.url);
    server = await startRedisServer({ dir: mkdtempSync(join(tmpdir(), 'coupons-chaos-redis-')) });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const clock = new RedisTimeClock(redis);
    await clock.sync();
    const ledger = new BudgetLedger(redis, calendar, clock);
    await ledger.init({ neverIssued: true });

    fleet = new Fleet({
      campaigns: [campaign],
      env: { REDIS_URL: server.url, DATABASE_URL: database.url },
    });
    await fleet.start(options.pods ?? 2);
    const recorderEnv = {
      ...fleet.env,
      RECORDER_BLOCK_MS: '50',
      RECORDER_SAMPLE_MS: '200',
      RECORDER_CLAIM_IDLE_MS: '1000',
    };
    recorder = await ServicePod.startRecorder(recorderEnv);
    const runId = randomBytes(4).toString('hex');
    const load = new SteadyLoad({
      campaignId: campaign.id,
      shards,
      apiKey: fleet.apiKey,
      pods: () => fleet!.running,
      claimsPerSecond: options.claimsPerSecond,
      redeemShare: 0.3,
      runId,
    });
    load.start();
    await delay(options.loadMs / 2);
    if (options.kind === 'older-snapshot') {
      await redis.save();
      copyFileSync(join(server.dir, 'dump.rdb'), join(backupDir, 'dump.rdb'));
    }
    await delay(options.loadMs / 2);
    await load.stop();
    const beforeClaims = [...load.claims];
    const issuedBefore = (await ledger.snapshot()).issuedCoupons ?? -1;

    // Everything Redis holds is recorded before the loss: the record is complete through now.
    await until(
      'the recorder caught up',
      async () =>
        (await reconcileWithRecord(redis!, calendar, record!)).lagging.length === 0
          ? true
          : undefined,
      30_000,
    );
    await clock.sync();
    const completeThrough = String(clock.now());
    const recordedCoupons = Number(
      (
        await record.query<{ n: string }>(
          'SELECT count(*) AS n FROM coupons WHERE campaign_id = $1',
          [campaign.id],
        )
      ).rows[0]!.n,
    );

    // The loss: Redis killed, back empty or from the older snapshot; every pod restarted.
    const port = server.port;
    redis.disconnect();
    process.kill(server.pid, 'SIGKILL');
    await server.stop().catch(() => undefined);
    const restartDir = mkdtempSync(join(tmpdir(), 'coupons-chaos-redis-'));
    if (options.kind === 'older-snapshot')
      copyFileSync(join(backupDir, 'dump.rdb'), join(restartDir, 'dump.rdb'));
    const lostAt = performance.now();
    server = await startRedisServer({ port, dir: restartDir });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    await fleet.restartAll();
    await recorder.kill('SIGKILL');
    recorder = await ServicePod.startRecorder(recorderEnv);

    // Claims refuse: a missing ledger, or one the recorder marks rolled back.
    if (options.kind === 'older-snapshot')
      await until(
        'the recorder marking the rolled-back shards',
        async () => {
          const marks = await Promise.all(
            Array.from({ length: shards }, (_, s) =>
              redis!.hget(shardKeys(campaign.id, s).ledger, 'rolledBack'),
            ),
          );
          return marks.some((mark) => mark !== null) ? true : undefined;
        },
        30_000,
      );
    const probe = new SteadyLoad({
      campaignId: campaign.id,
      shards,
      apiKey: fleet.apiKey,
      pods: () => fleet!.running,
      claimsPerSecond: 1,
      runId: `${runId}-after`,
    });
    const refusedWith = new Set<string>();
    let refused = 0;
    const probes = 8;
    for (let i = 0; i < probes; i += 1) {
      const answer = await probe.claimOnce(i);
      if (answer.code === undefined) {
        refused += 1;
        refusedWith.add(`${answer.status} ${answer.errorCode ?? ''}`);
      }
    }

    // The restore, as an operator runs it.
    const started = performance.now();
    const restored = await runCli(
      MAINS.ledgerInit,
      ['--campaign', campaign.id, '--from-record', '--record-complete-through', completeThrough],
      { ...fleet.env },
    );
    const restoreMs = performance.now() - started;
    const ledgerAfter = new BudgetLedger(redis, calendar, new RedisTimeClock(redis));
    const issuedAfterRestore = (await ledgerAfter.snapshot()).issuedCoupons;

    // Replays of claims acknowledged before the loss: the same coupon.
    const sample = beforeClaims.filter((c) => c.code !== undefined).slice(0, 40);
    let sameCoupon = 0;
    for (const claim of sample) {
      const again = await load.replay(claim);
      if (again.code === claim.code) sameCoupon += 1;
    }
    // Issuing resumes.
    const resumedLoad = new SteadyLoad({
      campaignId: campaign.id,
      shards,
      apiKey: fleet.apiKey,
      pods: () => fleet!.running,
      claimsPerSecond: options.claimsPerSecond,
      runId: `${runId}-resumed`,
    });
    const resumedAt = performance.now();
    resumedLoad.start();
    await delay(2_000);
    await resumedLoad.stop();
    const firstResumed = resumedLoad.claims.find((c) => c.code !== undefined);
    const recoveryMs =
      firstResumed === undefined ? -1 : resumedAt + firstResumed.sentAt + firstResumed.ms - lostAt;

    await until(
      'the recorder caught up after the restore',
      async () =>
        (await reconcileWithRecord(redis!, calendar, record!)).lagging.length === 0
          ? true
          : undefined,
      30_000,
    );
    const check = await reconcileWithRecord(redis, calendar, record);
    return {
      options,
      before: {
        sent: beforeClaims.length,
        acknowledged: beforeClaims.filter((c) => c.code !== undefined).length,
      },
      issuedBefore,
      recordedCoupons,
      afterLoss: { sent: probes, refused, refusedWith: [...refusedWith] },
      restore: { code: restored.code, ms: restoreMs, output: restored.output },
      issuedAfterRestore,
      replays: { asked: sample.length, sameCoupon },
      resumed: {
        sent: resumedLoad.claims.length,
        acknowledged: resumedLoad.claims.filter((c) => c.code !== undefined).length,
      },
      recoveryMs,
      recordProblems: check.problems,
      inventory: await takeInventory(redis, ledgerAfter, calendar, [
        ...beforeClaims,
        ...resumedLoad.claims,
      ]),
    };
  } finally {
    await recorder?.kill('SIGTERM');
    await fleet?.stop();
    redis?.disconnect();
    await record?.close();
    await server?.stop();
    if (database !== undefined) await dropPrivateDatabase(database.name);
    rmSync(backupDir, { recursive: true, force: true });
  }
}

export type { ClaimRecord };
