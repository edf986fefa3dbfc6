import { describeIfRedis } from '@coupons/testing';
import { reconcile } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import type { RedisServerHandle } from '@coupons/redis-local';
import type { Redis } from 'ioredis';
import {
  couponApi,
  liveCampaign,
  metricsText,
  testRedisClient,
  uniqueId,
  type ApiAnswer,
  type TestService,
  until,
  useOwnRedisService,
  withRedisStopped,
} from './support';

const MINUTE_MS = 60_000;

/** Keys anything but the per-user request limiter wrote (it counts refused requests too). */
async function ledgerKeys(probe: Redis): Promise<string[]> {
  return (await probe.keys('*')).filter((key) => !key.startsWith('coupons:rl:'));
}

function expectUnavailable(answer: ApiAnswer): void {
  expect(answer.status).toBe(503);
  expect(answer.body.error.code).toBe('UNAVAILABLE');
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(answer.ms).toBeLessThan(1000);
}

/**
 * Redis stopped and restarted under a running service, on a redis-server of this file's own
 * (never the shared harness). The campaign releases a slice every ~250 ms (1440 slices over a
 * six-minute window), so after a re-initialisation that writes off everything released so far,
 * new budget arrives within a moment instead of an hour.
 */
describeIfRedis('faults fail closed, fast, and recover by themselves', () => {
  const campaign = liveCampaign(uniqueId('faults'), {
    startsInMs: -MINUTE_MS,
    endsInMs: 5 * MINUTE_MS,
    slicesPerDay: 1440,
    coupons: 1440 * 20,
    shards: 2,
  });
  const calendar = new CampaignCalendar(parseCampaigns({ campaigns: [campaign] })[0]!);
  let server: RedisServerHandle;
  let service: TestService;
  let api: ReturnType<typeof couponApi>;
  let coupon: { code: string };
  let keys = 0;
  const claim = (userId = 'alice') => api.claim(userId, `key-${(keys += 1)}`);
  const redemption = (orderId: string) =>
    api.redeem(coupon.code, { userId: 'alice', orderId, orderAmountFen: 5000 });
  const ready = async () => (await fetch(`${service.base}/readyz`)).status;

  const restartRedis = useOwnRedisService(
    (s, r) => {
      service = s;
      server = r;
      api = couponApi(s, campaign.id);
    },
    { clock: 'redis', campaigns: [campaign] },
  );

  it('issues and redeems while Redis is up', async () => {
    const first = await claim();
    expect(first.status).toBe(201);
    coupon = first.body.coupon;
    expect((await redemption('order-1')).status).toBe(201);
  });

  it('answers 503 UNAVAILABLE with Retry-After within a second once Redis is stopped, and turns unready', async () => {
    await server.stop();
    expectUnavailable(await claim());
    expectUnavailable(await redemption('order-1'));
    expectUnavailable(await api.reverse(coupon.code, 'order-1', 'alice'));
    expectUnavailable(await api.read(coupon.code, 'alice'));
    expectUnavailable(await api.budget());
    const started = Date.now();
    expect(await ready()).toBe(503);
    expect(Date.now() - started).toBeLessThan(1000);
    const metrics = await metricsText(service);
    expect(metrics).toMatch(/^coupon_redis_errors_total\{command="issue"\} [1-9]\d*$/m);
    expect(metrics).toMatch(
      new RegExp(
        `^coupon_claims_total\\{campaign="${campaign.id}",outcome="unavailable"\\} 1$`,
        'm',
      ),
    );
  });

  it('reconnects by itself when Redis returns, but a Redis that returns empty is a loss: 503 until re-initialised', async () => {
    server = await restartRedis();
    await until('readiness', async () => ((await ready()) === 200 ? true : undefined));

    // Money rule 8: the restarted Redis has no ledger; nothing is issued from a "fresh" one.
    const refused = await claim();
    expectUnavailable(refused);
    expect(refused.body.error.retryAfterSeconds).toBe(30);
    expect(service.log()).toMatch(/"level":"error".*"reason":"ledger_missing"/);
    const probe = testRedisClient({ url: server.url }) as Redis;
    try {
      expect(await ledgerKeys(probe)).toEqual([]);
    } finally {
      await probe.quit();
    }

    const report = await service.ledgers.get(campaign.id)!.init({ afterLoss: true });
    expect(report.created).toEqual([0, 1]);
    expect(report.writtenOffCoupons).toBeGreaterThan(0);
    // Everything released before the loss is written off; the next slices bring new budget.
    const issued = await until('a claim after the next release', async () => {
      const answer = await claim('bob');
      if (answer.status === 201) return answer;
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('TRANCHE_EXHAUSTED');
      return undefined;
    });
    expect(issued.body.coupon.userId).toBe('bob');
  });

  it('refuses to issue after FLUSHALL while the campaign runs, and writes nothing, until re-initialised on purpose', async () => {
    const probe = testRedisClient({ url: server.url }) as Redis;
    try {
      await probe.flushall();
      for (let i = 0; i < 5; i += 1) expectUnavailable(await claim(`user-${i}`));
      expect(await ledgerKeys(probe)).toEqual([]);

      await service.ledgers.get(campaign.id)!.init({ afterLoss: true });
      await until('a claim after re-initialisation', async () =>
        (await claim('carol')).status === 201 ? true : undefined,
      );
      const [seconds, micros] = await probe.time();
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const check = await reconcile(probe, calendar, redisNow);
      expect(check.problems).toEqual([]);
    } finally {
      await probe.quit();
    }
  });

  it('answers 503 within a second when Redis hangs (command timeout); a retry with the same key gets the one coupon', async () => {
    await withRedisStopped(server, async () => {
      expectUnavailable(await api.claim('dora', 'hung-1'));
      expectUnavailable(await redemption('order-9'));
      expect(await ready()).toBe(503);
    });
    await until('readiness', async () => ((await ready()) === 200 ? true : undefined));
    // The timed-out script may have run once Redis resumed: the same key answers that coupon,
    // never a second one.
    const first = await api.claim('dora', 'hung-1');
    const again = await api.claim('dora', 'hung-1');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const budget = await api.budget();
    expect(budget.status).toBe(200);
  });
});

describeIfRedis('a Redis whose settings could lose coupons', () => {
  const campaign = liveCampaign(uniqueId('evicting'), { shards: 1 });
  let service: TestService;
  let probe: Redis;

  useOwnRedisService(
    (s, server) => {
      service = s;
      probe = testRedisClient({ url: server.url }) as Redis;
    },
    {
      redisArgs: ['--maxmemory-policy', 'volatile-lru'],
      clock: 'redis',
      campaigns: [campaign],
      neverIssued: [],
    },
  );
  beforeAll(async () => {
    await until('the first settings check', () => service.ledgers.settings.report);
  });
  afterAll(() => {
    probe.disconnect();
  });

  it('refuses claims (503, metric, error log naming the setting), and serves once it is fixed', async () => {
    const ledger = service.ledgers.get(campaign.id)!;
    await expect(ledger.init({ neverIssued: true })).resolves.toMatchObject({ created: [0] });
    const api = couponApi(service, campaign.id);
    const refused = await api.claim('alice', 'k1');
    expectUnavailable(refused);
    expect(refused.body.error.message).toMatch(/settings could lose coupons/);
    expect(await metricsText(service)).toMatch(/^coupon_redis_settings_ok 0$/m);
    expect(await metricsText(service)).toMatch(
      new RegExp(
        `^coupon_ledger_faults_total\\{campaign="${campaign.id}",reason="redis_settings"\\} 1$`,
        'm',
      ),
    );
    expect(service.log()).toMatch(/"level":"error".*maxmemory-policy is volatile-lru/);
    // Readiness is Redis answering: a setting is an operator's fix, not a reason to drain pods.
    expect((await fetch(`${service.base}/readyz`)).status).toBe(200);

    await probe.config('SET', 'maxmemory-policy', 'noeviction');
    expect(await service.ledgers.checkSettings()).toBe(true);
    expect((await api.claim('alice', 'k1')).status).toBe(201);
    expect(await metricsText(service)).toMatch(/^coupon_redis_settings_ok 1$/m);
  });
});
