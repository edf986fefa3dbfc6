import { CODE_LENGTH, CROCKFORD_ALPHABET, generateCouponCode } from '@coupons/budget-ledger';
import { findFreePort } from '@coupons/redis-local';
import {
  couponApi,
  KEYS,
  liveCampaign,
  rawRequest,
  startTestService,
  uniqueId,
  type ApiAnswer,
  type TestService,
} from './support';

/**
 * Every refusal here is decided before Redis: the service's Redis is a port nothing listens on,
 * so an answer that needed Redis would be 503 UNAVAILABLE (and one test shows it is).
 */
describe('input validation, without Redis', () => {
  const campaign = liveCampaign(uniqueId('validation'), { shards: 4 });
  let service: TestService;
  let api: ReturnType<typeof couponApi>;
  const code = generateCouponCode(1);

  beforeAll(async () => {
    const port = await findFreePort();
    service = await startTestService({
      redisUrl: `redis://127.0.0.1:${port}`,
      clock: 'redis',
      campaigns: [campaign],
    });
    api = couponApi(service, campaign.id);
  });
  afterAll(async () => {
    await service.stop();
  });

  function expectInvalid(answer: ApiAnswer, ...fields: string[]): void {
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toEqual(fields);
    for (const detail of answer.body.error.details)
      expect(detail.problem).toEqual(expect.any(String));
  }

  const claimWith = (body: unknown, headers: Record<string, string> = { 'Idempotency-Key': 'k' }) =>
    api.call('POST', '/coupons', { body, headers });

  it('answers a valid claim 503 UNAVAILABLE with Retry-After, fast: Redis really is not there', async () => {
    const answer = await api.claim('alice', 'k-1');
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 2 });
    expect(answer.headers.get('retry-after')).toBe('2');
    expect(answer.ms).toBeLessThan(1000);
    const redemption = await api.redeem(code, { userId: 'a', orderId: 'o', orderAmountFen: 1 });
    expect(redemption.status).toBe(503);
  });

  it('writes an error a route raises as the front door writes its own: JSON, no-store, the request id kept', async () => {
    // An unknown campaign is the campaign route's 404 (after express), not the front door's.
    const routed = await couponApi(service, 'no-such-campaign').call('GET', '', {
      headers: { 'X-Request-Id': 'trace-404' },
    });
    // An unknown route is the front door's own 404.
    const before = await api.call('GET', '/nowhere');
    expect([routed.status, before.status]).toEqual([404, 404]);
    expect(routed.body.error).toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
    for (const header of ['content-type', 'cache-control'])
      expect(routed.headers.get(header)).toBe(before.headers.get(header));
    expect(routed.headers.get('cache-control')).toBe('no-store');
    expect(routed.headers.get('x-request-id')).toBe('trace-404');
  });

  it('spreads that Retry-After over 2-4 s, so a fleet of callers does not come back at once', async () => {
    const port = await findFreePort();
    const late = await startTestService({
      redisUrl: `redis://127.0.0.1:${port}`,
      clock: 'redis',
      campaigns: [campaign],
      random: () => 0.999,
    });
    try {
      const answer = await couponApi(late, campaign.id).claim('alice', 'k-2');
      expect(answer.body.error).toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 4 });
      expect(answer.headers.get('retry-after')).toBe('4');
    } finally {
      await late.stop();
    }
  });

  it('requires an Idempotency-Key of 1-255 printable ASCII characters', async () => {
    expectInvalid(await claimWith({ userId: 'alice' }, {}), 'Idempotency-Key');
    expectInvalid(
      await claimWith({ userId: 'alice' }, { 'Idempotency-Key': 'k'.repeat(256) }),
      'Idempotency-Key',
    );
    expectInvalid(
      await claimWith({ userId: 'alice' }, { 'Idempotency-Key': 'tab\tinside' }),
      'Idempotency-Key',
    );
    const longest = await claimWith(
      { userId: 'alice' },
      { 'Idempotency-Key': `${'k'.repeat(254)}~` },
    );
    expect(longest.status).toBe(503); // accepted, then refused by the missing Redis
    const spaced = await claimWith({ userId: 'alice' }, { 'Idempotency-Key': 'with space' });
    expect(spaced.status).toBe(503);
  });

  it('requires a userId of 1-64 letters, digits, ".", "_" or "-"', async () => {
    for (const userId of ['', 'a b', 'x'.repeat(65), 'ü', 'a/b', 42, null]) {
      expectInvalid(await claimWith({ userId }), 'userId');
    }
    expectInvalid(await claimWith({}), 'userId');
    expect((await claimWith({ userId: 'A.b_c-9'.padEnd(64, 'z') })).status).toBe(503);
  });

  it('refuses unknown body fields, a missing body and a non-object body, naming them', async () => {
    expectInvalid(
      await claimWith({ userId: 'alice', campaignId: 'x', admin: true }),
      'campaignId',
      'admin',
    );
    expectInvalid(await claimWith(undefined), 'body');
    expectInvalid(await claimWith([{ userId: 'alice' }]), 'body');
    expectInvalid(await claimWith('alice'), 'body');
    expectInvalid(
      await claimWith({ userId: 'a b', extra: 1 }, {}),
      'userId',
      'extra',
      'Idempotency-Key',
    );
  });

  it('checks orderId and orderAmountFen of a redemption', async () => {
    const redeem = (body: unknown) => api.call('POST', `/coupons/${code}/redemptions`, { body });
    const good = { userId: 'alice', orderId: 'order-1', orderAmountFen: 100 };
    for (const orderId of ['', 'o'.repeat(129), 'a b', 'a/b', 7]) {
      expectInvalid(await redeem({ ...good, orderId }), 'orderId');
    }
    for (const orderAmountFen of [-1, 1.5, 2 ** 53, 1e300, '100', null]) {
      expectInvalid(await redeem({ ...good, orderAmountFen }), 'orderAmountFen');
    }
    expectInvalid(await redeem({ ...good, orderAmountFen: undefined }), 'orderAmountFen');
    expectInvalid(await redeem({ ...good, couponValueFen: 1 }), 'couponValueFen');
    expectInvalid(await redeem({ orderId: 'a b' }), 'userId', 'orderId', 'orderAmountFen');
    expect((await redeem({ ...good, orderId: 'o'.repeat(128), orderAmountFen: 0 })).status).toBe(
      503,
    );
    expect((await redeem({ ...good, orderAmountFen: Number.MAX_SAFE_INTEGER })).status).toBe(503);
  });

  it('refuses garbage codes (400) and mistyped ones (404) without Redis', async () => {
    expectInvalid(await api.read('not-a-code', 'alice'), 'code');
    expectInvalid(await api.read('U'.repeat(CODE_LENGTH), 'alice'), 'code');
    expectInvalid(await api.read(`${code}0`, 'alice'), 'code');

    // One character changed: the check character no longer matches.
    const wrongChar = CROCKFORD_ALPHABET[(CROCKFORD_ALPHABET.indexOf(code[5]!) + 1) % 32]!;
    const typo = code.slice(0, 5) + wrongChar + code.slice(6);
    for (const answer of [
      await api.read(typo, 'alice'),
      await api.redeem(typo, { userId: 'alice', orderId: 'o-1', orderAmountFen: 1 }),
      await api.reverse(typo, 'o-1', 'alice'),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('COUPON_NOT_FOUND');
      expect(answer.ms).toBeLessThan(1000);
    }

    // A right check character, but a shard this 4-shard campaign does not have.
    const otherShard = await api.read(generateCouponCode(4), 'alice');
    expect(otherShard.status).toBe(404);

    // The same code, correctly typed, needs Redis.
    expect((await api.read(code, 'alice')).status).toBe(503);
  });

  it('requires userId on reads and reversals and a sane orderId in the path', async () => {
    expectInvalid(await api.call('GET', `/coupons/${code}`), 'userId');
    expectInvalid(await api.call('GET', `/coupons/${code}?userId=a&userId=b`), 'userId');
    expectInvalid(await api.call('DELETE', `/coupons/${code}/redemptions/o-1`), 'userId');
    expectInvalid(await api.reverse(code, 'a%20b', 'alice'), 'orderId');
    expectInvalid(await api.call('GET', '/coupons/nope'), 'code', 'userId');
  });

  it('answers 404 CAMPAIGN_NOT_FOUND for an unknown campaign before looking at the body', async () => {
    const other = couponApi(service, 'no-such-campaign');
    for (const answer of [
      await other.claim('a b', 'k'),
      await other.read('x', 'alice'),
      await other.budget(),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('CAMPAIGN_NOT_FOUND');
    }
  });

  it('keeps each route to its scope', async () => {
    const reader = couponApi(service, campaign.id, KEYS.readOnly);
    expect((await reader.claim('alice', 'k')).status).toBe(403);
    expect(
      (await reader.redeem(code, { userId: 'a', orderId: 'o', orderAmountFen: 1 })).status,
    ).toBe(403);
    expect((await reader.reverse(code, 'o', 'a')).status).toBe(403);
    expect((await reader.budget()).status).toBe(403);
    expect((await reader.read(code, 'alice')).status).toBe(503); // coupons:read is enough
  });

  it('never echoes a stack, and answers hostile bodies with 4xx', async () => {
    const url = `${service.base}/v1/campaigns/${campaign.id}/coupons`;
    const deep = await rawRequest(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${KEYS.all}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'k',
      },
      body: `${'['.repeat(5000)}${']'.repeat(5000)}`,
    });
    expect(deep.status).toBe(400);
    const proto = await claimWith(JSON.parse('{"userId":"alice","__proto__":{"admin":true}}'));
    expect(proto.status).toBe(400);
    expect(JSON.stringify(proto.body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
});
