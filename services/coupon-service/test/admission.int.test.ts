import { describeIfRedis } from '@coupons/testing';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { ManualClock, zonedDays } from '@coupons/campaign';
import type { RedisServerHandle } from '@coupons/redis-local';
import {
  couponApi,
  expectRetryAfterUntil,
  KEYS,
  liveCampaign,
  metricsText,
  startTestService,
  uniqueId,
  waitUntilReady,
  type ApiAnswer,
  type CampaignInput,
  type TestService,
  until,
  QUIET_GUARD_ENV,
  rawExchange,
  useOwnRedisService,
  useReadyService,
  withRedisStopped,
} from './support';

/**
 * The admission gate of the real service: real HTTP, real Redis (the
 * harness's, or a private redis-server for anything that stops Redis), the service's metrics.
 * "Answered by the gate" is told apart from "answered by express" by X-Request-Id, which
 * the request layer (requestLog.ts) sets on everything express serves and the gate never writes.
 */

const HOUR_MS = 3_600_000;
const ZONE = 'Asia/Shanghai';

/**
 * Every service here: the event-loop guard out of the way (a shared 2-core machine may be slow
 * for reasons of its own; the guard is not what these tests are about).
 */
const BASE_ENV = QUIET_GUARD_ENV;

type Api = ReturnType<typeof couponApi>;

/** A claim, optionally with the X-User-Id header the gate reads (the body is not read there). */
function claim(
  api: Api,
  userId: string,
  idempotencyKey: string,
  options: { userIdHeader?: string | false; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const header = options.userIdHeader === undefined ? userId : options.userIdHeader;
  return api.call('POST', '/coupons', {
    body: { userId },
    headers: {
      'Idempotency-Key': idempotencyKey,
      ...(header === false ? {} : { 'X-User-Id': header }),
      ...options.headers,
    },
  });
}

/** A user id no other test file (sharing the harness Redis and its rate-limit keys) uses. */
const uniqueUser = (name: string) => uniqueId(`adm-${name}`);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, one sample per line (no exemplars, no timestamps: prom-client's). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of `name` whose labels include `labels`. */
function series(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  return parseMetrics(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of those samples (0 when there are none). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  return series(text, name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** coupon_admission_shed_total for one reason, all priorities or one. */
function shed(text: string, reason: string, priority?: string): number {
  const labels: Record<string, string> = priority === undefined ? { reason } : { reason, priority };
  return metric(text, 'coupon_admission_shed_total', labels);
}

async function metricNow(
  service: TestService,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return metric(await metricsText(service), name, labels);
}

/** Polls the service's metrics until `name{labels}` reads `expected`. */
async function untilMetric(
  service: TestService,
  name: string,
  labels: Record<string, string>,
  expected: number,
): Promise<void> {
  let last = NaN;
  try {
    await until(`${name}${JSON.stringify(labels)} = ${expected}`, async () => {
      last = await metricNow(service, name, labels);
      return last === expected ? true : undefined;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message} (last read ${last})`, { cause: err });
  }
}

/** The contract's error shape, exactly, with Retry-After equal to retryAfterSeconds (>= 1). */
function expectRetryableError(answer: ApiAnswer, status: number, code: string): number {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({
    error: { code, message: expect.any(String), retryAfterSeconds: expect.any(Number) },
  });
  const seconds = answer.body.error.retryAfterSeconds as number;
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(answer.headers.get('retry-after')).toBe(String(seconds));
  return seconds;
}

/** Answered before express: express would have set X-Request-Id. */
function expectFromGate(answer: ApiAnswer): void {
  expect(answer.headers.get('x-request-id')).toBeNull();
}

/** Served by express (the gate admitted it). */
function expectFromExpress(answer: ApiAnswer): void {
  expect(answer.headers.get('x-request-id')).toEqual(expect.any(String));
}

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

async function issuedCoupons(service: TestService, campaign: CampaignInput): Promise<number> {
  const { issuedCoupons } = await service.ledgers.get(campaign.id)!.snapshot();
  if (issuedCoupons === null) throw new Error('the ledger does not know what it issued');
  return issuedCoupons;
}

/** One coupon released per calendar day, all at the day's start: the day's one is gone at once. */
function oneADayCampaign(name: string, now: number): CampaignInput {
  const startsInMs = -60_000;
  const endsInMs = 36 * HOUR_MS;
  return liveCampaign(uniqueId(name), {
    startsInMs,
    endsInMs,
    now,
    coupons: zonedDays(now + startsInMs, now + endsInMs, ZONE).length,
    slicesPerDay: 1,
    shards: 1,
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
        ...BASE_ENV,
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
        ...BASE_ENV,
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
      env: { ...BASE_ENV, REDIS_COMMAND_TIMEOUT_MS: '5000', USER_RATE_LIMIT: 'off' },
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

describeIfRedis('admission: per-user request limit', () => {
  const campaign = liveCampaign(uniqueId('adm-user'));
  const mismatch = liveCampaign(uniqueId('adm-user-x'));
  let service: TestService;

  useReadyService((s) => (service = s), {
    campaigns: [campaign, mismatch],
    env: { ...BASE_ENV, USER_RATE_LIMIT: '2/60' },
  });

  const expectRateLimited = (answer: ApiAnswer) => {
    const seconds = expectRetryableError(answer, 429, 'RATE_LIMITED');
    // The end of the 60 s window (no jitter: random is 0 in tests).
    expect(seconds).toBeLessThanOrEqual(60);
  };

  it("refuses a user's third claim in the window at the gate when X-User-Id is sent", async () => {
    const api = couponApi(service, campaign.id);
    const user = uniqueUser('hdr');
    expect((await claim(api, user, 'u-1')).status).toBe(201);
    expect((await claim(api, user, 'u-2')).status).toBe(201);
    const third = await claim(api, user, 'u-3');
    expectRateLimited(third);
    expectFromGate(third);
    expect(
      await metricNow(service, 'coupon_admission_shed_total', {
        reason: 'user_rate',
        priority: 'claim',
      }),
    ).toBe(1);
  });

  it('refuses it before express, from the body read before admission, without X-User-Id', async () => {
    const api = couponApi(service, campaign.id);
    const user = uniqueUser('body');
    expect((await claim(api, user, 'u-1', { userIdHeader: false })).status).toBe(201);
    expect((await claim(api, user, 'u-2', { userIdHeader: false })).status).toBe(201);
    const third = await claim(api, user, 'u-3', { userIdHeader: false });
    expectRateLimited(third);
    // The front door read the body to learn the user: the gate refused it, express never ran.
    expectFromGate(third);
    const text = await metricsText(service);
    expect(shed(text, 'user_rate', 'claim')).toBe(2);
    // Four coupons for the two users, the refused claims reached no ledger.
    expect(await issuedCoupons(service, campaign)).toBe(4);
    expect(metric(text, 'coupon_claims_total', { campaign: campaign.id })).toBe(4);
  });

  it('counts replays against the limit', async () => {
    const api = couponApi(service, campaign.id);
    const user = uniqueUser('replay');
    const first = await claim(api, user, 'r-1');
    const replay = await claim(api, user, 'r-1');
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expectRateLimited(await claim(api, user, 'r-2'));
  });

  it('refuses an X-User-Id that differs from the body (400 naming the header), issuing nothing', async () => {
    const api = couponApi(service, mismatch.id);
    const charged = uniqueUser('charged');
    const claimant = uniqueUser('claimant');
    const answer = await claim(api, claimant, 'x-1', { userIdHeader: charged });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(answer.body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'X-User-Id' })]),
    );
    expect(await issuedCoupons(service, mismatch)).toBe(0);
    expect(await metricNow(service, 'coupon_claims_total', { campaign: mismatch.id })).toBe(0);
  });
});

describeIfRedis('admission: sold-out fast path', () => {
  it('answers TRANCHE_EXHAUSTED from the gate once the ledger said so, until the next release', async () => {
    const now = Date.now();
    const campaign = oneADayCampaign('adm-soldout', now);
    const service = await startTestService({
      clock: 'redis',
      campaigns: [campaign],
      env: { ...BASE_ENV, SOLD_OUT_PROBE_MS: '3600000', USER_RATE_LIMIT: 'off' },
    });
    try {
      await waitUntilReady(service);
      await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
      const api = couponApi(service, campaign.id);
      const exhausted = { campaign: campaign.id, outcome: 'tranche_exhausted' };
      const soldOut = { reason: 'sold_out', priority: 'claim' };

      expect((await claim(api, 'first', 'k')).status).toBe(201);
      const sentAt = Date.now();
      const fromLedger = await claim(api, 'second', 'k');
      expect(fromLedger.status).toBe(409);
      expectFromExpress(fromLedger);
      expect(fromLedger.body.error).toMatchObject({
        code: 'TRANCHE_EXHAUSTED',
        nextReleaseAt: expect.any(String),
      });
      const nextReleaseAt = fromLedger.body.error.nextReleaseAt as string;
      const nextReleaseMs = Date.parse(nextReleaseAt);
      expect(nextReleaseMs).toBeGreaterThan(sentAt);
      expectRetryAfterUntil(fromLedger, nextReleaseMs, sentAt);
      expect(await metricNow(service, 'coupon_claims_total', exhausted)).toBe(1);

      // The gate knows the shard is sold out: no express, no Redis.
      for (const user of ['third', 'fourth']) {
        const sent = Date.now();
        const fromGate = await claim(api, user, 'k');
        expect(fromGate.status).toBe(409);
        expectFromGate(fromGate);
        expect(fromGate.body.error).toMatchObject({ code: 'TRANCHE_EXHAUSTED', nextReleaseAt });
        expectRetryAfterUntil(fromGate, nextReleaseMs, sent);
      }
      // Without X-User-Id the route applies the same fast path once it has read the body.
      const fromRoute = await claim(api, 'fifth', 'k', { userIdHeader: false });
      expect(fromRoute.status).toBe(409);
      expect(fromRoute.body.error).toMatchObject({ code: 'TRANCHE_EXHAUSTED', nextReleaseAt });

      const text = await metricsText(service);
      expect(metric(text, 'coupon_admission_shed_total', soldOut)).toBe(3);
      expect(metric(text, 'coupon_claims_total', exhausted)).toBe(1);
      expect(metric(text, 'coupon_claims_total', { campaign: campaign.id })).toBe(2);
      expect(await issuedCoupons(service, campaign)).toBe(1);
    } finally {
      await service.stop();
    }
  });

  it('lets one claim per probe interval through to the ledger', async () => {
    const now = Date.now();
    const campaign = oneADayCampaign('adm-probe', now);
    const clock = new ManualClock(now);
    const service = await startTestService({
      clock,
      campaigns: [campaign],
      env: { ...BASE_ENV, SOLD_OUT_PROBE_MS: '1000', USER_RATE_LIMIT: 'off' },
    });
    try {
      await waitUntilReady(service);
      await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
      const api = couponApi(service, campaign.id);
      const exhausted = { campaign: campaign.id, outcome: 'tranche_exhausted' };
      const reachedLedger = () => metricNow(service, 'coupon_claims_total', exhausted);
      let users = 0;
      const next = () => claim(api, `user-${(users += 1)}`, 'k');

      expect((await next()).status).toBe(201);
      const marking = await next();
      expect(marking.body.error.code).toBe('TRANCHE_EXHAUSTED');
      expectFromExpress(marking);
      expect(await reachedLedger()).toBe(1);

      for (let round = 1; round <= 3; round += 1) {
        const early = await next();
        expect(early.body.error.code).toBe('TRANCHE_EXHAUSTED');
        expectFromGate(early);
        // Just short of the interval: still the gate's answer.
        clock.advance(999);
        expectFromGate(await next());
        expect(await reachedLedger()).toBe(round);
        clock.advance(1);
        // The interval is over: exactly one claim asks the ledger, the next ones are the gate's.
        const probe = await next();
        expect(probe.status).toBe(409);
        expect(probe.body.error.code).toBe('TRANCHE_EXHAUSTED');
        expectFromExpress(probe);
        expect(await reachedLedger()).toBe(round + 1);
        expectFromGate(await next());
        expect(await reachedLedger()).toBe(round + 1);
      }
      expect(await issuedCoupons(service, campaign)).toBe(1);
    } finally {
      await service.stop();
    }
  });
});

describeIfRedis('admission: Retry-After jitter', () => {
  it('spreads a sold-out Retry-After over SOLD_OUT_RETRY_SPREAD_SECONDS (60 s) past the release', async () => {
    const campaign = oneADayCampaign('adm-jitter', Date.now());
    const env = { ...BASE_ENV, SOLD_OUT_PROBE_MS: '3600000', USER_RATE_LIMIT: 'off' };
    const services: TestService[] = [];
    try {
      const early = await startTestService({ clock: 'redis', campaigns: [campaign], env });
      services.push(early);
      const late = await startTestService({
        clock: 'redis',
        campaigns: [campaign],
        env,
        random: () => 0.999,
      });
      services.push(late);
      await waitUntilReady(early);
      await waitUntilReady(late);
      await early.ledgers.get(campaign.id)!.init({ neverIssued: true });
      const earlyApi = couponApi(early, campaign.id);
      const lateApi = couponApi(late, campaign.id);
      expect((await claim(earlyApi, 'first', 'k')).status).toBe(201);

      const unjittered = await claim(earlyApi, 'second', 'k');
      const fromLedger = await claim(lateApi, 'third', 'k');
      const fromGate = await claim(lateApi, 'fourth', 'k');
      expectFromExpress(fromLedger);
      expectFromGate(fromGate);
      expect(unjittered.body.error.code).toBe('TRANCHE_EXHAUSTED');
      const base = Number(unjittered.headers.get('retry-after'));
      for (const jittered of [fromLedger, fromGate]) {
        expect(jittered.status).toBe(409);
        expect(jittered.body.error.code).toBe('TRANCHE_EXHAUSTED');
        expect(jittered.body.error.nextReleaseAt).toBe(unjittered.body.error.nextReleaseAt);
        const seconds = Number(jittered.headers.get('retry-after'));
        expect(jittered.body.error.retryAfterSeconds).toBe(seconds);
        // 0.999 x 60 s later; the requests a moment apart may shift it by a second.
        expect(seconds - base).toBeGreaterThanOrEqual(57);
        expect(seconds - base).toBeLessThanOrEqual(61);
      }
    } finally {
      for (const service of services) await service.stop();
    }
  });
});

describeIfRedis('admission: ADMISSION=off', () => {
  const campaign = liveCampaign(uniqueId('adm-off'));
  let service: TestService;

  useReadyService((s) => (service = s), {
    campaigns: [campaign],
    env: { ...BASE_ENV, ADMISSION: 'off', ADMISSION_RATE: '1', ADMISSION_BURST: '1' },
  });

  it('bypasses the gate: no token bucket, no deadline shedding', async () => {
    const api = couponApi(service, campaign.id);
    const answers: ApiAnswer[] = [];
    for (let i = 0; i < 5; i += 1) answers.push(await api.call('GET', ''));
    for (let i = 0; i < 3; i += 1)
      answers.push(await claim(api, `off-${i}`, 'k', { headers: { 'X-Request-Timeout-Ms': '1' } }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 201, 201, 201]);
    for (const answer of answers) expectFromExpress(answer);

    const text = await metricsText(service);
    expect(metric(text, 'coupon_admission_shed_total')).toBe(0);
    expect(metric(text, 'coupon_requests_received_total')).toBe(0);
  });
});
