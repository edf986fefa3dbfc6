import * as load from '../src/claims';

describe('claimRequests', () => {
  it('makes one user and one Idempotency-Key per logical claim, with the bearer key and X-User-Id', () => {
    const claim = load.claimRequests({ campaign: 'spring festival', apiKey: 'k1', runId: 'r7' });
    expect(claim(42)).toEqual({
      method: 'POST',
      path: '/v1/campaigns/spring%20festival/coupons',
      headers: {
        authorization: 'Bearer k1',
        'content-type': 'application/json',
        'idempotency-key': 'r7-42',
        'x-user-id': 'load-r7-42',
      },
      body: '{"userId":"load-r7-42"}',
    });
    expect(claim(43).headers!['idempotency-key']).not.toBe(claim(42).headers!['idempotency-key']);
  });
});

describe('retries', () => {
  const now = Date.parse('2027-02-01T00:00:00Z');

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(load.retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(load.retryAfterMs({ 'retry-after': 'Mon, 01 Feb 2027 00:00:05 GMT' }, now)).toBe(5000);
    expect(load.retryAfterMs({}, now)).toBeUndefined();
    expect(load.retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
  });

  it('retries only 429/503: eager clients at once, polite ones after Retry-After or backing off', () => {
    expect(load.populationOf(0)).toBe('eager');
    expect(load.populationOf(1)).toBe('polite');
    expect(load.retryDelayMs('eager', 503, { 'retry-after': '7' }, 0, now)).toBe(0);
    expect(load.retryDelayMs('polite', 503, { 'retry-after': '7' }, 0, now)).toBe(7000);
    expect(load.retryDelayMs('polite', 429, {}, 2, now)).toBe(4000);
    expect(load.retryDelayMs('eager', 409, { 'retry-after': '7' }, 0, now)).toBeUndefined();
    expect(load.retryDelayMs('polite', 500, {}, 0, now)).toBeUndefined();
  });

  it('bounds retries per claim and counts successes and give-ups per population', () => {
    const book = new load.RetryStormBook(4, 2);
    const accepted: number[] = [];
    const retry = (delayMs: number): boolean => {
      accepted.push(delayMs);
      return true;
    };
    for (let attempt = 0; attempt < 3; attempt += 1) book.onResponse(0, 503, {}, '', retry);
    book.onResponse(1, 429, { 'retry-after': '2' }, '', retry);
    book.onResponse(1, 201, {}, '', retry);
    book.onResponse(3, 503, { 'retry-after': '2' }, '', () => false);

    expect(accepted).toEqual([0, 0, 2000]);
    const summary = book.summary(2000);
    expect(summary.eager).toEqual({
      claims: 2,
      succeeded: 0,
      retries: 2,
      gaveUp: 1,
      goodputPerSecond: 0,
    });
    expect(summary.polite).toEqual({
      claims: 2,
      succeeded: 1,
      retries: 1,
      gaveUp: 1,
      goodputPerSecond: 0.5,
    });
  });
});

describe('ExhaustionBook', () => {
  it('adds up issued coupons and counts answers by error code', () => {
    const book = new load.ExhaustionBook();
    book.onResponse(0, 201, {}, '{"coupon":{"valueFen":2500}}');
    book.onResponse(1, 409, {}, '{"error":{"code":"TRANCHE_EXHAUSTED"}}');
    book.onResponse(2, 201, {}, '{"coupon":{"valueFen":2500}}');
    book.onResponse(3, 410, {}, '{"error":{"code":"CAMPAIGN_BUDGET_EXHAUSTED"}}');
    book.onResponse(4, 409, {}, '{"error":{"code":"TRANCHE_EXHAUSTED"}}');
    book.onResponse(5, 502, {}, 'bad gateway');

    expect(book.summary()).toEqual({
      issued: 2,
      issuedValueFen: 5000,
      answers: { TRANCHE_EXHAUSTED: 2, CAMPAIGN_BUDGET_EXHAUSTED: 1, '502': 1 },
      issuedAfterFirstExhaustion: 1,
    });
  });
});
