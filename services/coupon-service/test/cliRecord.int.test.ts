import { BudgetLedger, keysOfShard, RedisTimeClock, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import { LedgerRecord, migrate, readAuditEvents } from '@coupons/ledger-record';
import { describeIfPostgres, usePrivateDatabase } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { describeEachRedisMode, liveCampaign, uniqueId } from './support';
import { cli, useCliOnRedis } from './cli';

describeIfPostgres('the operator CLIs with the book of record (built)', () => {
  const database = usePrivateDatabase(migrate);

  describeEachRedisMode('ledger:init --from-record and reconcile', (mode) => {
    const running = liveCampaign(uniqueId('cli-rec'), { shards: 2, slicesPerDay: 1 });
    let redis: Redis | Cluster;
    const cliEnv = useCliOnRedis(mode, [running], (r) => (redis = r));
    let record: LedgerRecord;
    beforeAll(() => {
      record = LedgerRecord.connect(database.url);
    });
    afterAll(async () => {
      await record.close();
    });

    /** What the recorder does: every event not recorded yet, into the record. */
    async function recordAll(): Promise<void> {
      for (let shard = 0; shard < running.shards; shard += 1) {
        const position = await record.position(running.id, shard);
        const events = await readAuditEvents(redis, running.id, shard, position?.streamId);
        if (events.length > 0) await record.record(events);
      }
    }

    it('reconcile finds a difference with the record; ledger:init --from-record rebuilds the lost shard and they agree again', async () => {
      const env = { ...cliEnv, DATABASE_URL: database.url };
      const [campaign] = parseCampaigns({ campaigns: [running] });
      const clock = new RedisTimeClock(redis);
      await clock.sync();
      const ledger = new BudgetLedger(redis, new CampaignCalendar(campaign!), clock);
      await ledger.init({ neverIssued: true });
      const onShard0: string[] = [];
      for (let i = 0; onShard0.length < 3; i += 1) {
        const user = `u-${i}`;
        const issued = await ledger.issue({
          userId: user,
          idempotencyKey: `k-${i}`,
          bodyHash: 'b',
        });
        if (issued.kind !== 'issued') throw new Error(issued.kind);
        if (ledger.shardOf(user) === 0) onShard0.push(issued.coupon.code);
      }
      await recordAll();
      const clean = await cli('reconcile', ['--campaign', running.id], env);
      expect(clean.stdout).toMatch(/agrees with Redis/);
      expect(clean.code).toBe(0);

      const keys = shardKeys(running.id, 0);
      await redis.del(keys.coupon(onShard0[0]!));
      const differs = await cli('reconcile', ['--campaign', running.id], env);
      expect(differs.code).toBe(1);
      expect(differs.stderr).toContain(
        `shard 0: 1 coupon (2500 fen) in the record only: ${onShard0[0]}`,
      );

      for (const key of await keysOfShard(redis, keys.tag, keys.allPattern)) await redis.del(key);
      const refused = await cli('ledger-init', ['--campaign', running.id, '--from-record'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^shard 0: refused: the record's lag .* unknown/m);
      expect(await redis.exists(keys.ledger)).toBe(0);

      const through = (await record.position(running.id, 0))!.streamId;
      const rebuilt = await cli(
        'ledger-init',
        ['--campaign', running.id, '--from-record', '--record-complete-through', through],
        env,
      );
      expect(rebuilt.stderr).toBe('');
      expect(rebuilt.code).toBe(0);
      expect(rebuilt.stdout).toMatch(/^shard 0: rebuilt from the record: 3 coupons/m);
      expect(rebuilt.stdout).toMatch(/^shard 1: left as it is/m);

      const agrees = await cli('reconcile', ['--campaign', running.id], env);
      expect(agrees.stdout).toMatch(/shard 0: 1 event\(s\) from .* not recorded yet/);
      expect(agrees.code).toBe(0);
    });

    it('ledger:init --from-record needs DATABASE_URL and one statement of completeness', async () => {
      const noDatabase = await cli(
        'ledger-init',
        ['--campaign', running.id, '--from-record'],
        cliEnv,
      );
      expect(noDatabase.code).toBe(2);
      expect(noDatabase.stderr).toMatch(/set DATABASE_URL/);
      const both = await cli(
        'ledger-init',
        [
          '--campaign',
          running.id,
          '--from-record',
          '--after-loss',
          '--record-complete-through',
          '1-0',
        ],
        { ...cliEnv, DATABASE_URL: database.url },
      );
      expect(both.code).toBe(2);
    });
  });
});
