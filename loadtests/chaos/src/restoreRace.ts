import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { BudgetLedger, LedgerFault, RedisTimeClock, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns, type CampaignConfig } from '@coupons/campaign';
import { LedgerRecord, migrate, reconcileWithRecord } from '@coupons/ledger-record';
import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import {
  createPrivateDatabase,
  dropPrivateDatabase,
  liveCampaign,
  mulberry32,
  uniqueId,
  until,
  type PrivateDatabase,
} from '@coupons/testing';
import { Redis } from 'ioredis';
import { Fleet, ServicePod } from './pods';

export interface RestoreRaceOptions {
  trials: number;
  /** the randomness of every trial follows from it (a failure names it, to run it again) */
  seed: number;
  /** the fence on (production) or off (development): off, the race must be able to over-issue */
  fenced: boolean;
  /** how long the new pod keeps claiming after Redis is back (ms) */
  claimMs?: number;
}

export interface RestoreRaceTrial {
  /** coupons released so far on the trial's one shard: users may hold at most these */
  released: number;
  /** claims served before the snapshot, and after it (lost by the restore, in the record) */
  beforeSnapshot: number;
  afterSnapshot: number;
  /** Redis down this long (ms); the recorder restarted while it was down */
  downMs: number;
  recorderRestartedWhileDown: boolean;
  /** distinct codes users were given, all pods together (must be at most released) */
  held: number;
  /** the shard after the race: refusing (marked rolled back) or serving */
  ended: 'rolled_back' | 'serving';
  /** from Redis accepting connections again to the new pod's first coupon (serving), ms */
  firstServedMs: number | null;
  /** the new pod's refusals by reason while the shard was not verified */
  refusals: Record<string, number>;
  /** reconcile against the record, for a shard that serves (must be empty) */
  recordProblems: string[];
}

export interface RestoreRaceResult {
  options: RestoreRaceOptions;
  trials: RestoreRaceTrial[];
}

/**
 * The restore race, as an audit found it: claims recorded in PostgreSQL, then Redis killed and
 * back from a snapshot older than the record while the recorder runs (or is started while Redis
 * is down), and a new pod claiming at once. Each trial has a one-shard campaign of its own with a
 * small release, and claims until that release is spent: a restored shard that served before
 * the record compared it would give users more coupons than were released.
 *
 * Real processes: redis-server (restarted from the snapshot file), PostgreSQL and the recorder
 * (its built main.js). The pods are BudgetLedger instances in this process, each a new one (as a
 * new pod: it has seen nothing of the shard, so only the fence can stop it).
 */
// Long: a linear experiment script (set up, then per trial: serve, snapshot, kill, restore, race, check), read best whole.
export async function runRestoreRace(options: RestoreRaceOptions): Promise<RestoreRaceResult> {
  // The trials follow from the seed.
  const next = mulberry32(options.seed);
  const campaigns = Array.from({ length: options.trials }, (_, i) =>
    liveCampaign(uniqueId(`race${i}`), { shards: 1, coupons: 160, slicesPerDay: 1 }),
  );
  const calendars = parseCampaigns({ campaigns }).map(
    (c: CampaignConfig) => new CampaignCalendar(c),
  );
  const backup = mkdtempSync(join(tmpdir(), 'coupons-chaos-race-'));
  let database: PrivateDatabase | undefined;
  let record: LedgerRecord | undefined;
  let server: RedisServerHandle | undefined;
  let fleet: Fleet | undefined;
  let recorder: ServicePod | undefined;
  const clients: Redis[] = [];
  const client = (url: string) => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  };
  try {
    database = await createPrivateDatabase();
    await migrate(database.url);
    record = LedgerRecord.connect(database.url);
    server = await startRedisServer({ dir: mkdtempSync(join(tmpdir(), 'coupons-chaos-redis-')) });
    let setup = client(server.url);
    await until('Redis up', async () => ((await setup.ping().catch(() => '')) ? true : undefined));
    for (const calendar of calendars)
      await new BudgetLedger(setup, calendar, await clockOf(setup)).init({
        neverIssued: true,
        fenced: options.fenced,
      });
    // The recorder as deployed (its defaults: a poll every RECORDER_BLOCK_MS = 1 s when idle).
    fleet = new Fleet({ campaigns, env: { REDIS_URL: server.url, DATABASE_URL: database.url } });
    const recorderEnv = { ...fleet.env, RECORDER_SAMPLE_MS: '500' };
    recorder = await ServicePod.startRecorder(recorderEnv);

    const trials: RestoreRaceTrial[] = [];
    for (const [index, calendar] of calendars.entries()) {
      const { campaign } = calendar;
      const keys = shardKeys(campaign.id, 0);
      const released = calendar.releasedCouponsAt(Date.now());
      const codes = new Set<string>();
      let users = 0;
      const claimOn = async (ledger: BudgetLedger) => {
        users += 1;
        const userId = `${campaign.id}-u${users}`;
        const result = await ledger.issue({
          userId,
          idempotencyKey: `k-${userId}`,
          bodyHash: `{"userId":"${userId}"}`,
        });
        if (result.kind === 'issued') codes.add(result.coupon.code);
        return result.kind;
      };

      // Pod A serves, the shard verified (fenced: wait for the recorder).
      const podA = new BudgetLedger(setup, calendar, await clockOf(setup));
      const beforeSnapshot = Math.floor(released * (0.2 + 0.3 * next()));
      // Every third trial restores a snapshot the record does not go past (it must open again).
      const afterSnapshot = index % 3 === 0 ? 0 : 1 + Math.floor(released * 0.3 * next());
      await until(
        'the shard verified',
        async () => ((await served(() => claimOn(podA))) ? true : undefined),
        15_000,
      );
      while (codes.size < beforeSnapshot) await claimOn(podA);
      await setup.save();
      copyFileSync(join(server.dir, 'dump.rdb'), join(backup, 'dump.rdb'));
      for (let i = 0; i < afterSnapshot; i += 1) await claimOn(podA);
      const beforeRace = codes.size;
      // Everything recorded: the record is ahead of the snapshot by afterSnapshot claims.
      await until(
        'the recorder caught up',
        async () =>
          (await reconcileWithRecord(setup, calendar, record!)).lagging.length === 0
            ? true
            : undefined,
        15_000,
      );

      // The loss: Redis killed; back after downMs from the snapshot, on the same port.
      const downMs = Math.round(100 + 1400 * next());
      const recorderRestartedWhileDown = next() < 0.5;
      const { port, dir } = server;
      process.kill(server.pid, 'SIGKILL');
      await server.stop().catch(() => undefined);
      const startedAt = performance.now();
      if (recorderRestartedWhileDown) {
        await recorder.kill('SIGKILL');
        recorder = await ServicePod.startRecorder(recorderEnv);
      }
      const left = downMs - (performance.now() - startedAt);
      if (left > 0) await delay(left);
      copyFileSync(join(backup, 'dump.rdb'), join(dir, 'dump.rdb'));
      server = await startRedisServer({ port, dir });
      const backAt = performance.now();

      // A new pod claims at once, until the release is spent, the shard refuses for good, or
      // claimMs passes.
      const podRedis = client(server.url);
      const podB = new BudgetLedger(podRedis, calendar, new RedisTimeClock(podRedis));
      const race = await raceAfterRestore(
        () => claimOn(podB),
        backAt + (options.claimMs ?? 4_000),
        backAt,
      );
      const settled = await untilRecordedOrMarked(podRedis, keys.ledger, calendar, record);
      trials.push({
        released,
        beforeSnapshot,
        afterSnapshot: beforeRace - beforeSnapshot,
        downMs,
        recorderRestartedWhileDown,
        held: codes.size,
        ended: settled.marked ? 'rolled_back' : race.ended,
        firstServedMs: race.firstServedMs,
        refusals: race.refusals,
        recordProblems: settled.recordProblems,
      });
      // The next trial's pods and checks talk to the restarted Redis.
      setup = podRedis;
    }
    return { options, trials };
  } finally {
    for (const redis of clients) redis.disconnect();
    await recorder?.kill('SIGTERM');
    await fleet?.stop();
    await record?.close();
    await server?.stop();
    if (database !== undefined) await dropPrivateDatabase(database.name);
    rmSync(backup, { recursive: true, force: true });
  }
}

/**
 * A new pod claims at once after the restore, until `until` (performance.now() ms), the release is
 * spent or the shard refuses for good: when it was first served (ms after `backAt`), what it was
 * refused, and whether the shard ended marked rolled back.
 */
async function raceAfterRestore(
  claim: () => Promise<string>,
  until: number,
  backAt: number,
): Promise<{
  ended: RestoreRaceTrial['ended'];
  firstServedMs: number | null;
  refusals: Record<string, number>;
}> {
  const refusals: Record<string, number> = {};
  let firstServedMs: number | null = null;
  while (performance.now() < until) {
    let outcome: string;
    try {
      outcome = await claim();
    } catch (err) {
      outcome = err instanceof LedgerFault ? err.reason : 'redis';
    }
    if (outcome === 'issued') firstServedMs ??= performance.now() - backAt;
    else refusals[outcome] = (refusals[outcome] ?? 0) + 1;
    if (outcome === 'rolled_back') return { ended: 'rolled_back', firstServedMs, refusals };
    if (outcome === 'tranche_exhausted' || outcome === 'budget_exhausted') break;
    if (outcome !== 'issued') await delay(20);
  }
  return { ended: 'serving', firstServedMs, refusals };
}

/**
 * Until the recorder has recorded everything, or marked the shard (unfenced, it may do so after
 * the pod was served: then the shard ends refusing, too late): whether it is marked, and the
 * record's problems once caught up.
 */
async function untilRecordedOrMarked(
  redis: Redis,
  ledgerKey: string,
  calendar: CampaignCalendar,
  record: LedgerRecord | undefined,
): Promise<{ marked: boolean; recordProblems: string[] }> {
  let marked = false;
  let recordProblems: string[] = [];
  const settleBy = Date.now() + 10_000;
  await until(
    'the recorder caught up after the race, or the shard marked',
    async () => {
      if ((await redis.hget(ledgerKey, 'rolledBack').catch(() => null)) !== null) {
        marked = true;
        return true;
      }
      const check = await reconcileWithRecord(redis, calendar, record!);
      if (check.lagging.length > 0) return undefined;
      recordProblems = check.problems;
      // A batch delivered to the recorder but not yet committed is not "lagging" in the stream,
      // yet the record does not hold it: differences are read again until they settle or time
      // runs out (then they are the trial's result).
      if (recordProblems.length > 0 && Date.now() < settleBy) return undefined;
      return true;
    },
    15_000,
  );
  return { marked, recordProblems };
}

async function clockOf(redis: Redis): Promise<RedisTimeClock> {
  const clock = new RedisTimeClock(redis);
  await clock.sync();
  return clock;
}

/** Whether `claim` issued (a refusal for want of verification is not yet). */
async function served(claim: () => Promise<string>): Promise<boolean> {
  try {
    return (await claim()) === 'issued';
  } catch (err) {
    if (err instanceof LedgerFault && err.reason === 'unverified') return false;
    throw err;
  }
}
