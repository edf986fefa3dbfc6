import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Cluster, Redis } from 'ioredis';
import { BudgetLedger, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns, systemClock } from '@coupons/campaign';
import { EVENT_TYPES, type LedgerRecord, type StreamEvent } from '@coupons/ledger-record';
import { createRecorderMetrics } from '@coupons/telemetry';
import {
  connectBeforeAll,
  describeIfPostgres,
  liveCampaign,
  uniqueId,
  until,
  describeWithRedis,
  redisTestTargets,
} from '@coupons/testing';
import { RECORDER_GROUP, RecorderLoop, type EventRecord } from '../src';
import { claims, recordedIds, recorderFor, silentLogger, usePrivateRecord } from './support';

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');

describeIfPostgres('the recorder process and its loop', () => {
  let record: LedgerRecord;
  const database = usePrivateRecord((r) => (record = r));

  describeWithRedis('running', (target) => {
    let redis: Redis | Cluster;
    connectBeforeAll(target, (r) => (redis = r));

    it('stop() lets the batch in flight commit and be acknowledged, and starts no other', async () => {
      const [campaign] = parseCampaigns({
        campaigns: [liveCampaign(uniqueId('rec-stop'), { shards: 1 })],
      });
      const ledger = new BudgetLedger(redis, new CampaignCalendar(campaign!), systemClock);
      await ledger.init({ neverIssued: true });
      await claims(ledger, 3);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let batches = 0;
      const slow: EventRecord = {
        record: async (events: readonly StreamEvent[]) => {
          batches += 1;
          await held;
          return record.record(events);
        },
        position: (c, s) => record.position(c, s),
        markRolledBack: (c, s, reason, at) => record.markRolledBack(c, s, reason, at),
      };
      const metrics = createRecorderMetrics(EVENT_TYPES);
      const { recorder } = recorderFor(redis, slow, campaign!, { metrics });
      const loop = new RecorderLoop({
        recorder,
        metrics,
        logger: silentLogger,
        idleMs: 10,
        sampleMs: 60_000,
      });
      void loop.start();
      await until('a batch in flight', () => (batches === 1 ? true : undefined));
      const stopped = loop.stop();
      await claims(ledger, 2); // arrives during the drain: left for the next recorder
      release();
      await stopped;
      expect(batches).toBe(1);
      const audit = shardKeys(campaign!.id, 0).audit;
      expect(await recordedIds(record, campaign!.id, 0)).toHaveLength(4);
      expect(((await redis.xpending(audit, RECORDER_GROUP)) as unknown[])[0]).toBe(0);
      // The 2 new ones and the last recorded (kept: the verification finds the record's last by it).
      expect(await redis.xlen(audit)).toBe(3);
      expect((await metrics.up.get()).values[0]?.value).toBe(0);
    });
  });

  describe('npm run recorder (dist/src/main.js) on the standalone Redis', () => {
    let dir: string;
    let child: ChildProcess | undefined;
    beforeAll(() => {
      if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
      dir = mkdtempSync(join(tmpdir(), 'coupons-recorder-main-'));
    });
    afterAll(() => {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    it('records, serves metrics and health on its port, and exits 0 on SIGTERM with nothing pending', async () => {
      const url = redisTestTargets().standalone;
      if (url === undefined) throw new Error('no standalone test Redis');
      const { Redis: Client } = await import('ioredis');
      const redis = new Client(url);
      try {
        const input = liveCampaign(uniqueId('rec-main'), { shards: 2 });
        const file = join(dir, 'campaigns.json');
        writeFileSync(file, JSON.stringify({ campaigns: [input] }));
        const [campaign] = parseCampaigns({ campaigns: [input] });
        const ledger = new BudgetLedger(redis, new CampaignCalendar(campaign!), systemClock);
        await ledger.init({ neverIssued: true });
        await claims(ledger, 5);

        child = spawn(process.execPath, [MAIN], {
          env: {
            PATH: process.env.PATH,
            NODE_ENV: 'development',
            REDIS_URL: url,
            DATABASE_URL: database.url,
            CAMPAIGNS_FILE: file,
            RECORDER_METRICS_PORT: '0',
            RECORDER_BLOCK_MS: '20',
            RECORDER_SAMPLE_MS: '100',
            HOST: '127.0.0.1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));
        let port: number | undefined;
        createInterface({ input: child.stdout! }).on('line', (line) => {
          try {
            const entry = JSON.parse(line) as { msg?: string; metricsPort?: number };
            if (entry.msg === 'coupon-recorder running') port = entry.metricsPort;
          } catch {
            // not a log line
          }
        });
        const metricsPort = await until('the recorder to start', () => port);
        const base = `http://127.0.0.1:${metricsPort}`;
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        const issued = new RegExp(
          `^coupon_recorder_events_recorded_total\\{campaign="${campaign!.id}",type="issued"\\} 5$`,
          'm',
        );
        await until('five issued events recorded', async () =>
          issued.test(await (await fetch(`${base}/metrics`)).text()) ? true : undefined,
        );
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
        const text = await (await fetch(`${base}/metrics`)).text();
        expect(text).toMatch(/^coupon_recorder_up 1$/m);
        expect(text).toMatch(/^coupon_recorder_last_batch_timestamp_seconds \d{10}/m);
        // The lag is sampled every RECORDER_SAMPLE_MS: it reaches 0 at the next sample.
        const caughtUp = new RegExp(
          `^coupon_recorder_pending_events\\{campaign="${campaign!.id}",shard="0"\\} 0$`,
          'm',
        );
        await until('the lag sampled at 0', async () =>
          caughtUp.test(await (await fetch(`${base}/metrics`)).text()) ? true : undefined,
        );

        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        for (let shard = 0; shard < 2; shard += 1) {
          const audit = shardKeys(campaign!.id, shard).audit;
          expect(((await redis.xpending(audit, RECORDER_GROUP)) as unknown[])[0]).toBe(0);
        }
        const recorded =
          (await recordedIds(record, campaign!.id, 0)).length +
          (await recordedIds(record, campaign!.id, 1)).length;
        expect(recorded).toBe(7);
      } finally {
        redis.disconnect();
      }
    });
  });
});
