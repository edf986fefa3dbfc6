import { describeWithRedis } from '@coupons/redis-local';
import type { Cluster, Redis } from 'ioredis';
import { shardKeys, trimRecorded, type ArchivedCoupon, type CouponArchive } from '../src';
import { claim, ledgerAt } from './support';

/**
 * An archive that holds what Redis held: the coupon hash as the scripts left it, copied before
 * the key is dropped (what the recorder lets expire after PostgreSQL took it). The PostgreSQL
 * archive itself is tested with the service (services/coupon-service/test/archive.int.test.ts).
 */
class CopiedArchive implements CouponArchive {
  readonly held = new Map<string, ArchivedCoupon>();
  asked = 0;
  fail = false;
  async find(_campaignId: string, code: string): Promise<ArchivedCoupon | undefined> {
    this.asked += 1;
    if (this.fail) throw new Error('connection refused');
    return this.held.get(code);
  }
}

describeWithRedis('coupon records that expired from Redis come back from the archive', (target) => {
  let redis: Redis | Cluster;
  beforeAll(() => {
    redis = target.connect();
  });

  async function setUp() {
    const archive = new CopiedArchive();
    const { ledger, calendar } = await ledgerAt(
      redis,
      '2026-02-10T12:30:00+08:00',
      {},
      { archive },
    );
    const issued = await ledger.issue(claim('alice'));
    if (issued.kind !== 'issued') throw new Error(issued.kind);
    const code = issued.coupon.code;
    const shard = ledger.shardOf('alice');
    const key = shardKeys(calendar.campaign.id, shard).coupon(code);
    const { audit } = shardKeys(calendar.campaign.id, shard);
    /** What the recorder does: everything in the stream recorded (here: copied), then trimmed. */
    const recordAndTrim = async () => {
      await redis.xgroup('CREATE', audit, 'recorder', '0').catch(() => undefined);
      await redis.xreadgroup('GROUP', 'recorder', 'test', 'STREAMS', audit, '>');
      const ids = (await redis.xrange(audit, '-', '+')).map(([id]) => id);
      if (ids.length > 0) await redis.xack(audit, 'recorder', ...ids);
      if (ids.length > 0)
        await trimRecorded(redis, calendar.campaign.id, shard, 'recorder', ids.at(-1)!);
    };
    /** Copies the record into the archive, trims the stream, and drops the record from Redis. */
    const expire = async () => {
      const hash = await redis.hgetall(key);
      archive.held.set(code, { fields: Object.entries(hash).flat(), keepUntilMs: null });
      await recordAndTrim();
      await redis.del(key);
    };
    return { archive, ledger, code, shard, key, expire };
  }

  it('reads, redeems and reverses a coupon whose record expired, as if it never had', async () => {
    const { archive, ledger, code, shard, key, expire } = await setUp();
    await expire();
    expect(await ledger.readCoupon(code, shard, 'alice')).toMatchObject({ code, status: 'issued' });
    expect(await redis.exists(key)).toBe(1);

    await expire();
    const redeemed = await ledger.redeem({
      code,
      shard,
      userId: 'alice',
      orderId: 'o-1',
      orderAmountFen: 5000,
    });
    expect(redeemed).toMatchObject({ kind: 'redeemed', replayed: false });

    // Expired again after the redemption was recorded: a second order is refused as before.
    await expire();
    expect(
      await ledger.redeem({ code, shard, userId: 'alice', orderId: 'o-2', orderAmountFen: 5000 }),
    ).toEqual({ kind: 'already_redeemed' });
    await expire();
    expect(await ledger.reverse({ code, shard, userId: 'alice', orderId: 'o-1' })).toMatchObject({
      kind: 'reversed',
      changed: true,
    });
    // The reversed order never redeems again, even from a record put back.
    await expire();
    expect(
      await ledger.redeem({ code, shard, userId: 'alice', orderId: 'o-1', orderAmountFen: 5000 }),
    ).toMatchObject({ kind: 'order_reversed' });
    expect(archive.asked).toBeGreaterThanOrEqual(5);
  });

  it('a code the archive never had is not found; a present record is never overwritten', async () => {
    const { archive, ledger, shard, code } = await setUp();
    expect(await ledger.readCoupon('ZZZZZZZZZZZZ', shard, 'alice')).toBeUndefined();
    // Someone else's code: the record is there, so nothing is restored over it.
    archive.held.set(code, {
      fields: ['userId', 'mallory', 'status', 'issued'],
      keepUntilMs: null,
    });
    expect(await ledger.readCoupon(code, shard, 'mallory')).toBeUndefined();
    expect(await ledger.readCoupon(code, shard, 'alice')).toMatchObject({ code });
  });

  it('refuses to put back a record while the stream holds an event of it the archive may lack', async () => {
    const { archive, ledger, code, shard, key } = await setUp();
    // The recorder has not taken the issue event yet: the archive's copy could be stale.
    const hash = await redis.hgetall(key);
    archive.held.set(code, { fields: Object.entries(hash).flat(), keepUntilMs: null });
    await redis.del(key);
    await expect(ledger.readCoupon(code, shard, 'alice')).rejects.toMatchObject({
      reason: 'archive',
    });
    expect(await redis.exists(key)).toBe(0);
  });

  it('fails closed when the archive does not answer', async () => {
    const { archive, ledger, code, shard, expire } = await setUp();
    await expire();
    archive.fail = true;
    await expect(ledger.readCoupon(code, shard, 'alice')).rejects.toMatchObject({
      reason: 'archive',
    });
  });
});
