import {
  CROCKFORD_ALPHABET,
  parseCouponCode,
  shardKeys,
  trimRecorded,
} from '@coupons/budget-ledger';
import { LedgerRecord, migrate, readAuditEvents } from '@coupons/ledger-record';
import { describeIfPostgres, usePrivateDatabase } from '@coupons/testing';
import type { Redis } from 'ioredis';
import {
  couponApi,
  liveCampaign,
  startTestService,
  testRedisClient,
  uniqueId,
  waitUntilReady,
  type TestService,
} from './support';

/**
 * A coupon record the book of record holds may expire from Redis before the coupon does (the
 * recorder's RECORDER_COUPON_KEEP_MS): with DATABASE_URL the service reads it back from
 * PostgreSQL and a redemption of it works; the claim path never touches PostgreSQL.
 */
/** A well-formed code on the same shard that nobody was given (last data character changed). */
function unknownCode(code: string): string {
  const parsed = parseCouponCode(code);
  if (!parsed.ok) throw new Error(parsed.problem);
  for (const candidate of CROCKFORD_ALPHABET) {
    const text = parsed.code.slice(0, -2) + candidate;
    for (const check of CROCKFORD_ALPHABET) {
      const tried = parseCouponCode(text + check);
      if (tried.ok && tried.code !== parsed.code) return tried.code;
    }
  }
  throw new Error('no other code found');
}

describeIfPostgres('coupon records that expired from Redis, read back from PostgreSQL', () => {
  const database = usePrivateDatabase(migrate);
  const campaign = liveCampaign(uniqueId('archive'), { shards: 2, slicesPerDay: 1 });
  let service: TestService;
  let redis: Redis;
  let record: LedgerRecord;
  let api: ReturnType<typeof couponApi>;

  beforeAll(async () => {
    service = await startTestService({
      mode: 'standalone',
      clock: 'redis',
      campaigns: [campaign],
      env: { DATABASE_URL: database.url },
    });
    await waitUntilReady(service);
    await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
    api = couponApi(service, campaign.id);
    redis = testRedisClient('standalone') as Redis;
    record = LedgerRecord.connect(database.url);
  });
  afterAll(async () => {
    await service?.stop();
    redis?.disconnect();
    await record?.close();
  });

  /** What the recorder does, then what its early expiry does: the record leaves Redis. */
  async function recordAndExpire(code: string): Promise<void> {
    for (let shard = 0; shard < campaign.shards; shard += 1) {
      const position = await record.position(campaign.id, shard);
      const events = await readAuditEvents(redis, campaign.id, shard, position?.streamId);
      if (events.length === 0) continue;
      await record.record(events);
      // The recorder acknowledges and trims what it recorded (its consumer group, here by hand).
      const { audit } = shardKeys(campaign.id, shard);
      await redis.xgroup('CREATE', audit, 'recorder', '0').catch(() => undefined);
      await redis.xreadgroup('GROUP', 'recorder', 'test', 'STREAMS', audit, '>');
      const ids = events.map((event) => event.streamId);
      await redis.xack(audit, 'recorder', ...ids);
      await trimRecorded(redis, campaign.id, shard, 'recorder', ids.at(-1)!);
    }
    const parsed = parseCouponCode(code);
    if (!parsed.ok) throw new Error(parsed.problem);
    expect(await redis.del(shardKeys(campaign.id, parsed.shard).coupon(parsed.code))).toBe(1);
  }

  it('reads and redeems a coupon whose Redis record expired; a second order is still refused', async () => {
    const claimed = await api.claim('alice', 'intent-1');
    expect(claimed.status).toBe(201);
    const code = claimed.body.coupon.code as string;
    await recordAndExpire(code);

    const read = await api.read(code, 'alice');
    expect(read.status).toBe(200);
    expect(read.body.coupon).toEqual(claimed.body.coupon);

    await recordAndExpire(code);
    const redeemed = await api.redeem(code, {
      userId: 'alice',
      orderId: 'order-1',
      orderAmountFen: 5000,
    });
    expect(redeemed.status).toBe(201);

    await recordAndExpire(code);
    const again = await api.redeem(code, {
      userId: 'alice',
      orderId: 'order-2',
      orderAmountFen: 5000,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('COUPON_ALREADY_REDEEMED');
    // The replay of the claim returns the same coupon, redeemed since.
    await recordAndExpire(code);
    const replay = await api.claim('alice', 'intent-1');
    expect(replay.status).toBe(201);
    expect(replay.body.coupon.code).toBe(code);
    expect(replay.body.coupon.status).toBe('redeemed');
  });

  it('a code PostgreSQL never had is 404; someone else asking for a code is 404', async () => {
    const claimed = await api.claim('bob', 'intent-2');
    const code = claimed.body.coupon.code as string;
    await recordAndExpire(code);
    expect((await api.read(code, 'mallory')).status).toBe(404);
    expect((await api.read(unknownCode(code), 'bob')).status).toBe(404);
  });
});
