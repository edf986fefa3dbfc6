import { describeIfRedis } from '@coupons/testing';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { RedisServerHandle } from '@coupons/redis-local';
import {
  claim,
  expectFromExpress,
  expectFromGate,
  expectRetryableError,
  issuedCoupons,
  metric,
  metricNow,
  series,
  shed,
  untilMetric,
  type Api,
} from './admission';
import {
  couponApi,
  KEYS,
  liveCampaign,
  metricsText,
  startTestService,
  uniqueId,
  waitUntilReady,
  type TestService,
  until,
  rawExchange,
  useOwnRedisService,
  withRedisStopped,
  QUIET_GUARD_ENV,
} from './support';

/**
 * The admission gate of the real service: real HTTP, real Redis (the harness's, or a private
 * redis-server for anything that stops Redis), the service's metrics. Here the gate itself, the
 * priority partitions and client deadlines; admissionLimits.int.test.ts has the rest.
 */

interface KeptAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test
  body: any;
  /** This request went out on a connection an earlier request had used. */
  reusedSocket: boolean;
  localPort: number | undefined;
}

/** node:http through a keep-alive agent, to see whether answers keep the connection. */
function viaAgent(
  agent: Agent,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<KeptAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        const localPort = res.socket?.localPort;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text === '' ? undefined : JSON.parse(text),
            reusedSocket: req.reusedSocket,
            localPort,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describeIfRedis('admission: the gate sheds before express', () => {
  const campaign = liveCampaign(uniqueId('adm-gate'));
  let service: TestService;
  let agent: Agent;
  const url = (path: string) => `${service.base}${path}`;
  const auth = { Authorization: `Bearer ${KEYS.all}` };

  beforeAll(async () => {
    // The default ManualClock never moves, so the one-token bucket never refills.
    service = await startTestService({
      campaigns: [campaign],
      env: {
        ...QUIET_GUARD_ENV,
        ADMISSION_RATE: '1',
        ADMISSION_BURST: '1',
        ADMISSION_CONCURRENCY_MIN: '12',
        ADMISSION_CONCURRENCY_MAX: '12',
        USER_RATE_LIMIT: 'off',
      },
    });
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await waitUntilReady(service);
  });
  afterAll(async () => {
    agent?.destroy();
    await service?.stop();
  });

  it('answers 503 OVERLOADED from the token bucket, before express, and keeps the connection', async () => {
    const first = await viaAgent(agent, url(`/v1/campaigns/${campaign.id}`), { headers: auth });
    expect(first.status).toBe(200);
    expect(first.headers['x-request-id']).toEqual(expect.any(String));

    const shed = await viaAgent(agent, url(`/v1/campaigns/${campaign.id}/coupons`), {
      method: 'POST',
      headers: {
        ...auth,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'bucket-1',
        'X-User-Id': 'alice',
      },
      body: JSON.stringify({ userId: 'alice' }),
    });
    expect(shed.status).toBe(503);
    expect(shed.body).toEqual({
      error: { code: 'OVERLOADED', message: expect.any(String), retryAfterSeconds: 1 },
    });
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.headers['x-request-id']).toBeUndefined();
    expect(shed.headers.connection).not.toBe('close');
    expect(shed.reusedSocket).toBe(true);
    expect(shed.localPort).toBe(first.localPort);

    // The connection outlives the shed answer: the next request goes out on it (and is shed too).
    const next = await viaAgent(agent, url(`/v1/campaigns/${campaign.id}/budget`), {
      headers: auth,
    });
    expect(next.reusedSocket).toBe(true);
    expect(next.localPort).toBe(first.localPort);
    expect(next.status).toBe(503);
    expect(next.body.error.code).toBe('OVERLOADED');
    expect(next.headers['x-request-id']).toBeUndefined();
  });

  it('never sheds the health probes', async () => {
    for (const probe of ['/healthz', '/readyz']) {
      const answer = await viaAgent(agent, url(probe));
      expect(answer.status).toBe(200);
    }
    // ...while the bucket is still empty for everything else.
    const still = await viaAgent(agent, url(`/v1/campaigns/${campaign.id}`), { headers: auth });
    expect(still.status).toBe(503);
  });

  it('counts shed requests by reason and priority, apart from the requests express served', async () => {
    const text = await metricsText(service);
    expect(shed(text, 'token_bucket')).toBe(3);
    expect(shed(text, 'token_bucket', 'claim')).toBe(1);
    expect(shed(text, 'token_bucket', 'read')).toBe(2);
    // Demand counts every request that reached the gate, shed or not (probes never do).
    expect(metric(text, 'coupon_requests_received_total', { priority: 'claim' })).toBe(1);
    expect(metric(text, 'coupon_requests_received_total', { priority: 'read' })).toBe(3);
    // Express served the first read (and the probes, a 503 among them while Redis connected),
    // never a shed request.
    // (Every route's 500 and 503 series exist from the start, at 0: those are not requests.)
    const servedApi = series(text, 'coupon_http_requests_total').filter(
      (s) => s.labels.route !== '/healthz' && s.labels.route !== '/readyz' && s.value > 0,
    );
    expect(servedApi).toEqual([
      expect.objectContaining({
        labels: expect.objectContaining({ method: 'GET', status: '200' }),
      }),
    ]);
    expect(servedApi[0]!.value).toBe(1);
  });

  it('exports demand, in-flight, the concurrency limit, saturation and event-loop time', async () => {
    const text = await metricsText(service);
    expect(series(text, 'coupon_requests_received_total', { priority: 'claim' })).toHaveLength(1);
    for (const priority of ['redeem', 'read', 'claim', 'other'])
      expect(series(text, 'coupon_admission_inflight', { priority })).toEqual([
        expect.objectContaining({ value: 0 }),
      ]);
    // Pinned by ADMISSION_CONCURRENCY_MIN = MAX.
    expect(series(text, 'coupon_admission_concurrency_limit')).toEqual([
      expect.objectContaining({ value: 12 }),
    ]);
    // The bucket is empty and time does not move: fully saturated.
    expect(series(text, 'coupon_admission_saturation')).toEqual([
      expect.objectContaining({ value: 1 }),
    ]);
    expect(series(text, 'coupon_event_loop_active_seconds_total')).toHaveLength(1);
    // The guard samples every 100 ms: the busy time shows up within a moment.
    await until('event-loop active seconds', async () =>
      (await metricNow(service, 'coupon_event_loop_active_seconds_total')) > 0 ? true : undefined,
    );
  });

  it('sheds a claim on its headers, before its body: a body that never comes costs nothing', async () => {
    // Content-Length promises a body that is never sent: a request that waited for it would be
    // answered only at BODY_TIMEOUT_MS (408); the empty bucket answers it at once.
    const answer = await rawExchange(
      service.port,
      [
        `POST /v1/campaigns/${campaign.id}/coupons HTTP/1.1`,
        'Host: 127.0.0.1',
        `Authorization: Bearer ${KEYS.all}`,
        'Content-Type: application/json',
        'Idempotency-Key: bucket-nobody',
        'X-User-Id: bob',
        'Content-Length: 100',
        '',
        '',
      ].join('\r\n'),
    );
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error.code).toBe('OVERLOADED');
  });
});

describeIfRedis('admission: priority partitions of the concurrency limit', () => {
  const campaign = liveCampaign(uniqueId('adm-prio'), { shards: 2 });
  let server: RedisServerHandle;
  let service: TestService;
  let api: Api;

  // 5 slots, claims at most floor(5 x 0.6) = 3 of them. Redis calls give up after 3 s, well
  // within the requests' default deadline (so a hung call ends UNAVAILABLE, not OVERLOADED).
  useOwnRedisService(
    (s, r) => {
      service = s;
      server = r;
      api = couponApi(s, campaign.id);
    },
    {
      campaigns: [campaign],
      env: {
        ...QUIET_GUARD_ENV,
        ADMISSION_CONCURRENCY_MIN: '5',
        ADMISSION_CONCURRENCY_MAX: '5',
        ADMISSION_CLAIM_SHARE: '0.6',
        REDIS_COMMAND_TIMEOUT_MS: '3000',
        REQUEST_TIMEOUT_DEFAULT_MS: '5000',
        USER_RATE_LIMIT: 'off',
      },
    },
  );

  it('keeps slots for redemptions and reads when claims hang on a stopped Redis', async () => {
    const owned = await claim(api, 'owner', 'prio-0');
    expect(owned.status).toBe(201);
    const code = owned.body.coupon.code as string;
    expect(await metricNow(service, 'coupon_admission_concurrency_limit')).toBe(5);

    await withRedisStopped(server, async () => {
      const hanging = [1, 2, 3].map((i) => claim(api, `hang-${i}`, `prio-${i}`));
      await untilMetric(service, 'coupon_admission_inflight', { priority: 'claim' }, 3);

      // The claim partition is full: the next claim is shed at the gate.
      const shedClaim = await claim(api, 'hang-4', 'prio-4');
      expectRetryableError(shedClaim, 503, 'OVERLOADED');
      expectFromGate(shedClaim);

      // A redemption and a read still get slots (4 and 5 of 5) and reach the ledger.
      const redemption = api.redeem(code, {
        userId: 'owner',
        orderId: 'o-1',
        orderAmountFen: 5000,
      });
      const read = api.read(code, 'owner');
      await untilMetric(service, 'coupon_admission_inflight', { priority: 'redeem' }, 1);
      await untilMetric(service, 'coupon_admission_inflight', { priority: 'read' }, 1);
      expect(await metricNow(service, 'coupon_admission_saturation')).toBe(1);

      // Every slot is taken now: a further read is shed as well.
      const shedRead = await api.read(code, 'owner');
      expectRetryableError(shedRead, 503, 'OVERLOADED');
      expectFromGate(shedRead);

      // Redis stays stopped until every admitted request has its answer: the command timeout.
      for (const answer of [...(await Promise.all(hanging)), await redemption, await read]) {
        expectRetryableError(answer, 503, 'UNAVAILABLE');
        expectFromExpress(answer);
      }
    });

    const text = await metricsText(service);
    expect(shed(text, 'concurrency', 'claim')).toBe(1);
    expect(shed(text, 'concurrency', 'read')).toBe(1);
    expect(shed(text, 'concurrency', 'redeem')).toBe(0);
    expect(metric(text, 'coupon_redis_errors_total', { command: 'redeem' })).toBe(1);
    expect(metric(text, 'coupon_redis_errors_total', { command: 'read' })).toBe(1);
    // Every slot is given back (released when the answer is written).
    await untilMetric(service, 'coupon_admission_inflight', {}, 0);

    // Once Redis answers again, claims are admitted and served again.
    await waitUntilReady(service);
    expect((await claim(api, 'after', 'prio-after')).status).toBe(201);
  });
});

describeIfRedis('admission: client deadlines (X-Request-Timeout-Ms)', () => {
  const tooShort = liveCampaign(uniqueId('adm-dl-short'));
  const hung = liveCampaign(uniqueId('adm-dl-hung'));
  let server: RedisServerHandle;
  let service: TestService;

  // Redis's own timeout is far off: only the caller's deadline can end a hung call early.
  useOwnRedisService(
    (s, r) => {
      service = s;
      server = r;
    },
    {
      clock: 'redis',
      campaigns: [tooShort, hung],
      env: { ...QUIET_GUARD_ENV, REDIS_COMMAND_TIMEOUT_MS: '5000', USER_RATE_LIMIT: 'off' },
    },
  );

  it('sheds a claim whose caller will not wait long enough, and issues nothing', async () => {
    const api = couponApi(service, tooShort.id);
    const answer = await claim(api, 'impatient', 'dl-1', {
      headers: { 'X-Request-Timeout-Ms': '1' },
    });
    expectRetryableError(answer, 503, 'OVERLOADED');
    expectFromGate(answer);
    const text = await metricsText(service);
    expect(shed(text, 'deadline', 'claim')).toBe(1);
    expect(metric(text, 'coupon_claims_total', { campaign: tooShort.id })).toBe(0);
    expect(await issuedCoupons(service, tooShort)).toBe(0);

    // The same claim with time to spare is served.
    const patient = await claim(api, 'impatient', 'dl-1');
    expect(patient.status).toBe(201);
    expect(patient.headers.get('idempotent-replayed')).toBeNull();
  });

  it('bounds a hung Redis call by the deadline (OVERLOADED, not UNAVAILABLE); the retry gets one coupon', async () => {
    const api = couponApi(service, hung.id);
    const answer = await withRedisStopped(server, () =>
      claim(api, 'dora', 'dl-hung', { headers: { 'X-Request-Timeout-Ms': '300' } }),
    );
    // Past the gate (admitted), then the ledger call gave up at the deadline.
    expectRetryableError(answer, 503, 'OVERLOADED');
    expectFromExpress(answer);
    expect(answer.body.error.message).toMatch(/deadline/);
    expect(
      await metricNow(service, 'coupon_claims_total', { campaign: hung.id, outcome: 'deadline' }),
    ).toBe(1);

    // The script may still have run once Redis resumed: the same key answers that one coupon.
    await waitUntilReady(service);
    const retry = await claim(api, 'dora', 'dl-hung');
    const again = await claim(api, 'dora', 'dl-hung');
    expect(retry.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.coupon.code).toBe(retry.body.coupon.code);
    expect(await issuedCoupons(service, hung)).toBe(1);
  });
});
