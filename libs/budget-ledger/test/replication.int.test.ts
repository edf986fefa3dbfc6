import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import { describeIfRedis, untilReplicaInSync, describeWithRedis } from '@coupons/testing';
import { Redis } from 'ioredis';
import { ReplicationShortError, ReplicationWait } from '../src';

/** A master and a replica of its own (the shared harness Redis has none). */
describeIfRedis('ReplicationWait on a master with one replica', () => {
  let master: RedisServerHandle;
  let replica: RedisServerHandle;
  let redis: Redis;

  beforeAll(async () => {
    master = await startRedisServer();
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    redis = new Redis(master.url, { maxRetriesPerRequest: 1 });
    await untilReplicaInSync(replica);
  });
  afterAll(async () => {
    redis?.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  it('confirms a write the replica holds, and the replica has it', async () => {
    const wait = new ReplicationWait(redis, { replicas: 1, timeoutMs: 2_000 });
    await redis.set('k', 'v1');
    await expect(wait.confirm('k')).resolves.toBeUndefined();
    const reader = new Redis(replica.url);
    expect(await reader.get('k')).toBe('v1');
    reader.disconnect();
  });

  it('refuses, after its timeout, when fewer replicas than asked hold the write', async () => {
    const wait = new ReplicationWait(redis, { replicas: 2, timeoutMs: 150 });
    await redis.set('k', 'v2');
    const started = Date.now();
    const error = await wait.confirm('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicationShortError);
    expect(error).toMatchObject({ acknowledged: 1, wanted: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('confirmations asked in the same turn share one WAIT (WAIT blocks the shared connection)', async () => {
    const wait = new ReplicationWait(redis, { replicas: 1, timeoutMs: 2_000 });
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await redis.set(`many-${i}`, String(i));
        await wait.confirm(`many-${i}`);
      }),
    );
    expect(wait.waitsSent).toBeGreaterThanOrEqual(1);
    expect(wait.waitsSent).toBeLessThan(10);
    const reader = new Redis(replica.url);
    expect(await reader.mget(Array.from({ length: 50 }, (_, i) => `many-${i}`))).toEqual(
      Array.from({ length: 50 }, (_, i) => String(i)),
    );
    reader.disconnect();
  });

  it('refuses when the replica is gone', async () => {
    await replica.stop();
    const wait = new ReplicationWait(redis, { replicas: 1, timeoutMs: 100 });
    await redis.set('k', 'v3');
    await expect(wait.confirm('k')).rejects.toMatchObject({ acknowledged: 0, wanted: 1 });
  });
});

/** On a cluster WAIT must go to the master of the key's slot (the harness's has a replica each). */
describeWithRedis('ReplicationWait on the harness Redis', (target) => {
  it('refuses on a Redis without replicas (the harness standalone)', async () => {
    if (target.mode !== 'standalone') return;
    const redis = target.connect();
    await redis.set(`${target.keyPrefix}x`, '1');
    const wait = new ReplicationWait(redis, { replicas: 1, timeoutMs: 50 });
    await expect(wait.confirm(`${target.keyPrefix}x`)).rejects.toBeInstanceOf(
      ReplicationShortError,
    );
  });

  it('confirms writes whose keys live on different masters (a cluster, a replica each)', async () => {
    if (target.mode !== 'cluster') return;
    const redis = target.connect();
    const wait = new ReplicationWait(redis, { replicas: 1, timeoutMs: 2_000 });
    // Hash tags spread over the slot range, so every master gets some.
    for (let i = 0; i < 12; i++) {
      const key = `${target.keyPrefix}{tag-${i}}:x`;
      await redis.set(key, String(i));
      await wait.confirm(key);
      // The node asked is the key's master: a plain connection to any other answers MOVED.
      expect(await wait.nodeFor(key).get(key)).toBe(String(i));
    }
  });
});
