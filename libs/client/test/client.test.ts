import { CouponClient, type CouponClientOptions } from '../src/client';
import { CouponClientError } from '../src/errors';
import { claimKeyFor } from '../src/idempotency';
import type { ClientMetrics } from '../src/metrics';
import type { HttpResponse } from '../src/transport';
import {
  apiError,
  BUDGET,
  CAMPAIGN,
  COUPON,
  FakeTransport,
  issued,
  issuedTo,
  json,
  lost,
  ManualClock,
  overloaded,
  randoms,
  refused,
  replayed,
  SkippingClock,
  unavailable,
} from './support';

const RELEASE = '2026-02-10T13:00:00+08:00';
const soldOut = (retryAfterSeconds = 1800) =>
  apiError(409, 'TRANCHE_EXHAUSTED', { retryAfterSeconds, nextReleaseAt: RELEASE });

interface Harness {
  client: CouponClient;
  clock: ManualClock;
  transport: FakeTransport;
  events: string[];
}

/** A client on a manual clock and a scripted transport; random 0 unless given. */
function harness(
  script: FakeTransport['script'],
  options: Partial<CouponClientOptions> = {},
): Harness {
  const clock = new ManualClock();
  const transport = new FakeTransport(clock, script);
  const events: string[] = [];
  const metrics: ClientMetrics = {
    outcome: (op, kind) => events.push(`outcome ${op} ${kind}`),
    attempt: (op, result) => events.push(`attempt ${op} ${result}`),
    localRejection: (op, reason) => events.push(`local ${op} ${reason}`),
    retry: (op, reason) => events.push(`retry ${op} ${reason}`),
    retryBudgetExhausted: (op) => events.push(`budget ${op}`),
  };
  const client = new CouponClient({
    baseUrl: 'http://coupons.test',
    apiKey: 'key-1',
    clock,
    random: randoms(0),
    transport,
    metrics,
    ...options,
  });
  return { client, clock, transport, events };
}

/** Answers in turn; the last one repeats. */
const answers =
  (...list: (HttpResponse | Error | 'hang')[]): FakeTransport['script'] =>
  (_request, index) =>
    list[Math.min(index, list.length - 1)] as HttpResponse | Error | 'hang';

const claim = { campaignId: 'spring', userId: 'alice', intentId: 'msg-1' };

describe('CouponClient: a claim', () => {
  it('sends the claim as the contract wants it and answers issued', async () => {
    const { client, transport, events } = harness(answers(issued()));
    const outcome = await client.claim(claim);
    expect(outcome).toEqual({
      kind: 'issued',
      coupon: COUPON,
      attempts: 1,
      maybeDone: false,
      idempotencyKey: claimKeyFor('coupons-client', 'msg-1'),
    });
    const sent = transport.requests[0]!.request;
    expect(sent).toEqual({
      method: 'POST',
      path: '/v1/campaigns/spring/coupons',
      headers: {
        authorization: 'Bearer key-1',
        'content-type': 'application/json',
        'idempotency-key': claimKeyFor('coupons-client', 'msg-1'),
        'x-user-id': 'alice',
        'x-request-timeout-ms': '5000',
      },
      body: '{"userId":"alice"}',
    });
    expect(events).toEqual(['attempt claim 201', 'outcome claim issued']);
  });

  it('answers replayed when the service says the claim was served before', async () => {
    const { client } = harness(answers(replayed()));
    expect(await client.claim(claim)).toMatchObject({ kind: 'replayed', coupon: COUPON });
  });

  it('uses the namespace given, a key given, or makes one, and says which', async () => {
    const { client, transport } = harness(answers(issued()), {
      idempotencyNamespace: 'chat-backend',
    });
    const derived = await client.claim(claim);
    expect(derived.idempotencyKey).toBe(claimKeyFor('chat-backend', 'msg-1'));
    const given = await client.claim({
      campaignId: 'spring',
      userId: 'alice',
      idempotencyKey: 'k-9',
    });
    expect(given.idempotencyKey).toBe('k-9');
    const made = await client.claim({ campaignId: 'spring', userId: 'alice' });
    expect(made.idempotencyKey).toMatch(/^ck1-/);
    expect(transport.requests.map((r) => r.request.headers['idempotency-key'])).toEqual([
      derived.idempotencyKey,
      'k-9',
      made.idempotencyKey,
    ]);
  });

  it('refuses what the service would refuse, without a request', async () => {
    const { client, transport } = harness(answers(issued()));
    const bad = [
      { ...claim, userId: 'not ok' },
      { ...claim, userId: 'x'.repeat(65) },
      { ...claim, campaignId: '' },
      { campaignId: 'spring', userId: 'alice', idempotencyKey: ' padded ' },
      { ...claim, idempotencyKey: 'k' },
    ];
    for (const input of bad)
      await expect(client.claim(input)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(transport.requests).toHaveLength(0);
  });

  it.each([
    [
      'TRANCHE_EXHAUSTED',
      soldOut(),
      { kind: 'sold_out', nextReleaseAt: RELEASE, retryAfterSeconds: 1800, local: false },
    ],
    [
      'CAMPAIGN_NOT_STARTED',
      apiError(409, 'CAMPAIGN_NOT_STARTED', { retryAfterSeconds: 60, startsAt: RELEASE }),
      { kind: 'not_started', startsAt: RELEASE, retryAfterSeconds: 60, local: false },
    ],
    [
      'USER_LIMIT_REACHED daily',
      apiError(409, 'USER_LIMIT_REACHED', {
        limit: 'daily',
        retryAfterSeconds: 41_400,
        retryAt: '2026-02-11T00:00:00+08:00',
      }),
      {
        kind: 'user_limit',
        limit: 'daily',
        retryAt: '2026-02-11T00:00:00+08:00',
        retryAfterSeconds: 41_400,
      },
    ],
    [
      'USER_LIMIT_REACHED daily, last day',
      apiError(409, 'USER_LIMIT_REACHED', { limit: 'daily' }),
      { kind: 'user_limit', limit: 'daily', retryAt: null, retryAfterSeconds: null },
    ],
    [
      'USER_LIMIT_REACHED total',
      apiError(409, 'USER_LIMIT_REACHED', { limit: 'total' }),
      { kind: 'user_limit', limit: 'total' },
    ],
    ['CAMPAIGN_ENDED', apiError(410, 'CAMPAIGN_ENDED'), { kind: 'ended', local: false }],
    [
      'CAMPAIGN_BUDGET_EXHAUSTED',
      apiError(410, 'CAMPAIGN_BUDGET_EXHAUSTED'),
      { kind: 'budget_exhausted', local: false },
    ],
  ])(
    '%s is an outcome, never retried (even when its time is near)',
    async (_name, answer, expected) => {
      const { client, transport, clock } = harness(answers(answer), { soldOutMemory: false });
      const outcome = await client.claim(claim);
      expect(outcome).toEqual({
        ...expected,
        attempts: 1,
        maybeDone: false,
        idempotencyKey: outcome.idempotencyKey,
      });
      expect(transport.requests).toHaveLength(1);
      expect(clock.sleeps).toEqual([]);
    },
  );

  it('works out the seconds of a timed answer without Retry-After from its moment', async () => {
    const { client } = harness(
      answers(
        json(409, { error: { code: 'TRANCHE_EXHAUSTED', message: 'm', nextReleaseAt: RELEASE } }),
      ),
    );
    // The manual clock starts at 12:30 (+08:00); the release is at 13:00.
    expect(await client.claim(claim)).toMatchObject({ kind: 'sold_out', retryAfterSeconds: 1800 });
  });
});

describe('CouponClient: retries', () => {
  it('retries 503 with the same Idempotency-Key, no attempt before Retry-After, with the deadline’s remainder', async () => {
    const { client, transport, clock, events } = harness(
      answers(overloaded(2), unavailable(1), replayed()),
      { deadlineMs: 8_000, random: randoms(0.5) },
    );
    const outcome = await client.claim(claim);
    expect(outcome).toMatchObject({ kind: 'replayed', attempts: 3, maybeDone: true });
    // Retry-After, not the shorter backoff (0.5 x 100, 0.5 x 200).
    expect(clock.sleeps).toEqual([2_000, 1_000]);
    const [first, second, third] = transport.requests;
    const keys = transport.requests.map((r) => r.request.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2_000);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(1_000);
    expect(
      transport.requests.map((r) => Number(r.request.headers['x-request-timeout-ms'])),
    ).toEqual([8_000, 8_000 - (second!.at - first!.at), 8_000 - (third!.at - first!.at)]);
    expect(events).toEqual([
      'attempt claim 503',
      'retry claim overloaded',
      'attempt claim 503',
      'retry claim unavailable',
      'attempt claim 201',
      'outcome claim replayed',
    ]);
  });

  it('waits the full-jitter backoff when it is longer than Retry-After, or when there is none', async () => {
    const { client, clock } = harness(answers(refused(), lost(), issued()), {
      random: randoms(0.5),
      backoff: { baseMs: 400, capMs: 10_000 },
    });
    await client.claim(claim);
    // Retry 1: 0.5 x 400; retry 2: 0.5 x 800.
    expect(clock.sleeps).toEqual([200, 400]);
  });

  it('retries 429, 408, gateway errors and lost exchanges', async () => {
    for (const answer of [
      apiError(429, 'RATE_LIMITED', { retryAfterSeconds: 1 }),
      { status: 408, headers: {}, body: '' },
      { status: 502, headers: {}, body: 'bad gateway' },
      { status: 504, headers: {}, body: '' },
      { status: 503, headers: {}, body: 'no healthy upstream' },
      lost(),
      refused(),
    ]) {
      const { client, transport } = harness(answers(answer, issued()));
      expect(await client.claim(claim)).toMatchObject({ kind: 'issued', attempts: 2 });
      expect(transport.requests).toHaveLength(2);
    }
  });

  it('returns at once when Retry-After points past the deadline', async () => {
    const { client, transport, clock, events } = harness(answers(overloaded(5)), {
      deadlineMs: 3_000,
    });
    const outcome = await client.claim(claim);
    expect(outcome).toMatchObject({
      kind: 'overloaded',
      retryAfterSeconds: 5,
      source: 'service',
      attempts: 1,
    });
    expect(transport.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(events).toEqual(['attempt claim 503', 'outcome claim overloaded']);
  });

  it('stops after maxAttempts with the last answer', async () => {
    const { client, transport } = harness(
      answers(overloaded(1), apiError(429, 'RATE_LIMITED', { retryAfterSeconds: 1 })),
      { maxAttempts: 4, deadlineMs: 30_000, retryBudget: { minRetries: 10 } },
    );
    expect(await client.claim(claim)).toMatchObject({
      kind: 'rate_limited',
      retryAfterSeconds: 1,
      attempts: 4,
    });
    expect(transport.requests).toHaveLength(4);
  });

  it('says the outcome of a lost answer may have been done, and what to ask again with', async () => {
    const { client } = harness(answers(lost()), { maxAttempts: 2 });
    const outcome = await client.claim(claim);
    expect(outcome).toMatchObject({
      kind: 'unavailable',
      cause: 'no_answer',
      maybeDone: true,
      attempts: 2,
      idempotencyKey: claimKeyFor('coupons-client', 'msg-1'),
    });
    expect(outcome.kind === 'unavailable' && outcome.retryAfterSeconds).toBe(1);
  });

  it('says nothing was done when no connection could be made', async () => {
    const { client } = harness(answers(refused()), { maxAttempts: 2 });
    expect(await client.claim(claim)).toMatchObject({
      kind: 'unavailable',
      cause: 'connection',
      maybeDone: false,
    });
  });

  it('caps retries with the retry budget when every answer is 503', async () => {
    const { client, transport, clock, events } = harness(answers(unavailable(1)), {
      maxAttempts: 5,
      deadlineMs: 60_000,
      retryBudget: { ratio: 0.1, windowMs: 60_000, minRetries: 2 },
      throttle: false,
    });
    for (let i = 0; i < 100; i++) {
      await client.claim({ ...claim, intentId: `msg-${i}` });
      clock.advance(100);
    }
    // 100 calls, each wanting 4 retries: 2 + 10% of 100 retries at most.
    expect(transport.requests).toHaveLength(100 + 2 + 10);
    expect(events.filter((e) => e.startsWith('retry '))).toHaveLength(12);
    // Every call ended on a retry the budget refused.
    expect(events.filter((e) => e === 'budget claim')).toHaveLength(100);
  });

  it('sends a call whose deadline is shorter than minAttemptMs once, with that deadline', async () => {
    const { client, transport } = harness(answers(overloaded(1)), { deadlineMs: 40 });
    expect(await client.claim(claim)).toMatchObject({ kind: 'overloaded', attempts: 1 });
    expect(transport.requests.map((r) => r.request.headers['x-request-timeout-ms'])).toEqual([
      '40',
    ]);
  });

  it('answers the caller’s abort with its reason', async () => {
    const { client } = harness(answers(overloaded(1)));
    const controller = new AbortController();
    const reason = new Error('user left');
    controller.abort(reason);
    await expect(client.claim(claim, { signal: controller.signal })).rejects.toBe(reason);
  });

  it('answers an abort while waiting to retry with its reason, without another request', async () => {
    const { client, transport, clock } = harness(answers(overloaded(1)));
    const controller = new AbortController();
    const reason = new Error('user left');
    clock.onSleep = () => controller.abort(reason);
    await expect(client.claim(claim, { signal: controller.signal })).rejects.toBe(reason);
    expect(transport.requests).toHaveLength(1);
  });

  it('ends an attempt that gets no answer at the deadline: no_answer, maybe done', async () => {
    // The attempt timer is real (the transport's boundary): keep this deadline tiny.
    const { client } = harness(answers('hang'), {
      deadlineMs: 60,
      minAttemptMs: 10,
      clock: new SkippingClock(),
    });
    expect(await client.claim(claim)).toMatchObject({
      kind: 'unavailable',
      cause: 'no_answer',
      maybeDone: true,
      attempts: 1,
    });
  });
});

describe('CouponClient: faults and answers outside the contract', () => {
  it.each([
    [400, 'INVALID_REQUEST', { details: [{ field: 'userId', problem: 'is required' }] }],
    [401, 'UNAUTHENTICATED', {}],
    [403, 'FORBIDDEN', {}],
    [404, 'NOT_FOUND', {}],
    [404, 'CAMPAIGN_NOT_FOUND', {}],
    [405, 'METHOD_NOT_ALLOWED', {}],
    [413, 'PAYLOAD_TOO_LARGE', {}],
    [415, 'UNSUPPORTED_MEDIA_TYPE', {}],
    [422, 'IDEMPOTENCY_KEY_REUSED', {}],
    [431, 'HEADERS_TOO_LARGE', {}],
    [500, 'INTERNAL', { errorId: 'e-1' }],
  ])('%i %s: a CouponClientError with that code, not retried', async (status, code, extras) => {
    const { client, transport, events } = harness(answers(apiError(status, code, extras)));
    const error = await client.claim(claim).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CouponClientError);
    expect(error).toMatchObject({ code, details: { status } });
    expect(transport.requests).toHaveLength(1);
    expect(events.at(-1)).toBe('outcome claim error');
  });

  it('keeps what helps find the fault: errorId, the fields', async () => {
    const { client } = harness(
      answers(apiError(400, 'INVALID_REQUEST', { details: [{ field: 'userId', problem: 'x' }] })),
    );
    await expect(client.claim(claim)).rejects.toMatchObject({
      details: { status: 400, fields: [{ field: 'userId', problem: 'x' }] },
    });
    const internal = harness(answers(apiError(500, 'INTERNAL', { errorId: 'e-1' })));
    await expect(internal.client.claim(claim)).rejects.toMatchObject({
      details: { errorId: 'e-1' },
    });
  });

  it.each([
    ['a 201 that is not JSON', { status: 201, headers: {}, body: '<html>' }, 'malformed', true],
    [
      'a coupon without a code',
      json(201, { coupon: { ...COUPON, code: undefined } }),
      'malformed',
      true,
    ],
    ['a 4xx that is not the error shape', json(409, { oops: true }), 'malformed', false],
    [
      'TRANCHE_EXHAUSTED without nextReleaseAt',
      apiError(409, 'TRANCHE_EXHAUSTED'),
      'malformed',
      false,
    ],
    [
      'TRANCHE_EXHAUSTED with a nextReleaseAt that is no time',
      apiError(409, 'TRANCHE_EXHAUSTED', { nextReleaseAt: 'soon' }),
      'malformed',
      false,
    ],
    [
      'TRANCHE_EXHAUSTED until the year 9999',
      apiError(409, 'TRANCHE_EXHAUSTED', { nextReleaseAt: '9999-12-31T23:59:59+08:00' }),
      'malformed',
      false,
    ],
    [
      'a daily limit whose retryAt is no time',
      apiError(409, 'USER_LIMIT_REACHED', { limit: 'daily', retryAt: 'tomorrow' }),
      'malformed',
      false,
    ],
    ['another user’s coupon', issued({ ...COUPON, userId: 'mallory' }), 'foreign', true],
    ['another campaign’s coupon', issued({ ...COUPON, campaignId: 'autumn' }), 'foreign', true],
    [
      'a status the contract does not have',
      { status: 418, headers: {}, body: '' },
      'unexpected_status',
      false,
    ],
    [
      'a code on the wrong status',
      apiError(400, 'TRANCHE_EXHAUSTED', { nextReleaseAt: RELEASE }),
      'unexpected_status',
      false,
    ],
    ['an error code this client does not know', apiError(409, 'NEW_RULE'), 'unknown_code', false],
  ])(
    'answers outside the contract are a protocol outcome: %s',
    async (_name, answer, problem, maybeDone) => {
      const { client, transport } = harness(answers(answer));
      const outcome = await client.claim(claim);
      expect(outcome).toMatchObject({
        kind: 'protocol',
        problem,
        status: answer.status,
        attempts: 1,
        maybeDone,
        retryAfterSeconds: 1,
      });
      // Never retried, never remembered: the next claim goes to the service.
      expect(transport.requests).toHaveLength(1);
      expect(client.state().closedCampaigns).toEqual({});
    },
  );

  it('bounds every wait the service names by the horizon', async () => {
    const { client, clock } = harness(
      answers(
        apiError(409, 'TRANCHE_EXHAUSTED', { nextReleaseAt: '2031-02-10T13:00:00+08:00' }),
        apiError(409, 'USER_LIMIT_REACHED', { limit: 'daily' }, { 'retry-after': '999999999' }),
        overloaded(86_400 * 365),
      ),
      { horizonMs: 3_600_000, maxAttempts: 2 },
    );
    expect(await client.claim(claim)).toMatchObject({ kind: 'sold_out', retryAfterSeconds: 3600 });
    expect(client.state().closedCampaigns.spring?.untilMs).toBe(clock.now() + 3_600_000);
    const limited = await client.claim({ ...claim, campaignId: 'autumn' });
    expect(limited).toMatchObject({ kind: 'user_limit', retryAfterSeconds: 3600 });
    // A Retry-After past the deadline: answered at once, with the bounded wait.
    expect(await client.campaign('spring')).toMatchObject({
      kind: 'overloaded',
      retryAfterSeconds: 3600,
      attempts: 1,
    });
  });

  it('refuses calls after close', async () => {
    const { client, transport } = harness(answers(issued()));
    await client.close();
    expect(transport.closed).toBe(true);
    await expect(client.claim(claim)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('CouponClient: the sold-out memory', () => {
  it('answers claims of a sold-out campaign locally until the release plus this client’s spread', async () => {
    const { client, transport, clock, events } = harness(
      (request) => (request.headers['x-user-id'] === 'alice' ? soldOut() : issuedTo(request)),
      { random: randoms(0.5), soldOutMemory: { spreadMs: 60_000 } },
    );
    await client.claim(claim);
    const local = await client.claim({ campaignId: 'spring', userId: 'bob', intentId: 'b-1' });
    expect(local).toMatchObject({
      kind: 'sold_out',
      nextReleaseAt: RELEASE,
      local: true,
      attempts: 0,
      // 30 min to the release, plus half the spread.
      retryAfterSeconds: 1800 + 30,
    });
    expect(transport.requests).toHaveLength(1);
    expect(events.slice(-2)).toEqual(['local claim sold_out', 'outcome claim sold_out']);
    // Other campaigns are not affected.
    await client.claim({ campaignId: 'autumn', userId: 'bob', intentId: 'b-2' });
    expect(transport.requests).toHaveLength(2);
    // Past the release and this client's spread, claims go to the service again.
    clock.advance(1800_000 + 29_999);
    expect(
      await client.claim({ campaignId: 'spring', userId: 'bob', intentId: 'b-3' }),
    ).toMatchObject({ local: true });
    clock.advance(1);
    expect(
      await client.claim({ campaignId: 'spring', userId: 'bob', intentId: 'b-4' }),
    ).toMatchObject({ kind: 'issued' });
    expect(transport.requests).toHaveLength(3);
  });

  it('remembers a campaign that has ended or given out its budget', async () => {
    for (const code of ['CAMPAIGN_ENDED', 'CAMPAIGN_BUDGET_EXHAUSTED']) {
      const { client, transport } = harness(answers(apiError(410, code)));
      await client.claim(claim);
      const again = await client.claim({ ...claim, intentId: 'msg-2' });
      expect(again).toMatchObject({ local: true, attempts: 0 });
      expect(transport.requests).toHaveLength(1);
    }
  });

  it('forgets the campaign when a fresh coupon is issued (budget came back)', async () => {
    // alice's answer is lost, then the campaign is sold out: memory set, her claim in doubt.
    const { client, transport } = harness(answers(lost(), soldOut(), issued()), {
      maxAttempts: 2,
    });
    await client.claim(claim);
    expect(await client.claim({ ...claim, intentId: 'other' })).toMatchObject({ local: true });
    // Her claim asked again reaches the service (it is in doubt) and gets a fresh coupon...
    expect(await client.claim(claim)).toMatchObject({ kind: 'issued' });
    // ...so the campaign has budget again: new claims go to the service.
    expect(await client.claim({ ...claim, intentId: 'other' })).toMatchObject({
      kind: 'issued',
      attempts: 1,
    });
    expect(transport.requests).toHaveLength(4);
  });

  it('never answers locally a retry whose earlier attempt may have been served', async () => {
    // alice's first attempt is served but its answer lost; while she waits to retry, bob learns
    // the campaign is sold out. Her retry must reach the service, which replays her coupon.
    const { client, transport, clock } = harness((request, index) => {
      if (index === 0) return lost();
      return request.headers['x-user-id'] === 'bob' ? soldOut() : replayed();
    });
    clock.onSleep = async () => {
      clock.onSleep = undefined;
      expect(
        await client.claim({ campaignId: 'spring', userId: 'bob', intentId: 'b' }),
      ).toMatchObject({
        kind: 'sold_out',
        local: false,
      });
    };
    const outcome = await client.claim(claim);
    expect(outcome).toMatchObject({
      kind: 'replayed',
      coupon: COUPON,
      attempts: 2,
      maybeDone: true,
    });
    expect(transport.requests.map((r) => r.request.headers['x-user-id'])).toEqual([
      'alice',
      'bob',
      'alice',
    ]);
    // The service answered a claim of the campaign with a coupon: the memory is forgotten, a new
    // claim goes to the service.
    expect(await client.claim({ ...claim, intentId: 'msg-2' })).toMatchObject({ attempts: 1 });
    expect(transport.requests).toHaveLength(4);
  });

  it('asks the service again for a claim asked again after an answer was lost, even when sold out', async () => {
    const { client, transport } = harness(answers(lost(), soldOut(), soldOut(), replayed()), {
      maxAttempts: 1,
    });
    const first = await client.claim(claim);
    expect(first).toMatchObject({ kind: 'unavailable', maybeDone: true });
    // Another user learns it is sold out.
    await client.claim({ campaignId: 'spring', userId: 'bob', intentId: 'b' });
    // The same claim, asked again later with its key: still goes to the service.
    const again = () =>
      client.claim({ campaignId: 'spring', userId: 'alice', idempotencyKey: first.idempotencyKey });
    expect(await again()).toMatchObject({ kind: 'sold_out', local: false });
    expect(await again()).toMatchObject({ kind: 'replayed' });
    expect(transport.requests).toHaveLength(4);
  });

  it('answers a retry locally when its earlier attempt surely did nothing', async () => {
    // The first attempt was shed (503 OVERLOADED: before any work); meanwhile the campaign sold out.
    const { client, transport, clock } = harness((_request, index) => {
      if (index === 0) return overloaded(1);
      return soldOut();
    });
    clock.onSleep = async () => {
      clock.onSleep = undefined;
      await client.claim({ campaignId: 'spring', userId: 'bob', intentId: 'b' });
    };
    expect(await client.claim(claim)).toMatchObject({ kind: 'sold_out', local: true, attempts: 1 });
    expect(transport.requests).toHaveLength(2);
  });
});

describe('CouponClient: the throttle and the bulkhead', () => {
  it('refuses locally when the service sheds, and sends again when it accepts', async () => {
    let shedding = true;
    const { client, transport, clock } = harness(() => (shedding ? overloaded(1) : issued()), {
      maxAttempts: 1,
      random: randoms(0.5),
      throttle: { k: 2, windowMs: 10_000, minRequests: 0 },
    });
    const kinds: string[] = [];
    for (let i = 0; i < 50; i++) {
      const outcome = await client.claim({ ...claim, intentId: `s-${i}` });
      kinds.push(outcome.kind === 'overloaded' ? outcome.source : outcome.kind);
      clock.advance(10);
    }
    // (requests - 2 x 0) / (requests + 1): 1/2 before the second (a draw of 0.5 sends it),
    // 2/3 before the third (refused), and rising.
    expect(kinds.slice(0, 3)).toEqual(['service', 'service', 'throttle']);
    expect(transport.requests).toHaveLength(2);
    expect(client.state().throttle.claim).toBeGreaterThan(0.9);
    // Other operations have their own throttle.
    expect(client.state().throttle.other).toBe(0);

    shedding = false;
    clock.advance(10_000);
    expect(await client.claim({ ...claim, intentId: 'back' })).toMatchObject({ kind: 'issued' });
    expect(client.state().throttle.claim).toBe(0);
  });

  it('answers "overloaded" from the bulkhead when every slot and queue place is taken', async () => {
    const { client, events } = harness(answers('hang'), {
      bulkhead: { maxConcurrent: 1, maxQueued: 0 },
      deadlineMs: 200,
      minAttemptMs: 10,
    });
    const hung = client.claim(claim);
    const refusedHere = await client.claim({ ...claim, intentId: 'msg-2' });
    expect(refusedHere).toMatchObject({ kind: 'overloaded', source: 'bulkhead', attempts: 0 });
    expect(events).toContain('local claim bulkhead');
    await hung;
  });
});

describe('CouponClient: the other routes', () => {
  const coupon = { campaignId: 'spring', code: COUPON.code, userId: 'alice' };
  const redemption = {
    redemption: {
      code: COUPON.code,
      orderId: 'o-1',
      discountFen: 1999,
      redeemedAt: '2026-02-10T12:31:00+08:00',
    },
    coupon: { ...COUPON, status: 'redeemed' },
  };

  it('redeems, and reads every refusal as an outcome', async () => {
    const cases: [HttpResponse, object][] = [
      [json(201, redemption), { kind: 'redeemed', redemption: redemption.redemption }],
      [json(201, redemption, { 'idempotent-replayed': 'true' }), { kind: 'replayed' }],
      [apiError(409, 'COUPON_ALREADY_REDEEMED'), { kind: 'already_redeemed' }],
      [
        apiError(409, 'ORDER_REVERSED', { reversedAt: RELEASE }),
        { kind: 'order_reversed', reversedAt: RELEASE },
      ],
      [
        apiError(410, 'COUPON_EXPIRED', { expiresAt: RELEASE }),
        { kind: 'expired', expiresAt: RELEASE },
      ],
      [
        apiError(422, 'ORDER_BELOW_MINIMUM', { minOrderFen: 5000 }),
        { kind: 'below_minimum', minOrderFen: 5000 },
      ],
      [apiError(404, 'COUPON_NOT_FOUND'), { kind: 'not_found' }],
    ];
    for (const [answer, expected] of cases) {
      const { client, transport } = harness(answers(answer));
      const outcome = await client.redeem({ ...coupon, orderId: 'o-1', orderAmountFen: 1999 });
      expect(outcome).toMatchObject({ ...expected, attempts: 1 });
      expect(transport.requests[0]!.request).toMatchObject({
        method: 'POST',
        path: `/v1/campaigns/spring/coupons/${COUPON.code}/redemptions`,
        body: '{"userId":"alice","orderId":"o-1","orderAmountFen":1999}',
      });
    }
  });

  it('retries a redemption safely (the orderId makes it a replay)', async () => {
    const { client, transport } = harness(
      answers(lost(), json(201, redemption, { 'idempotent-replayed': 'true' })),
    );
    expect(await client.redeem({ ...coupon, orderId: 'o-1', orderAmountFen: 1999 })).toMatchObject({
      kind: 'replayed',
      maybeDone: true,
    });
    expect(transport.requests[0]!.request.body).toBe(transport.requests[1]!.request.body);
  });

  it('refuses a bad order before any request', async () => {
    const { client, transport } = harness(answers(issued()));
    for (const input of [
      { ...coupon, orderId: 'o 1', orderAmountFen: 1 },
      { ...coupon, orderId: 'o-1', orderAmountFen: -1 },
      { ...coupon, orderId: 'o-1', orderAmountFen: 1.5 },
      { ...coupon, code: 'no/slash', orderId: 'o-1', orderAmountFen: 1 },
    ])
      await expect(client.redeem(input)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(transport.requests).toHaveLength(0);
  });

  it('reverses, reads coupons, the campaign and the budget', async () => {
    const reverse = harness(
      answers(
        json(200, { coupon: COUPON }),
        json(200, { coupon: COUPON }, { 'idempotent-replayed': 'true' }),
        apiError(404, 'COUPON_NOT_FOUND'),
      ),
    );
    const input = { ...coupon, orderId: 'o-1' };
    expect(await reverse.client.reverse(input)).toMatchObject({ kind: 'reversed', coupon: COUPON });
    expect(await reverse.client.reverse(input)).toMatchObject({ kind: 'replayed' });
    expect(await reverse.client.reverse(input)).toMatchObject({ kind: 'not_found' });
    expect(reverse.transport.requests[0]!.request).toMatchObject({
      method: 'DELETE',
      path: `/v1/campaigns/spring/coupons/${COUPON.code}/redemptions/o-1?userId=alice`,
    });

    const read = harness(answers(json(200, { coupon: COUPON }), apiError(404, 'COUPON_NOT_FOUND')));
    expect(await read.client.coupon(coupon)).toMatchObject({ kind: 'found', coupon: COUPON });
    expect(await read.client.coupon(coupon)).toMatchObject({ kind: 'not_found' });
    expect(read.transport.requests[0]!.request.path).toBe(
      `/v1/campaigns/spring/coupons/${COUPON.code}?userId=alice`,
    );

    const meta = harness(
      answers(json(200, { campaign: CAMPAIGN }), apiError(404, 'CAMPAIGN_NOT_FOUND')),
    );
    expect(await meta.client.campaign('spring')).toMatchObject({
      kind: 'ok',
      campaign: { perUser: { daily: 3 } },
    });
    await expect(meta.client.campaign('spring')).rejects.toMatchObject({
      code: 'CAMPAIGN_NOT_FOUND',
    });

    const money = harness(answers(overloaded(1), json(200, BUDGET)));
    expect(await money.client.budget('spring')).toMatchObject({
      kind: 'ok',
      budget: { issuedFen: null },
      attempts: 2,
    });
    expect(money.transport.requests[0]!.request.path).toBe('/v1/campaigns/spring/budget');
  });
});
