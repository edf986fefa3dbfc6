import type { Cluster, Redis } from 'ioredis';
import { shardKeys } from '@coupons/budget-ledger';
import {
  connectBeforeAll,
  describeIfPostgres,
  usePrivateDatabaseClient,
  describeWithRedis,
} from '@coupons/testing';
import { LedgerRecord, migrate, reconcileWithRecord } from '../src';
import { claim, liveLedger, recordAll } from './support';

describeIfPostgres('reconcile Redis, its streams and the record', () => {
  let record: LedgerRecord;
  usePrivateDatabaseClient(migrate, LedgerRecord.connect, (r) => (record = r));

  describeWithRedis('reconcileWithRecord', (target) => {
    let redis: Redis | Cluster;
    connectBeforeAll(target, (r) => (redis = r));

    async function tradedAndRecorded() {
      const ctx = await liveLedger(redis, { coupons: 120 });
      const coupons = [];
      for (const user of ['amy', 'ben', 'cal', 'dot']) {
        const issued = await ctx.ledger.issue(claim(user));
        if (issued.kind !== 'issued') throw new Error(issued.kind);
        coupons.push({ user, code: issued.coupon.code, shard: ctx.ledger.shardOf(user) });
      }
      const redeemed = coupons[0]!;
      await ctx.ledger.redeem({
        code: redeemed.code,
        shard: redeemed.shard,
        userId: redeemed.user,
        orderId: 'order-1',
        orderAmountFen: 1999,
      });
      await recordAll(redis, record, ctx.calendar);
      return { ...ctx, coupons, redeemed };
    }

    it('is clean when the record holds everything, and reports lag apart from differences', async () => {
      const { calendar, ledger } = await tradedAndRecorded();
      expect(await reconcileWithRecord(redis, calendar, record)).toMatchObject({
        clean: true,
        lagging: [],
        problems: [],
      });
      expect((await ledger.issue(claim('eli'))).kind).toBe('issued');
      const lagging = await reconcileWithRecord(redis, calendar, record);
      expect(lagging.clean).toBe(true);
      expect(lagging.lagging).toEqual([
        { shard: ledger.shardOf('eli'), events: 1, firstId: expect.any(String) },
      ]);
      await recordAll(redis, record, calendar);
      expect((await reconcileWithRecord(redis, calendar, record)).lagging).toEqual([]);
    });

    it('finds a redemption the record holds for another amount, in fen', async () => {
      const { calendar, redeemed } = await tradedAndRecorded();
      await record.query(
        `UPDATE coupons SET discount_fen = 1000 WHERE campaign_id = $1 AND code = $2`,
        [calendar.campaign.id, redeemed.code],
      );
      const result = await reconcileWithRecord(redis, calendar, record);
      expect(result.clean).toBe(false);
      expect(result.problems).toEqual([
        `shard ${redeemed.shard}: redeemedFen: Redis 1999 fen, record 1000 fen: differ by 999 fen`,
        `shard ${redeemed.shard}: coupon ${redeemed.code}: Redis redeemed order-1 discount 1999 fen, record redeemed order-1 discount 1000 fen: differ by 999 fen`,
      ]);
    });

    it('finds a coupon record Redis lost and a counter Redis holds too high, in coupons and fen', async () => {
      const { calendar, coupons } = await tradedAndRecorded();
      const lost = coupons[1]!;
      await redis.del(shardKeys(calendar.campaign.id, lost.shard).coupon(lost.code));
      const other = 1 - lost.shard;
      await redis.hincrby(shardKeys(calendar.campaign.id, other).ledger, 'issued', 2);
      const { problems } = await reconcileWithRecord(redis, calendar, record);
      expect(problems).toContain(
        `shard ${lost.shard}: 1 coupon (2500 fen) in the record only: ${lost.code}`,
      );
      expect(problems).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^shard ${other}: issued: Redis \\d+ coupons .*differ by 2 coupons \\(5000 fen\\)$`,
          ),
        ),
      );
    });

    it('finds an event recorded that Redis no longer holds (Redis went back)', async () => {
      const { calendar, ledger } = await tradedAndRecorded();
      const shard = ledger.shardOf('amy');
      const audit = shardKeys(calendar.campaign.id, shard).audit;
      const [latest] = await redis.xrevrange(audit, '+', '-', 'COUNT', 1);
      await redis.xdel(audit, latest![0]);
      const { problems } = await reconcileWithRecord(redis, calendar, record);
      expect(problems).toContainEqual(
        expect.stringContaining(`shard ${shard}: 1 recorded event(s) are not in Redis`),
      );
    });
  });
});
