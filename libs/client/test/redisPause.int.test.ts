import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import type { ClaimOutcome } from '../src/outcomes';
import { UndiciTransport } from '../src/transport';
import {
  clientOf,
  couponApi,
  describeIfRedis,
  issuedCount,
  liveCampaign,
  startPod,
  uniqueId,
  until,
  type TestService,
} from './serviceHarness';
import { RecordingTransport, SkippingClock } from './support';

/**
 * Redis stops answering (SIGSTOP) past the service's command timeout (300 ms here): claims are
 * answered 503 UNAVAILABLE with Retry-After 2, and the scripts run when Redis resumes. A private
 * redis-server, never the shared harness.
 */
describeIfRedis('Redis paused past the command timeout', () => {
  const campaign = liveCampaign(uniqueId('client-pause'));
  let redis: RedisServerHandle;
  let service: TestService;
  let paused = false;
  const pause = () => {
    process.kill(redis.pid, 'SIGSTOP');
    paused = true;
  };
  const resume = () => {
    if (paused) process.kill(redis.pid, 'SIGCONT');
    paused = false;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    service = await startPod([campaign], { redisUrl: redis.url });
  });
  afterAll(async () => {
    resume();
    await service.stop();
    await redis.stop();
  });
  afterEach(resume);

  it('retries after Retry-After with less of the deadline each time, and ends with one coupon per claim', async () => {
    // Real time here: Redis resumes in real time, and the attempt times are what is checked.
    const recording = new RecordingTransport(new UndiciTransport(service.base));
    const client = clientOf(service.base, {
      transport: recording,
      deadlineMs: 9_000,
      maxAttempts: 3,
      retryBudget: { minRetries: 10 },
    });
    const users = ['p0', 'p1', 'p2', 'p3', 'p4'];
    try {
      pause();
      const started = Date.now();
      const pending = users.map((userId) =>
        client.claim({ campaignId: campaign.id, userId, intentId: `m-${userId}` }),
      );
      await until(
        'every first attempt answered 503',
        () =>
          recording.exchanges.filter((e) => e.status === 503).length >= users.length || undefined,
      );
      resume();
      const outcomes: ClaimOutcome[] = await Promise.all(pending);
      // Within the deadline, end to end.
      expect(Date.now() - started).toBeLessThan(9_000);
      // Redis ran every script when it resumed, after the service had answered 503: each retry
      // is answered that coupon.
      expect(outcomes.map((o) => o.kind)).toEqual(users.map(() => 'replayed'));

      const api = couponApi(service, campaign.id);
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.kind !== 'issued' && outcome.kind !== 'replayed')
          throw new Error(`no coupon: ${JSON.stringify(outcome)}`);
        expect(outcome.maybeDone).toBe(true);
        expect((await api.read(outcome.coupon.code, users[i]!)).status).toBe(200);
        const [first, second, ...rest] = recording.of(outcome.idempotencyKey);
        expect(rest).toEqual([]);
        expect(first).toMatchObject({ status: 503, retryAfter: '2' });
        expect(second?.status).toBe(201);
        // No attempt before Retry-After...
        expect(second!.at - first!.at).toBeGreaterThanOrEqual(2_000);
        // ...and each attempt says how much of the deadline is left.
        const timeouts = [first!, second!].map((e) =>
          Number(e.request.headers['x-request-timeout-ms']),
        );
        expect(timeouts[0]).toBeLessThanOrEqual(9_000);
        expect(timeouts[0]).toBeGreaterThan(8_500);
        // Less by at least the wait between them (Retry-After: 2 s).
        expect(timeouts[0]! - timeouts[1]!).toBeGreaterThanOrEqual(2_000);
      }
      // One coupon per claim: the scripts that ran after the 503s were answered to the retries.
      expect(
        new Set(
          outcomes.map((o) => (o.kind === 'issued' || o.kind === 'replayed' ? o.coupon.code : '')),
        ).size,
      ).toBe(5);
      expect(await issuedCount(service, campaign)).toBe(5);
    } finally {
      await client.close();
    }
  });

  it('caps retries with the retry budget when every answer is 503', async () => {
    const clock = new SkippingClock();
    const recording = new RecordingTransport(new UndiciTransport(service.base));
    let exhausted = 0;
    const client = clientOf(service.base, {
      transport: recording,
      clock,
      maxAttempts: 5,
      deadlineMs: 60_000,
      retryBudget: { ratio: 0.1, windowMs: 60_000, minRetries: 2 },
      // The budget alone: the throttle would hold back some of these first attempts too.
      throttle: false,
      metrics: { retryBudgetExhausted: () => (exhausted += 1) },
    });
    try {
      pause();
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          client.claim({ campaignId: campaign.id, userId: `b${i}`, intentId: `m-${i}` }),
        ),
      );
      expect(recording.exchanges.every((e) => e.status === 503)).toBe(true);
      expect(outcomes.every((o) => o.kind === 'unavailable' || o.kind === 'overloaded')).toBe(true);
      // 30 calls wanting 4 retries each: 2 + 10% of 30 retries at most.
      expect(recording.exchanges.length).toBeLessThanOrEqual(30 + 2 + 3);
      expect(recording.exchanges.length).toBeGreaterThan(30);
      expect(exhausted).toBeGreaterThanOrEqual(25);
    } finally {
      resume();
      await client.close();
    }
  });
});
