import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import { describeIfRedis, untilReplicaInSync } from '@coupons/testing';
import { Redis } from 'ioredis';
import {
  couponApi,
  liveCampaign,
  metricsText,
  uniqueId,
  type TestService,
  useOwnRedisService,
} from './support';

const MINUTE_MS = 60_000;
/** Coupon keys hold the code without the dashes it is shown with. */
const compact = (code: string) => code.replace(/-/g, '');

/**
 * REDIS_WAIT_REPLICAS: a 2xx means the write is on the replicas. On a master of this file's own
 * whose replica comes and goes: without it claims answer 503 UNAVAILABLE, and the caller's retry
 * with the same Idempotency-Key returns the coupon the master kept, never a second one.
 */
describeIfRedis('REDIS_WAIT_REPLICAS: acknowledged means replicated', () => {
  const campaign = liveCampaign(uniqueId('wait'), {
    startsInMs: -MINUTE_MS,
    endsInMs: 10 * MINUTE_MS,
    coupons: 1000,
    shards: 2,
  });
  let master: RedisServerHandle;
  let replica: RedisServerHandle | undefined;
  let service: TestService;
  let api: ReturnType<typeof couponApi>;

  useOwnRedisService(
    (s, r) => {
      service = s;
      master = r;
      api = couponApi(s, campaign.id);
    },
    {
      clock: 'redis',
      campaigns: [campaign],
      env: {
        REDIS_WAIT_REPLICAS: '1',
        REDIS_WAIT_TIMEOUT_MS: '1000',
        REDIS_COMMAND_TIMEOUT_MS: '3000',
      },
    },
  );
  afterAll(async () => {
    await replica?.stop();
  });

  it('without a replica: 503 UNAVAILABLE with Retry-After; the retry replays the kept coupon once one holds it', async () => {
    const refused = await api.claim('alice', 'intent-1');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('UNAVAILABLE');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await metricsText(service)).toMatch(
      new RegExp(
        `coupon_ledger_faults_total\\{campaign="${campaign.id}",reason="replication"\\} 1`,
      ),
    );

    replica = await startRedisServer({
      args: ['--replicaof', '127.0.0.1', String(master.port)],
    });
    await untilReplicaInSync(replica);
    const retried = await api.claim('alice', 'intent-1');
    // The body says which refusal it was if this fails.
    expect({ status: retried.status, body: retried.body }).toMatchObject({ status: 201 });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    // The master kept the first attempt's coupon: the retry is that one, and the replica has it.
    const reader = new Redis(replica.url);
    try {
      const couponKeys = await reader.keys(`{cpn:${campaign.id}:*}:c:*`);
      expect(couponKeys).toHaveLength(1);
      expect(couponKeys[0]).toContain(compact(retried.body.coupon.code as string));
    } finally {
      reader.disconnect();
    }
  });

  it('with the replica: claims and redemptions answer 2xx, and each is on the replica when answered', async () => {
    const reader = new Redis(replica!.url);
    try {
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => api.claim(`user-${i}`, `k-${i}`)),
      );
      for (const answer of claims) {
        expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 201 });
        const code = answer.body.coupon.code as string;
        expect(await reader.keys(`{cpn:${campaign.id}:*}:c:${compact(code)}`)).toHaveLength(1);
      }
      const code = claims[0]!.body.coupon.code as string;
      const redeemed = await api.redeem(code, {
        userId: 'user-0',
        orderId: 'order-1',
        orderAmountFen: 5000,
      });
      expect(redeemed.status).toBe(201);
      const [key] = await reader.keys(`{cpn:${campaign.id}:*}:c:${compact(code)}`);
      expect(await reader.hget(key!, 'o')).toBe('order-1');
    } finally {
      reader.disconnect();
    }
  });
});
