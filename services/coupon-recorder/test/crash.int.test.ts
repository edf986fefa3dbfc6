import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { shardKeys } from '@coupons/budget-ledger';
import type { LedgerRecord } from '@coupons/ledger-record';
import {
  connectBeforeAll,
  describeIfPostgres,
  until,
  describeWithRedis,
  redisTestTargets,
} from '@coupons/testing';
import { RECORDER_GROUP } from '../src';
import {
  claims,
  liveLedger,
  metricValue,
  recordedIds,
  recorderFor,
  usePrivateRecord,
} from './support';

const FIXTURE = join(__dirname, '..', 'dist', 'test', 'fixtures', 'crashAfterCommit.js');

/** Runs the fixture to its death; resolves with how it ended. */
function runCrashingRecorder(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE], {
      // `undefined` unsets what this process has (a blank value is refused, not "unset").
      env: Object.fromEntries(
        Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined),
      ),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/**
 * The crash exactly-once is about: a recorder killed (SIGKILL) after PostgreSQL committed its
 * batch and before XACK. The entries stay pending to the dead consumer; another recorder claims
 * them, records them again (a no-op: the record's unique key) and acknowledges them.
 */
describeIfPostgres('a recorder killed between commit and XACK', () => {
  let record: LedgerRecord;
  const database = usePrivateRecord((r) => (record = r));
  beforeAll(() => {
    if (!existsSync(FIXTURE)) throw new Error(`${FIXTURE} missing: run npm run build first`);
  });

  describeWithRedis('every event recorded exactly once', (target) => {
    let redis: Redis | Cluster;
    connectBeforeAll(target, (r) => (redis = r));

    it('the next recorder claims the dead one’s committed batch; the record holds each event once', async () => {
      const { campaign, ledger } = await liveLedger(redis, 1);
      await claims(ledger, 7);
      const targets = redisTestTargets();
      const redisEnv: Record<string, string | undefined> =
        target.mode === 'cluster'
          ? {
              REDIS_URL: undefined,
              REDIS_CLUSTER_NODES: targets
                .clusterNodes!.map((node) => `${node.host}:${node.port}`)
                .join(','),
            }
          : { REDIS_URL: targets.standalone!, REDIS_CLUSTER_NODES: undefined };
      const crashed = await runCrashingRecorder({
        ...redisEnv,
        DATABASE_URL: database.url,
        RECORDER_CONSUMER_NAME: 'crashed',
        RECORDER_BATCH_SIZE: '100',
        CRASH_CAMPAIGN_ID: campaign.id,
        CRASH_SHARDS: '1',
        NODE_ENV: 'development',
      });
      expect(crashed).toMatchObject({ signal: 'SIGKILL' });

      // Committed, never acknowledged: all 8 pending to the dead consumer, none trimmed.
      const audit = shardKeys(campaign.id, 0).audit;
      expect(await recordedIds(record, campaign.id, 0)).toHaveLength(8);
      const pending = (await redis.xpending(audit, RECORDER_GROUP)) as [number, ...unknown[]];
      expect(pending[0]).toBe(8);
      expect(pending[3]).toEqual([['crashed', '8']]);
      expect(await redis.xlen(audit)).toBe(8);

      const { recorder, metrics } = recorderFor(redis, record, campaign, { claimIdleMs: 50 });
      await until('the dead consumer’s batch claimed and recorded', async () =>
        (await recorder.round()).recorded === 8 ? true : undefined,
      );
      expect(await metricValue(metrics, 'coupon_recorder_duplicate_events_total')).toBe(8);
      const ids = await recordedIds(record, campaign.id, 0);
      expect(ids).toHaveLength(8);
      expect(new Set(ids).size).toBe(8);
      expect(((await redis.xpending(audit, RECORDER_GROUP)) as unknown[])[0]).toBe(0);
      expect(await redis.xlen(audit)).toBe(1);

      // And on from there: new events recorded once as usual.
      await claims(ledger, 2);
      expect((await recorder.round()).recorded).toBe(2);
      expect(await recordedIds(record, campaign.id, 0)).toHaveLength(10);
    });
  });
});
