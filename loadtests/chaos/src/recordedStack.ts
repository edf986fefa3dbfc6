import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BudgetLedger, RedisTimeClock } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import { LedgerRecord, migrate, reconcileWithRecord } from '@coupons/ledger-record';
import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import {
  createPrivateDatabase,
  dropPrivateDatabase,
  liveCampaign,
  uniqueId,
  until,
  type CampaignInput,
  type PrivateDatabase,
} from '@coupons/testing';
import { Redis } from 'ioredis';
import { Fleet, ServicePod } from './pods';
import { SteadyLoad } from './steadyLoad';

export interface RecordedStackOptions {
  /** the campaign id's prefix */
  name: string;
  shards: number;
  pods: number;
  /** the database URL the recorder is given, from the private database's (a proxy in front) */
  recorderDatabaseUrl?: (databaseUrl: string) => string;
}

/**
 * What the recorder scenarios run on: a private PostgreSQL database (migrated), a private
 * redis-server in a directory of its own (so a snapshot can be taken from it), a campaign whose
 * ledger is initialised, service pods and a recorder as processes. Redis, its client and the
 * recorder may be replaced during a run (a loss); close() stops whatever is there at the end.
 */
export class RecordedStack {
  readonly runId = randomBytes(4).toString('hex');
  readonly campaign: CampaignInput;
  readonly calendar: CampaignCalendar;
  database: PrivateDatabase | undefined;
  record: LedgerRecord | undefined;
  server: RedisServerHandle | undefined;
  redis: Redis | undefined;
  fleet: Fleet | undefined;
  recorder: ServicePod | undefined;
  recorderEnv: Record<string, string> = {};

  private constructor(private readonly options: RecordedStackOptions) {
    this.campaign = liveCampaign(uniqueId(options.name), {
      coupons: 2_000_000,
      shards: options.shards,
      slicesPerDay: 1,
    });
    this.calendar = new CampaignCalendar(parseCampaigns({ campaigns: [this.campaign] })[0]!);
  }

  /** Everything started; on a failure, what was started is stopped before the error is thrown. */
  static async start(options: RecordedStackOptions): Promise<RecordedStack> {
    const stack = new RecordedStack(options);
    try {
      await stack.startAll();
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  private async startAll(): Promise<void> {
    this.database = await createPrivateDatabase();
    await migrate(this.database.url);
    this.record = LedgerRecord.connect(this.database.url);
    await this.startRedis();
    await (await this.ledger()).init({ neverIssued: true });
    this.fleet = new Fleet({
      campaigns: [this.campaign],
      env: { REDIS_URL: this.server!.url, DATABASE_URL: this.database.url },
    });
    await this.fleet.start(this.options.pods);
    this.recorderEnv = {
      ...this.fleet.env,
      DATABASE_URL: this.options.recorderDatabaseUrl?.(this.database.url) ?? this.database.url,
      RECORDER_BLOCK_MS: '50',
      RECORDER_SAMPLE_MS: '200',
      RECORDER_CLAIM_IDLE_MS: '1000',
    };
    this.recorder = await ServicePod.startRecorder(this.recorderEnv);
  }

  /** A redis-server (on `port`, from `dir` when given: a restart) and a client of it. */
  async startRedis(restart: { port: number; dir: string } | undefined = undefined): Promise<void> {
    this.server = await startRedisServer(
      restart ?? { dir: mkdtempSync(join(tmpdir(), 'coupons-chaos-redis-')) },
    );
    this.redis = new Redis(this.server.url, { maxRetriesPerRequest: 1 });
  }

  /** A ledger of the campaign on Redis's own clock, synced now. */
  async ledger(): Promise<BudgetLedger> {
    return new BudgetLedger(this.redis!, this.calendar, await this.redisClock());
  }

  /** Redis's time, as the scripts see it. */
  async redisClock(): Promise<RedisTimeClock> {
    const clock = new RedisTimeClock(this.redis!);
    await clock.sync();
    return clock;
  }

  /** The recorder SIGKILLed and a new one started (its consumer name is new: host and pid). */
  async restartRecorder(): Promise<void> {
    await this.recorder?.kill('SIGKILL');
    this.recorder = await ServicePod.startRecorder(this.recorderEnv);
  }

  /** Steady claims on the pods that are up, each run's users and keys its own. */
  load(claimsPerSecond: number, run: string, redeemShare = 0): SteadyLoad {
    return new SteadyLoad({
      campaignId: this.campaign.id,
      shards: this.options.shards,
      apiKey: this.fleet!.apiKey,
      pods: () => this.fleet!.running,
      claimsPerSecond,
      redeemShare,
      runId: `${this.runId}-${run}`,
    });
  }

  /** Until the record holds every event Redis holds (the recorder has no lag). */
  async recorderCaughtUp(timeoutMs: number): Promise<void> {
    const lagging = async () =>
      (await reconcileWithRecord(this.redis!, this.calendar, this.record!)).lagging;
    await until(
      'the recorder caught up',
      async () => ((await lagging()).length === 0 ? true : undefined),
      timeoutMs,
    ).catch(async (err: unknown) => {
      throw new Error(
        `${(err as Error).message}: lagging ${JSON.stringify(await lagging())}\nrecorder log:\n${this.recorder?.log() ?? ''}`,
      );
    });
  }

  async close(): Promise<void> {
    await this.recorder?.kill('SIGTERM');
    await this.fleet?.stop();
    this.redis?.disconnect();
    await this.record?.close();
    await this.server?.stop();
    if (this.database !== undefined) await dropPrivateDatabase(this.database.name);
  }
}
