import { randomBytes } from 'node:crypto';
import { describeWithRedis } from '@coupons/testing';
import { findFreePort } from '@coupons/redis-local';
import { Cluster, Redis } from 'ioredis';
import { AdmissionGate, ConcurrencyLimit, RequestLimiter, type Decision } from '../src';

const NOW = 1_800_000_000_000;

/** A client for a port nothing listens on: it never becomes ready. */
function deadClient(mode: 'standalone' | 'cluster', port: number): Redis | Cluster {
  const client =
    mode === 'standalone'
      ? new Redis(port, '127.0.0.1', {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        })
      : new Cluster([{ host: '127.0.0.1', port }], {
          enableOfflineQueue: false,
          clusterRetryStrategy: () => null,
          redisOptions: { maxRetriesPerRequest: 0 },
        });
  client.on('error', () => undefined);
  return client;
}

describeWithRedis('RequestLimiter (rate-limiter-flexible RateLimiterRedis)', (target) => {
  let client: Redis | Cluster;
  /** A key prefix of its own per test. */
  const prefix = () => `${target.keyPrefix}rl:${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    client = target.connect();
    // Until the client is ready every consume goes to the insurance limiter (rejectIfRedisNotReady).
    await client.ping();
  });

  it('counts every request of a user in Redis and refuses past the limit', async () => {
    const keyPrefix = prefix();
    const limiter = new RequestLimiter(client, { points: 3, durationSeconds: 60, keyPrefix });
    for (let i = 0; i < 3; i++)
      await expect(limiter.consume('u1', NOW)).resolves.toEqual({ limited: false });
    expect(await client.get(`${keyPrefix}:u1`)).toBe('3');
    const ttl = await client.pttl(`${keyPrefix}:u1`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // The request that used the last point blocked the user in memory for the rest of the window.
    expect(limiter.blockedMs('u1', NOW)).toBeGreaterThan(50_000);
    expect(limiter.blockedMs('u2', NOW)).toBe(0);
    expect(limiter.insuranceAnswers).toBe(0);
  });

  it("firstRequestLocal: an id's first request per window on this pod costs no Redis call", async () => {
    const keyPrefix = prefix();
    const limiter = new RequestLimiter(client, {
      points: 2,
      durationSeconds: 60,
      keyPrefix,
      firstRequestLocal: true,
      maxFirstSeen: 2,
    });
    expect(limiter.freePass('u1', NOW)).toBe(true);
    expect(await client.get(`${keyPrefix}:u1`)).toBeNull();
    // The second request of the window is not free: it is counted with the first, so the limit
    // of 2 is exact: the second is the last one served, the third refused.
    expect(limiter.freePass('u1', NOW + 1000)).toBe(false);
    await expect(limiter.consume('u1', NOW + 1000)).resolves.toEqual({ limited: false });
    expect(await client.get(`${keyPrefix}:u1`)).toBe('2');
    expect(limiter.blockedMs('u1', NOW + 1000)).toBeGreaterThan(50_000);
    await expect(limiter.consume('u1', NOW + 1000)).resolves.toMatchObject({ limited: true });
    // Still remembered in the next window (two generations), forgotten after it.
    expect(limiter.freePass('u1', NOW + 61_000)).toBe(false);
    expect(limiter.freePass('u1', NOW + 121_000)).toBe(true);
    // Bounded: past maxFirstSeen ids in a window, nobody gets a free pass.
    expect(limiter.freePass('u2', NOW + 121_000)).toBe(true);
    expect(limiter.freePass('u3', NOW + 121_000)).toBe(false);
    // Bounded in bytes too: long ids fill it sooner than many short ones.
    const byBytes = new RequestLimiter(client, {
      points: 2,
      durationSeconds: 60,
      keyPrefix,
      firstRequestLocal: true,
      maxFirstSeenBytes: 1_100,
    });
    let passes = 0;
    for (let i = 0; i < 100; i += 1)
      if (byBytes.freePass(`${'x'.repeat(200)}-${i}`, NOW)) passes += 1;
    expect(passes).toBe(2); // two ids of ~200 characters (2 bytes each, + 80 an entry) fit in 1,100
    expect(byBytes.firstSeenBytes).toBeLessThanOrEqual(1_100);
    expect(byBytes.freePass('short', NOW)).toBe(true);
    // Off by default.
    const plain = new RequestLimiter(client, { points: 2, durationSeconds: 60, keyPrefix });
    expect(plain.freePass('u9', NOW)).toBe(false);
  });

  it('shares the count between pods, so a request over the limit is refused and counted', async () => {
    const keyPrefix = prefix();
    const podA = new RequestLimiter(client, { points: 3, durationSeconds: 60, keyPrefix });
    const podB = new RequestLimiter(client, { points: 3, durationSeconds: 60, keyPrefix });
    await podA.consume('u1', NOW);
    await podB.consume('u1', NOW);
    await podA.consume('u1', NOW);
    const verdict = await podB.consume('u1', NOW);
    expect(verdict).toMatchObject({ limited: true });
    if (verdict.limited) {
      expect(verdict.retryAfterMs).toBeGreaterThan(50_000);
      expect(verdict.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(await client.get(`${keyPrefix}:u1`)).toBe('4');
    expect(podB.blockedMs('u1', NOW)).toBeGreaterThan(50_000);
  });

  it('keeps users apart, on whatever node their key lands', async () => {
    const keyPrefix = prefix();
    const limiter = new RequestLimiter(client, { points: 1, durationSeconds: 60, keyPrefix });
    const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const verdicts = await Promise.all(users.map((u) => limiter.consume(u, NOW)));
    expect(verdicts.every((v) => !v.limited)).toBe(true);
    const counts = await Promise.all(users.map((u) => client.get(`${keyPrefix}:${u}`)));
    expect(counts).toEqual(users.map(() => '1'));
    if (target.mode === 'cluster') {
      const slots = await Promise.all(
        users.map((u) => client.cluster('KEYSLOT', `${keyPrefix}:${u}`) as Promise<number>),
      );
      expect(new Set(slots).size).toBeGreaterThan(20);
    }
  });

  it('in the gate: a blocked user is refused synchronously, without another Redis call', async () => {
    const keyPrefix = prefix();
    const limiter = new RequestLimiter(client, { points: 2, durationSeconds: 60, keyPrefix });
    const gate = new AdmissionGate({
      now: () => NOW,
      concurrency: new ConcurrencyLimit(),
      userLimit: { limiter },
    });
    const claim = { priority: 'claim', campaignId: 'c1', userId: 'u1', headers: {} } as const;
    for (let i = 0; i < 2; i++) {
      const d = gate.admit(claim);
      expect(d).toBeInstanceOf(Promise);
      const admitted = await d;
      expect(admitted.admitted).toBe(true);
      if (admitted.admitted) admitted.permit.release();
    }
    const refused = gate.admit(claim) as Decision;
    expect(refused).not.toBeInstanceOf(Promise);
    expect(refused).toMatchObject({ admitted: false, status: 429, code: 'RATE_LIMITED' });
    expect(await client.get(`${keyPrefix}:u1`)).toBe('2');
  });

  it('falls back to the insurance limiter when Redis is unreachable (a dead port)', async () => {
    const dead = deadClient(target.mode, await findFreePort());
    try {
      const limiter = new RequestLimiter(dead, {
        points: 100,
        durationSeconds: 60,
        keyPrefix: prefix(),
        insurancePoints: 2,
      });
      const started = Date.now();
      await expect(limiter.consume('u1', NOW)).resolves.toEqual({ limited: false });
      await expect(limiter.consume('u1', NOW)).resolves.toEqual({ limited: false });
      await expect(limiter.consume('u1', NOW)).resolves.toMatchObject({ limited: true });
      await expect(limiter.consume('u2', NOW)).resolves.toEqual({ limited: false });
      // Not waiting on a connection: the insurance answers at once.
      expect(Date.now() - started).toBeLessThan(1000);
      expect(limiter.insuranceAnswers).toBe(4);
      expect(limiter.faults).toBe(0);
    } finally {
      dead.disconnect();
    }
  });

  it('falls back when the connection drops mid-way, and Redis keeps its count', async () => {
    const keyPrefix = prefix();
    const own = target.connect();
    await own.ping();
    const limiter = new RequestLimiter(own, {
      points: 100,
      durationSeconds: 60,
      keyPrefix,
      insurancePoints: 1,
    });
    await limiter.consume('u1', NOW);
    own.disconnect();
    await expect(limiter.consume('u1', NOW)).resolves.toEqual({ limited: false });
    await expect(limiter.consume('u1', NOW)).resolves.toMatchObject({ limited: true });
    expect(limiter.insuranceAnswers).toBe(2);
    expect(await client.get(`${keyPrefix}:u1`)).toBe('1');
  });
});
