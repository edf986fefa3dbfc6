import type { Redis } from 'ioredis';
import { BudgetLedger, shardKeys } from '@coupons/budget-ledger';
import { systemClock } from '@coupons/campaign';
import { rebuildFromRecord, type LedgerRecord } from '@coupons/ledger-record';
import { describeIfPostgres, describeIfRedis, useRestartableRedis } from '@coupons/testing';
import {
  claims,
  drain,
  liveLedger,
  metricValue,
  recordedLedger,
  recorderFor,
  usePrivateRecord,
} from './support';

/**
 * A Redis restarted from an older RDB (SAVE, more claims, SHUTDOWN NOSAVE, restart): the shard's
 * ledger, stream and consumer group all go back. What PostgreSQL recorded meanwhile is the proof;
 * the recorder marks the shard, and every script refuses it. A private redis-server: this test
 * stops and restarts it.
 */
describeIfPostgres('the recorder after a Redis restart from an older snapshot', () => {
  let record: LedgerRecord;
  usePrivateRecord((r) => (record = r));
  let redis: Redis;

  describeIfRedis('on a private redis-server', () => {
    const restartFromSnapshot = useRestartableRedis('coupons-recorder-', (r) => (redis = r));

    it('marks the shard rolled back in Redis and in the record, counts it, and claims are refused', async () => {
      const { campaign, ledger, recorder, metrics } = await recordedLedger(redis, record, 2, 4);
      await redis.save();
      await claims(ledger, 6);
      await drain(recorder);
      await restartFromSnapshot();

      await recorder.sample();
      // Both shards got claims after the SAVE (6 users over 2 shards: at least one each is
      // likely, not certain), so count the shards that went back.
      const marked: number[] = [];
      for (let shard = 0; shard < 2; shard += 1)
        if ((await redis.hget(shardKeys(campaign.id, shard).ledger, 'rolledBack')) !== null)
          marked.push(shard);
      expect(marked.length).toBeGreaterThan(0);
      expect(await metricValue(metrics, 'coupon_recorder_rollbacks_detected_total')).toBe(
        marked.length,
      );
      for (const shard of marked)
        expect(await record.rolledBack(campaign.id, shard)).not.toBeNull();

      // A pod that never saw the newer state: refused on a marked shard.
      const pod = new BudgetLedger(redis, ledger.calendar, systemClock);
      const userOn = (shard: number) => {
        for (let i = 0; ; i += 1) if (pod.shardOf(`probe-${i}`) === shard) return `probe-${i}`;
      };
      const userId = userOn(marked[0]!);
      await expect(
        pod.issue({ userId, idempotencyKey: 'k', bodyHash: '{}' }),
      ).rejects.toMatchObject({ reason: 'rolled_back' });

      // The recorder goes on (the restored stream holds only events it recorded): no fault.
      expect((await recorder.round()).faults).toBe(0);
    });

    it('fenced: a key retried after a loss is refused until verified, and the rebuild gives it its one coupon', async () => {
      const { campaign, ledger } = await liveLedger(redis, 1, { fenced: true });
      const { recorder } = recorderFor(redis, record, campaign);
      await drain(recorder);
      await claims(ledger, 2);
      await drain(recorder);
      await redis.save();
      // The claim the loss takes: recorded, acknowledged, then gone with the restart.
      const request = { userId: 'keyed', idempotencyKey: 'k-1', bodyHash: '{}' };
      const first = await ledger.issue(request);
      if (first.kind !== 'issued') throw new Error(first.kind);
      await drain(recorder);
      await restartFromSnapshot();

      // A new pod retries the key before the recorder ran: refused, nothing issued.
      const pod = new BudgetLedger(redis, ledger.calendar, systemClock);
      await expect(pod.issue(request)).rejects.toMatchObject({ reason: 'unverified' });
      const keys = shardKeys(campaign.id, 0);
      expect(await redis.hget(keys.ledger, 'issued')).toBe('2');
      // The recorder's verification: behind the record, marked.
      await recorder.round();
      expect(await redis.hget(keys.ledger, 'rolledBack')).toMatch(/fewer events/);
      await expect(pod.issue(request)).rejects.toMatchObject({ reason: 'rolled_back' });

      const rebuilt = await rebuildFromRecord(redis, ledger.calendar, systemClock, record, {
        recordCompleteThrough: String(Date.now()),
        fenced: true,
      });
      expect(rebuilt.rebuilt).toEqual([0]);
      expect(await redis.hget(keys.ledger, 'fence')).toBe('-');
      await drain(recorder);
      const again = await pod.issue(request);
      expect(again).toMatchObject({ kind: 'issued', replayed: true });
      if (again.kind !== 'issued') throw new Error(again.kind);
      expect(again.coupon.code).toBe(first.coupon.code);
      const { rows } = await record.query<{ n: string }>(
        `SELECT count(*) AS n FROM coupons WHERE campaign_id = $1 AND user_id = 'keyed'`,
        [campaign.id],
      );
      expect(rows[0]!.n).toBe('1');
      expect(await redis.hget(keys.ledger, 'issued')).toBe('3');
    });

    it('reports a Redis that came back empty, and creates no key', async () => {
      const { campaign, recorder, metrics } = await recordedLedger(redis, record, 2, 2);
      await redis.flushall();
      await recorder.sample();
      expect(
        await metricValue(metrics, 'coupon_recorder_ledgers_missing', { campaign: campaign.id }),
      ).toBe(2);
      expect((await recorder.round()).faults).toBe(0);
      expect(await redis.dbsize()).toBe(0);
    });
  });
});
