import type { RedisClient } from '../src/redis/client';
import { ReadinessProbe, REDIS_SAMPLE_MS } from '../src/readiness';

/** A Redis that answers PING as told, counting the PINGs (a unit test of the sampling). */
function pingable() {
  const redis = {
    status: 'ready',
    pings: 0,
    answer: Promise.resolve('PONG'),
    ping() {
      redis.pings += 1;
      return redis.answer;
    },
  };
  return redis;
}

describe('Readiness', () => {
  it('asks Redis at most once per sample period, one PING in flight, however often it is asked', async () => {
    const redis = pingable();
    let now = 0;
    const readiness = new ReadinessProbe(redis as unknown as RedisClient, 1, 100, () => now);
    const reports = await Promise.all(Array.from({ length: 50 }, () => readiness.check()));
    expect(reports.every((report) => report.ready)).toBe(true);
    expect(redis.pings).toBe(1);
    now += REDIS_SAMPLE_MS - 1;
    await readiness.check();
    expect(redis.pings).toBe(1);
    // A new sample once the last one is a second old; a failed PING is the new truth.
    redis.answer = Promise.reject(new Error('down'));
    now += 1;
    expect(await readiness.check()).toMatchObject({
      ready: false,
      checks: { redis: 'unreachable' },
    });
    expect(redis.pings).toBe(2);
    // A client that lost its connection is not ready, without a PING.
    now += REDIS_SAMPLE_MS;
    redis.status = 'reconnecting';
    expect(await readiness.check()).toMatchObject({ ready: false });
    expect(redis.pings).toBe(2);
  });

  it('answers not ready while draining, without asking Redis', async () => {
    const redis = pingable();
    const readiness = new ReadinessProbe(redis as unknown as RedisClient, 1, 100, () => 0);
    readiness.startDraining(0);
    expect(await readiness.check()).toMatchObject({ ready: false, checks: { draining: true } });
    expect(redis.pings).toBe(0);
  });
});
