import { describeIfRedis } from '@coupons/testing';
import { Redis } from 'ioredis';
import type { ApiScope } from '../src';
import { redisState, stateChanges, type RedisState } from './redisState';
import {
  couponApi,
  KEYS,
  liveCampaign,
  metricLines,
  metricsText,
  rawExchange,
  standaloneRedisDbUrl,
  startReadyService,
  uniqueId,
  type RawResponse,
  type TestService,
  QUIET_GUARD_ENV,
} from './support';

/**
 * Every authenticated route x every kind of caller x every form of its path, answered as the
 * contract says, and every refusal leaves no trace: not in Redis (every key of the service's
 * database: the campaign's ledger hashes, streams, coupons, users, idempotency keys, and the
 * rate-limit keys), not in the metrics (but the refusal counter).
 *
 * The service runs on the harness's standalone Redis, in a database of its own, so "every key"
 * is exactly what this service wrote. The cluster is left out: every decision tested here is
 * taken before Redis is asked anything.
 */

/** A database no other test file uses. */
const REDIS_DB = 11;

const ENV = {
  ...QUIET_GUARD_ENV,
  // Both limiters on, so a refused request that reached one would write its key.
  USER_RATE_LIMIT: '1000/60',
  API_KEY_RATE_LIMIT: '100000/60',
};

type KeyName = keyof typeof KEYS;
const SCOPES_OF: Record<KeyName, readonly ApiScope[]> = {
  all: ['coupons:issue', 'coupons:read', 'coupons:redeem', 'budget:read'],
  readOnly: ['coupons:read'],
  issueOnly: ['coupons:issue'],
  redeemOnly: ['coupons:redeem'],
  budgetOnly: ['budget:read'],
};
const KEY_NAMES = Object.keys(KEYS) as KeyName[];

/** Authorization header lines that authenticate nobody: absent, malformed or unknown. */
const NOBODY: readonly (readonly [string, readonly string[]])[] = [
  ['no Authorization header', []],
  ['"Token x"', ['Authorization: Token x']],
  ['"Bearer" alone', ['Authorization: Bearer']],
  ['"Bearer" and two spaces', ['Authorization: Bearer  ']],
  ['"Bearer", a tab, a valid key', [`Authorization: Bearer\t${KEYS.all}`]],
  [
    'Basic credentials holding a valid key',
    [`Authorization: Basic ${Buffer.from(`all:${KEYS.all}`).toString('base64')}`],
  ],
  ['a non-ASCII key', ['Authorization: Bearer ключ-доступа']],
  ['a valid key with a non-ASCII letter appended', [`Authorization: Bearer ${KEYS.all}é`]],
  ['a valid key followed by a second word', [`Authorization: Bearer ${KEYS.all} extra`]],
  ['a 600-character key', [`Authorization: Bearer ${'k'.repeat(600)}`]],
  ['an unknown key', ['Authorization: Bearer not-a-configured-key']],
  ['a valid key in upper case', [`Authorization: Bearer ${KEYS.all.toUpperCase()}`]],
];

const bearer = (key: KeyName) => [`Authorization: Bearer ${KEYS[key]}`];

interface Request {
  method: string;
  target: string;
  headers: readonly string[];
  body?: string;
}

function bytes(request: Request): string {
  const body = request.body ?? '';
  const length = request.body === undefined ? [] : [`Content-Length: ${Buffer.byteLength(body)}`];
  return (
    `${request.method} ${request.target} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
    [...request.headers, ...length].map((line) => `${line}\r\n`).join('') +
    `\r\n${body}`
  );
}

/** The contract's error shape: `{"error":{"code","message",...}}`, as JSON. */
function expectError(answer: RawResponse, status: number, code: string): void {
  expect({ status: answer.status, type: answer.headers['content-type'] }).toEqual({
    status,
    type: expect.stringMatching(/^application\/json\b/),
  });
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
}

/** Metrics a refusal may move: its own counter, and the process's own readings (time, CPU). */
const MOVES_BY_ITSELF = (name: string) =>
  name === 'coupon_http_refused_total' ||
  name.startsWith('process_') ||
  name.startsWith('nodejs_') ||
  // CPU time of the event loop and its utilisation: they move with the clock, not with requests.
  name.startsWith('coupon_event_loop_') ||
  // Sampled from Redis on a timer (BUDGET_SAMPLE_MS), whatever the requests.
  name.startsWith('coupon_budget_');

interface Observed {
  redis: RedisState;
  metrics: string[];
  refused: Map<string, number>;
}

function refusedCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^coupon_http_refused_total\{reason="(\w+)"\} (\d+)$/gm))
    counts.set(match[1]!, Number(match[2]));
  return counts;
}

describeIfRedis('the auth matrix: every route x caller x path form', () => {
  const campaign = liveCampaign(uniqueId('authmx'), { shards: 2 });
  const owner = `${uniqueId('mx-owner')}`;
  /** Redeemed by the right key in its cell; never redeemed before. */
  let freshCode: string;
  /** Redeemed by REVERSED_ORDER in beforeAll: the reversal cell reverses it. */
  let redeemedCode: string;
  const REVERSED_ORDER = 'mx-order-to-reverse';
  let service: TestService;
  let redis: Redis;
  let claims = 0;

  beforeAll(async () => {
    const url = standaloneRedisDbUrl(REDIS_DB);
    service = await startReadyService({
      redisUrl: url,
      clock: 'redis',
      campaigns: [campaign],
      env: ENV,
    });
    redis = new Redis(url, { maxRetriesPerRequest: 1 });
    const api = couponApi(service, campaign.id);
    const fresh = await api.claim(owner, 'mx-setup-1');
    const other = await api.claim(owner, 'mx-setup-2');
    expect([fresh.status, other.status]).toEqual([201, 201]);
    freshCode = fresh.body.coupon.code as string;
    redeemedCode = other.body.coupon.code as string;
    const redeemed = await api.redeem(redeemedCode, {
      userId: owner,
      orderId: REVERSED_ORDER,
      orderAmountFen: 5000,
    });
    expect(redeemed.status).toBe(201);
  });
  afterAll(async () => {
    await service?.stop();
    redis?.disconnect();
  });

  const campaignPath = () => `/v1/campaigns/${campaign.id}`;

  interface RouteCase {
    scope: ApiScope;
    request: (auth: readonly string[]) => Request;
    /** The same route with literal path segments in another letter case. */
    wrongCase: (target: string) => string[];
    /** The route's own answer, for a key with its scope. */
    served: (answer: RawResponse, key: KeyName) => void;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test
  const json = (answer: RawResponse): any => JSON.parse(answer.body);
  const upperV1 = (target: string) => target.replace('/v1/', '/V1/');
  const segment = (word: string, replacement: string) => (target: string) =>
    target.replace(`/${word}`, `/${replacement}`);

  const ROUTES: Record<string, RouteCase> = {
    claim: {
      scope: 'coupons:issue',
      request: (auth) => ({
        method: 'POST',
        target: `${campaignPath()}/coupons`,
        headers: [
          ...auth,
          'Content-Type: application/json',
          `Idempotency-Key: mx-claim-${(claims += 1)}`,
          `X-User-Id: ${owner}`,
        ],
        body: JSON.stringify({ userId: owner }),
      }),
      wrongCase: (t) => [upperV1(t), segment('coupons', 'COUPONS')(t)],
      served: (answer) => {
        expect(answer.status).toBe(201);
        expect(json(answer).coupon).toMatchObject({ userId: owner, campaignId: campaign.id });
      },
    },
    readCoupon: {
      scope: 'coupons:read',
      request: (auth) => ({
        method: 'GET',
        target: `${campaignPath()}/coupons/${freshCode}?userId=${owner}`,
        headers: auth,
      }),
      wrongCase: (t) => [upperV1(t), segment('coupons', 'Coupons')(t)],
      served: (answer) => {
        expect(answer.status).toBe(200);
        expect(json(answer).coupon).toMatchObject({ code: freshCode, userId: owner });
      },
    },
    redeem: {
      scope: 'coupons:redeem',
      request: (auth) => ({
        method: 'POST',
        target: `${campaignPath()}/coupons/${freshCode}/redemptions`,
        headers: [...auth, 'Content-Type: application/json'],
        body: JSON.stringify({ userId: owner, orderId: 'mx-order-1', orderAmountFen: 9000 }),
      }),
      wrongCase: (t) => [upperV1(t), segment('redemptions', 'REDEMPTIONS')(t)],
      // The first key with the scope redeems, the next one replays the same redemption.
      served: (answer) => {
        expect(answer.status).toBe(201);
        expect(json(answer).redemption).toMatchObject({ code: freshCode, orderId: 'mx-order-1' });
      },
    },
    reverse: {
      scope: 'coupons:redeem',
      request: (auth) => ({
        method: 'DELETE',
        target: `${campaignPath()}/coupons/${redeemedCode}/redemptions/${REVERSED_ORDER}?userId=${owner}`,
        headers: auth,
      }),
      wrongCase: (t) => [upperV1(t), segment('redemptions', 'Redemptions')(t)],
      served: (answer) => {
        expect(answer.status).toBe(200);
        expect(json(answer).coupon).toMatchObject({ code: redeemedCode, status: 'issued' });
      },
    },
    campaign: {
      scope: 'budget:read',
      request: (auth) => ({ method: 'GET', target: campaignPath(), headers: auth }),
      wrongCase: (t) => [upperV1(t), segment('campaigns', 'CAMPAIGNS')(t)],
      served: (answer) => {
        expect(answer.status).toBe(200);
        expect(json(answer).campaign).toMatchObject({ id: campaign.id });
      },
    },
    budget: {
      scope: 'budget:read',
      request: (auth) => ({ method: 'GET', target: `${campaignPath()}/budget`, headers: auth }),
      wrongCase: (t) => [upperV1(t), segment('budget', 'Budget')(t)],
      served: (answer) => {
        expect(answer.status).toBe(200);
        expect(json(answer)).toMatchObject({ campaignId: campaign.id, currency: 'CNY' });
      },
    },
  };

  async function observe(): Promise<Observed> {
    const [state, text] = await Promise.all([redisState(redis), metricsText(service)]);
    return {
      redis: state,
      metrics: metricLines(text, MOVES_BY_ITSELF),
      refused: refusedCounts(text),
    };
  }

  /**
   * Sends a request that must be refused: the answer is `status` `code` in the contract's shape,
   * nothing in Redis or the metrics moved, and the refusal was counted once, under `reason`.
   */
  async function expectRefused(
    what: string,
    request: Request,
    status: number,
    code: string,
    reason: string,
  ): Promise<RawResponse> {
    const before = await observe();
    const answer = await rawExchange(service.port, bytes(request));
    const after = await observe();
    try {
      expectError(answer, status, code);
      expect(stateChanges(before.redis, after.redis)).toEqual([]);
      expect(after.metrics).toEqual(before.metrics);
      const moved = [...after.refused].filter(([r, n]) => n !== (before.refused.get(r) ?? 0));
      expect(moved).toEqual([[reason, (before.refused.get(reason) ?? 0) + 1]]);
    } catch (err) {
      const line = bytes(request).split('\r\n')[0];
      throw new Error(`${what}: ${line}\n${(err as Error).message}`, { cause: err });
    }
    return answer;
  }

  const absolute = (target: string) => `http://127.0.0.1:${service.port}${target}`;

  describe.each(Object.keys(ROUTES))('%s', (name) => {
    const route = ROUTES[name]!;
    const withScope = KEY_NAMES.filter((key) => SCOPES_OF[key].includes(route.scope));
    const withoutScope = KEY_NAMES.filter((key) => !SCOPES_OF[key].includes(route.scope));

    it('no, a malformed or an unknown key: 401 UNAUTHENTICATED with WWW-Authenticate: Bearer', async () => {
      for (const [label, auth] of NOBODY) {
        const answer = await expectRefused(
          label,
          route.request(auth),
          401,
          'UNAUTHENTICATED',
          'unauthenticated',
        );
        expect(answer.headers['www-authenticate']).toBe('Bearer');
      }
    });

    it('the path in another letter case, without a valid key: 401 (the key is checked first)', async () => {
      for (const [label, auth] of NOBODY) {
        const request = route.request(auth);
        for (const target of route.wrongCase(request.target)) {
          const answer = await expectRefused(
            label,
            { ...request, target },
            401,
            'UNAUTHENTICATED',
            'unauthenticated',
          );
          expect(answer.headers['www-authenticate']).toBe('Bearer');
        }
      }
    });

    it('absolute-form, whoever asks and whatever the case: 400 INVALID_REQUEST before anything', async () => {
      const callers = [...NOBODY, ...KEY_NAMES.map((key) => [key, bearer(key)] as const)];
      for (const [label, auth] of callers) {
        const request = route.request(auth);
        for (const target of [request.target, ...route.wrongCase(request.target)])
          await expectRefused(
            label,
            { ...request, target: absolute(target) },
            400,
            'INVALID_REQUEST',
            'target',
          );
      }
    });

    it('the path in another letter case, with a valid key of any scope: 404 NOT_FOUND', async () => {
      for (const key of KEY_NAMES) {
        const request = route.request(bearer(key));
        for (const target of route.wrongCase(request.target))
          await expectRefused(key, { ...request, target }, 404, 'NOT_FOUND', 'not_found');
      }
    });

    it(`a key without ${route.scope}: 403 FORBIDDEN`, async () => {
      expect(withoutScope.length).toBeGreaterThan(0);
      for (const key of withoutScope)
        await expectRefused(key, route.request(bearer(key)), 403, 'FORBIDDEN', 'forbidden');
    });

    it(`a key with ${route.scope}: the route's own answer`, async () => {
      expect(withScope.length).toBeGreaterThan(1);
      for (const key of withScope) {
        const answer = await rawExchange(service.port, bytes(route.request(bearer(key))));
        try {
          route.served(answer, key);
        } catch (err) {
          throw new Error(`${key}: ${(err as Error).message}\n${answer.body}`, { cause: err });
        }
      }
    });
  });
});
