import { ManualClock } from '@coupons/campaign';
import { findFreePort } from '@coupons/redis-local';
import { KEYS, rawRequest, startTestService, TEST_CAMPAIGN, type TestService } from './support';

const auth = (key: string = KEYS.all) => ({ Authorization: `Bearer ${key}` });

function expectErrorShape(body: unknown, code: string): void {
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe('coupon-service over real HTTP and real Redis', () => {
  let service: TestService;
  const clock = new ManualClock(Date.parse('2026-02-10T12:30:00+08:00'));

  beforeAll(async () => {
    service = await startTestService({ clock });
  });
  afterAll(async () => {
    await service.stop();
  });

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${service.base}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    // The client connects lazily; readiness follows within a moment.
    let ready = await fetch(`${service.base}/readyz`);
    for (let i = 0; i < 50 && ready.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ready = await fetch(`${service.base}/readyz`);
    }
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ready: true,
      checks: { redis: 'ok', campaigns: 'ok', draining: false },
    });
  });

  it("shows the campaign with today's tranche and release at the injected time", async () => {
    const res = await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`, {
      headers: auth(),
    });
    expect(res.status).toBe(200);
    const { campaign } = (await res.json()) as {
      campaign: Record<string, unknown> & { release: Record<string, unknown> };
    };
    // 2,300 coupons over 23 days = 100 a day, in 24 hourly slices (4 slices of 5, 20 of 4);
    // at 12:30 the slices of 00:00..12:00 are out: 13 slices = 4*5 + 9*4 = 56 coupons.
    expect(campaign).toMatchObject({
      id: 'test-festival',
      status: 'running',
      currency: 'CNY',
      poolFen: 5_750_000,
      couponValueFen: 2500,
      startsAt: '2026-02-06T00:00:00.000+08:00',
      couponExpiresAt: '2026-02-28T23:59:59.999+08:00',
      perUser: { daily: 3, total: 21 },
    });
    expect(campaign.release).toMatchObject({
      slicesPerDay: 24,
      rollover: true,
      nextReleaseAt: '2026-02-10T13:00:00.000+08:00',
      today: {
        day: '2026-02-10',
        trancheFen: 250_000,
        releasedFen: 56 * 2500,
        slicesReleased: 13,
        slices: 24,
      },
      releasedFen: (4 * 100 + 56) * 2500,
    });
    expect(campaign.release.tranches).toHaveLength(23);

    clock.set(Date.parse('2026-02-10T13:00:00+08:00'));
    const later = (await (
      await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`, { headers: auth() })
    ).json()) as {
      campaign: { release: { today: { releasedFen: number } } };
    };
    expect(later.campaign.release.today.releasedFen).toBe(60 * 2500);
    clock.set(Date.parse('2026-02-10T12:30:00+08:00'));
  });

  it('answers 401 without a key or with a wrong one, 403 without the scope', async () => {
    const none = await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expectErrorShape(await none.json(), 'UNAUTHENTICATED');

    const wrong = await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`, {
      headers: auth('nope'),
    });
    expect(wrong.status).toBe(401);

    const scoped = await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`, {
      headers: auth(KEYS.readOnly),
    });
    expect(scoped.status).toBe(403);
    expectErrorShape(await scoped.json(), 'FORBIDDEN');
  });

  it('answers 404 in the contract shape for unknown routes and campaigns (401 first without a key)', async () => {
    const anonymous = await fetch(`${service.base}/nowhere`);
    expect(anonymous.status).toBe(401);
    expectErrorShape(await anonymous.json(), 'UNAUTHENTICATED');
    const route = await fetch(`${service.base}/nowhere`, { headers: auth() });
    expect(route.status).toBe(404);
    expectErrorShape(await route.json(), 'NOT_FOUND');

    const campaign = await fetch(`${service.base}/v1/campaigns/no-such-campaign`, {
      headers: auth(),
    });
    expect(campaign.status).toBe(404);
    expectErrorShape(await campaign.json(), 'CAMPAIGN_NOT_FOUND');

    const hostile = await fetch(`${service.base}/v1/campaigns/${'%F0%9F%92%A5'.repeat(40)}`, {
      headers: auth(),
    });
    expect(hostile.status).toBe(404);
    expectErrorShape(await hostile.json(), 'CAMPAIGN_NOT_FOUND');
  });

  it.each([
    {
      what: 'a 2 MB body',
      type: 'application/json',
      body: JSON.stringify({ userId: 'x'.repeat(2 * 1024 * 1024) }),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      what: 'a non-JSON body',
      type: 'text/plain',
      body: 'userId=u1',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      // The front door matches the media type; body-parser still refuses a charset it cannot read.
      what: 'JSON in a charset other than UTF-8',
      type: 'application/json; charset=latin1',
      body: JSON.stringify({ userId: 'u1' }),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      what: 'malformed JSON',
      type: 'application/json',
      body: '{"userId": ',
      status: 400,
      code: 'INVALID_REQUEST',
    },
  ])('refuses $what with $status', async ({ type, body, status, code }) => {
    const url = `${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}/coupons`;
    const answer = await rawRequest(url, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': type },
      body,
    });
    expect(answer.status).toBe(status);
    expectErrorShape(JSON.parse(answer.body), code);
  });

  it("carries the caller's request id, or makes one, and logs no key", async () => {
    const res = await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`, {
      headers: { ...auth(), 'X-Request-Id': 'chat-abc-123' },
    });
    expect(res.headers.get('x-request-id')).toBe('chat-abc-123');
    const made = await fetch(`${service.base}/healthz`, {
      headers: { 'X-Request-Id': 'bad id with spaces' },
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(service.log()).toContain('"id":"chat-abc-123"');
    expect(service.log()).not.toContain(KEYS.all);
  });

  it('serves Prometheus metrics on the metrics port only', async () => {
    await fetch(`${service.base}/v1/campaigns/${TEST_CAMPAIGN.id}`, { headers: auth() });
    const res = await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).toMatch(
      /^coupon_http_requests_total\{method="GET",route="\/v1\/campaigns\/:campaignId",status="200"\} \d+$/m,
    );
    // Answered by the front door, counted by why: the API port has no /metrics (401 without a key).
    expect((await fetch(`${service.base}/metrics`)).status).toBe(401);
    expect((await fetch(`${service.base}/metrics`, { headers: auth() })).status).toBe(404);
    const after = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
    expect(after).toMatch(/^coupon_http_refused_total\{reason="not_found"\} [1-9]\d*$/m);
    expect(after).toMatch(/^coupon_http_refused_total\{reason="unauthenticated"\} [1-9]\d*$/m);
  });
});

describe('coupon-service without Redis', () => {
  it('starts, but is not ready while nothing answers at REDIS_URL', async () => {
    const port = await findFreePort();
    const service = await startTestService({ redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const started = Date.now();
      const ready = await fetch(`${service.base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        ready: false,
        checks: { redis: 'unreachable', campaigns: 'ok', draining: false },
      });
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await fetch(`${service.base}/healthz`)).status).toBe(200);
    } finally {
      await service.stop();
    }
  });
});
