import { describeIfRedis } from '@coupons/testing';
import { ManualClock, zonedDays, type Clock } from '@coupons/campaign';
import {
  claim,
  expectFromExpress,
  expectFromGate,
  expectRetryableError,
  issuedCoupons,
  metric,
  metricNow,
  shed,
} from './admission';
import {
  couponApi,
  expectRetryAfterUntil,
  liveCampaign,
  metricsText,
  startTestService,
  uniqueId,
  waitUntilReady,
  type ApiAnswer,
  type CampaignInput,
  type TestService,
  useReadyService,
  QUIET_GUARD_ENV,
} from './support';

/**
 * The admission gate's limits beyond load (admission.int.test.ts has the gate itself): the
 * per-user request limit, the sold-out fast path, Retry-After jitter, and ADMISSION=off.
 */

const HOUR_MS = 3_600_000;
const ZONE = 'Asia/Shanghai';

/** A user id no other test file (sharing the harness Redis and its rate-limit keys) uses. */
const uniqueUser = (name: string) => uniqueId(`adm-${name}`);

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

describeIfRedis('admission: per-user request limit', () => {
  const campaign = liveCampaign(uniqueId('adm-user'));
  const mismatch = liveCampaign(uniqueId('adm-user-x'));
  let service: TestService;

  useReadyService((s) => (service = s), {
    campaigns: [campaign, mismatch],
    env: { ...QUIET_GUARD_ENV, USER_RATE_LIMIT: '2/60' },
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

/**
 * A ready service for a one-a-day campaign (oneADayCampaign at `now`) on `clock`, whose gate lets
 * a claim through to a sold-out shard once per `probeMs`: `test` runs with it, then it is stopped.
 */
async function withSoldOutService(
  name: string,
  now: number,
  probeMs: number,
  clock: Clock | 'redis',
  test: (service: TestService, campaign: CampaignInput) => Promise<void>,
): Promise<void> {
  const campaign = oneADayCampaign(name, now);
  const service = await startTestService({
    clock,
    campaigns: [campaign],
    env: { ...QUIET_GUARD_ENV, SOLD_OUT_PROBE_MS: String(probeMs), USER_RATE_LIMIT: 'off' },
  });
  try {
    await waitUntilReady(service);
    await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
    await test(service, campaign);
  } finally {
    await service.stop();
  }
}

describeIfRedis('admission: sold-out fast path', () => {
  it('answers TRANCHE_EXHAUSTED from the gate once the ledger said so, until the next release', async () => {
    const now = Date.now();
    await withSoldOutService('adm-soldout', now, 3_600_000, 'redis', async (service, campaign) => {
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
    });
  });

  it('lets one claim per probe interval through to the ledger', async () => {
    const now = Date.now();
    const clock = new ManualClock(now);
    await withSoldOutService('adm-probe', now, 1000, clock, async (service, campaign) => {
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
    });
  });
});

describeIfRedis('admission: Retry-After jitter', () => {
  it('spreads a sold-out Retry-After over SOLD_OUT_RETRY_SPREAD_SECONDS (60 s) past the release', async () => {
    const campaign = oneADayCampaign('adm-jitter', Date.now());
    const env = { ...QUIET_GUARD_ENV, SOLD_OUT_PROBE_MS: '3600000', USER_RATE_LIMIT: 'off' };
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
    env: { ...QUIET_GUARD_ENV, ADMISSION: 'off', ADMISSION_RATE: '1', ADMISSION_BURST: '1' },
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
