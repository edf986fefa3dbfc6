import { findFreePort } from '@coupons/redis-local';
import type { Cluster, Redis } from 'ioredis';
import { ManualClock } from '@coupons/campaign';
import { BudgetLedger, shardKeys } from '@coupons/budget-ledger';
import { LedgerRecord } from '@coupons/ledger-record';
import { connectBeforeAll, describeIfPostgres, until, describeWithRedis } from '@coupons/testing';
import { RECORDER_GROUP, type EventRecord } from '../src';
import {
  claims,
  drain,
  liveLedger,
  metricValue,
  recordedIds,
  recordedLedger,
  recorderFor,
  usePrivateRecord,
} from './support';

/**
 * The recorder against real Redis (standalone and cluster) and a private PostgreSQL database:
 * every audit event lands in the record once, entries are acknowledged only after the commit,
 * the stream is trimmed to what is recorded, and the service's scripts keep working after it.
 */
describeIfPostgres('the recorder', () => {
  let record: LedgerRecord;
  usePrivateRecord((r) => (record = r));

  describeWithRedis('copying the audit streams', (target) => {
    let redis: Redis | Cluster;
    connectBeforeAll(target, (r) => (redis = r));

    /** Every stream id the shard ever appended is in the record, once. */
    async function expectAllRecorded(ledger: BudgetLedger, shards: number): Promise<void> {
      for (let shard = 0; shard < shards; shard += 1) {
        const keys = shardKeys(ledger.campaignId, shard);
        const events = Number(await redis.hget(keys.ledger, 'events'));
        const ids = await recordedIds(record, ledger.campaignId, shard);
        expect(ids).toHaveLength(events);
        expect(new Set(ids).size).toBe(events);
        expect(ids[ids.length - 1]).toBe(await redis.hget(keys.ledger, 'lastEventId'));
      }
    }

    it('records every event once, acknowledges it, trims it, and claims go on after the trim', async () => {
      const { campaign, ledger } = await liveLedger(redis, 2);
      await claims(ledger, 12);
      const { recorder, metrics } = recorderFor(redis, record, campaign, { batchSize: 5 });
      expect(await drain(recorder)).toBe(14); // 2 inits + 12 issued
      await expectAllRecorded(ledger, 2);
      for (let shard = 0; shard < 2; shard += 1) {
        const keys = shardKeys(campaign.id, shard);
        // The last recorded entry stays: the verification finds the record's last event by it.
        expect(await redis.xlen(keys.audit)).toBe(1);
        expect(((await redis.xpending(keys.audit, RECORDER_GROUP)) as unknown[])[0]).toBe(0);
        expect(await redis.hget(keys.ledger, 'trimmedTo')).not.toBeNull();
      }
      const recorded = (type: string) =>
        metricValue(metrics, 'coupon_recorder_events_recorded_total', { type });
      const batches = (outcome: string) =>
        metricValue(metrics, 'coupon_recorder_batches_total', { outcome });
      expect(await recorded('issued')).toBe(12);
      expect(await recorded('init')).toBe(2);
      // Batches of at most 5 per shard (how the users fall on the shards decides how many).
      expect(await batches('ok')).toBeGreaterThanOrEqual(3);
      expect(await batches('failed')).toBe(0);

      // The pod that made the claims last saw events now trimmed: its guard is not tripped.
      await claims(ledger, 6);
      for (let shard = 0; shard < 2; shard += 1)
        expect(await redis.hget(shardKeys(campaign.id, shard).ledger, 'rolledBack')).toBeNull();
      expect(await drain(recorder)).toBe(6);
      await expectAllRecorded(ledger, 2);
      expect(await recorder.checkShard({ campaignId: campaign.id, shard: 0 })).toBe('consistent');
    });

    it('two recorders at once record every entry once between them', async () => {
      const { campaign, ledger } = await liveLedger(redis, 2);
      const a = recorderFor(redis, record, campaign, { batchSize: 3 });
      const b = recorderFor(redis, record, campaign, { batchSize: 3 });
      let claiming = true;
      const producer = (async () => {
        await claims(ledger, 30);
        claiming = false;
      })();
      const run = async (recorder: typeof a.recorder) => {
        while (claiming) await recorder.round();
        await drain(recorder);
      };
      await Promise.all([producer, run(a.recorder), run(b.recorder)]);
      await drain(a.recorder);
      await expectAllRecorded(ledger, 2);
      const recordedBy = async (m: typeof a.metrics) =>
        metricValue(m, 'coupon_recorder_events_recorded_total');
      // Each entry was delivered to one of them: no batch was committed twice.
      expect((await recordedBy(a.metrics)) + (await recordedBy(b.metrics))).toBe(32);
      expect(await metricValue(a.metrics, 'coupon_recorder_duplicate_events_total')).toBe(0);
      expect(await metricValue(b.metrics, 'coupon_recorder_duplicate_events_total')).toBe(0);
      expect(await recordedBy(a.metrics)).toBeGreaterThan(0);
      expect(await recordedBy(b.metrics)).toBeGreaterThan(0);
    });

    it("claims a dead consumer's pending entries once they are idle longer than claimIdleMs", async () => {
      const { campaign, ledger } = await liveLedger(redis, 1);
      await claims(ledger, 4);
      const audit = shardKeys(campaign.id, 0).audit;
      await redis.xgroup('CREATE', audit, RECORDER_GROUP, '0');
      // A recorder that read the entries and died before recording them.
      await redis.xreadgroup('GROUP', RECORDER_GROUP, 'dead', 'STREAMS', audit, '>');
      const patient = recorderFor(redis, record, campaign, { claimIdleMs: 60_000 });
      expect(await drain(patient.recorder)).toBe(0);
      expect(await recordedIds(record, campaign.id, 0)).toEqual([]);

      const eager = recorderFor(redis, record, campaign, { claimIdleMs: 50 });
      let recorded = 0;
      await until('the dead consumer’s entries idle past claimIdleMs', async () => {
        recorded += (await eager.recorder.round()).recorded;
        return recorded >= 5 || undefined;
      });
      await expectAllRecorded(ledger, 1);
      expect(((await redis.xpending(audit, RECORDER_GROUP)) as unknown[])[0]).toBe(0);
      expect(await redis.xlen(audit)).toBe(1);
    });

    it('with PostgreSQL unavailable acknowledges nothing, reports the lag, then catches up', async () => {
      const { campaign, ledger } = await liveLedger(redis, 1);
      await claims(ledger, 3);
      const down = LedgerRecord.connect(
        `postgresql://postgres@127.0.0.1:${await findFreePort()}/nowhere`,
      );
      let current: LedgerRecord = down;
      // The same recorder all along; only where its record points changes (PostgreSQL comes back).
      const switching: EventRecord = {
        record: (events) => current.record(events),
        position: (c, s) => current.position(c, s),
        markRolledBack: (c, s, reason, at) => current.markRolledBack(c, s, reason, at),
      };
      const clock = new ManualClock(Date.now());
      const { recorder, metrics } = recorderFor(redis, switching, campaign, { clock });
      const audit = shardKeys(campaign.id, 0).audit;
      const ref = { campaignId: campaign.id, shard: 0 };

      // Without the record this Redis process cannot be verified: nothing is even read.
      expect(await recorder.round()).toEqual({ recorded: 0, faults: 1 });
      expect(await redis.exists(audit)).toBe(1);
      expect(await redis.xlen(audit)).toBe(4);
      const before = await recorder.sampleLag(ref);
      expect(before.pending).toBe(4);

      await claims(ledger, 2);
      expect(await recorder.round()).toEqual({ recorded: 0, faults: 1 });
      clock.advance(90_000);
      const later = await recorder.sampleLag(ref);
      expect(later.pending).toBe(6);
      expect(later.oldestAgeSeconds).toBeGreaterThanOrEqual(before.oldestAgeSeconds + 90);
      expect(
        await metricValue(metrics, 'coupon_recorder_pending_events', {
          campaign: campaign.id,
          shard: '0',
        }),
      ).toBe(6);
      expect(await recordedIds(record, campaign.id, 0)).toEqual([]);

      current = record;
      expect(await drain(recorder)).toBe(6);
      await expectAllRecorded(ledger, 1);
      expect(await recorder.sampleLag(ref)).toEqual({ pending: 0, oldestAgeSeconds: 0 });
      expect(await redis.xlen(audit)).toBe(1);
      await down.close();
    });

    it('marks a shard restored from an older copy rolled back, in Redis and in the record; claims are refused', async () => {
      const { campaign, ledger, recorder, metrics } = await recordedLedger(redis, record, 1, 3);
      const keys = shardKeys(campaign.id, 0);
      // An older copy of the shard: its ledger hash and stream as they are now.
      const ledgerCopy = await redis.dumpBuffer(keys.ledger);
      const auditCopy = await redis.dumpBuffer(keys.audit);
      await claims(ledger, 3);
      await drain(recorder);
      expect(await recorder.checkShard({ campaignId: campaign.id, shard: 0 })).toBe('consistent');

      await redis.restore(keys.ledger, 0, ledgerCopy, 'REPLACE');
      await redis.restore(keys.audit, 0, auditCopy, 'REPLACE');
      await recorder.sample();
      expect(await redis.hget(keys.ledger, 'rolledBack')).toMatch(
        / recorder verified run \w+: fewer events; the record holds gen \d+ event 7 at /,
      );
      expect(await metricValue(metrics, 'coupon_recorder_rollbacks_detected_total')).toBe(1);
      expect(await record.rolledBack(campaign.id, 0)).toMatchObject({
        reason: expect.stringMatching(/recorder verified/) as string,
      });
      // A pod that never saw the newer state refuses too: the mark is in Redis.
      const freshPod = new BudgetLedger(redis, ledger.calendar, { now: () => Date.now() });
      await expect(claims(freshPod, 1)).rejects.toMatchObject({ reason: 'rolled_back' });
      // Sampled again: still rolled back, not counted twice.
      await recorder.sample();
      expect(await metricValue(metrics, 'coupon_recorder_rollbacks_detected_total')).toBe(1);
    });

    it('a poison event stops its shard with the gauge up, the other shard records on, and a fix resumes it', async () => {
      const { campaign, ledger, recorder, metrics } = await recordedLedger(redis, record, 2, 2);
      const bad = shardKeys(campaign.id, 1);
      // An event the record cannot take (its amount is not an integer).
      const poison = await redis.xadd(
        bad.audit,
        '*',
        'type',
        'issued',
        'code',
        'X',
        'userId',
        'u',
        'valueFen',
        'twenty',
        'day',
        '2026-02-10',
        'at',
        '1',
        'expiresAt',
        '2',
      );
      const blocked = () =>
        metricValue(metrics, 'coupon_recorder_shard_blocked', {
          campaign: campaign.id,
          shard: '1',
        });
      for (let i = 0; i < 3; i += 1) expect((await recorder.round()).faults).toBe(1);
      expect(await blocked()).toBe(1);
      expect(await redis.xrange(bad.audit, poison!, poison!)).toHaveLength(1);
      // Shard 0 records on.
      await claims(ledger, 6);
      await recorder.round();
      const recordedZero = (await recordedIds(record, campaign.id, 0)).length;
      expect(recordedZero).toBe(
        Number(await redis.hget(shardKeys(campaign.id, 0).ledger, 'events')),
      );
      // The entry put right (what a fixed recorder version does by reading it): resumed.
      await redis.xdel(bad.audit, poison!);
      await drain(recorder);
      expect(await blocked()).toBe(0);
      await expectAllRecorded(ledger, 2);
    });

    it('reports a shard whose ledger is missing and creates no key for it', async () => {
      const { campaign, recorder, metrics } = await recordedLedger(redis, record, 2, 2);
      const lost = shardKeys(campaign.id, 1);
      await redis.del(lost.ledger, lost.audit);
      await recorder.sample();
      expect(
        await metricValue(metrics, 'coupon_recorder_ledgers_missing', { campaign: campaign.id }),
      ).toBe(1);
      const fresh = recorderFor(redis, record, campaign);
      await drain(fresh.recorder);
      expect(await redis.exists(lost.ledger, lost.audit)).toBe(0);
    });
  });
});
