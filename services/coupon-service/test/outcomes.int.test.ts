import { shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns, toZonedIso, zonedDays } from '@coupons/campaign';
import type { Cluster, Redis } from 'ioredis';
import {
  couponApi,
  describeEachRedisMode,
  expectRetryAfterUntil,
  liveCampaign,
  metricsText,
  startReadyService,
  testRedisClient,
  uniqueId,
  type ApiAnswer,
  type CampaignInput,
  type TestService,
} from './support';

const HOUR_MS = 3_600_000;
const ZONE = 'Asia/Shanghai';

function calendarOf(input: CampaignInput): CampaignCalendar {
  return new CampaignCalendar(parseCampaigns({ campaigns: [input] })[0]!);
}

/** How long after the start of the run the expiry campaign's coupons expire. */
const EXPIRY_IN_MS = 8_000;

describeEachRedisMode('claim outcomes and faults at the HTTP level', (mode) => {
  const now = Date.now();
  const id = (name: string) => uniqueId(`${name}-${mode === 'cluster' ? 'c' : 's'}`);
  // Tranche: one coupon a day, one slice a day, so the first day's coupon is out at once.
  const trancheWindow = { startsInMs: -60_000, endsInMs: 36 * HOUR_MS, now };
  const trancheDays = zonedDays(now - 60_000, now + 36 * HOUR_MS, ZONE).length;
  const campaigns = {
    notStarted: liveCampaign(id('soon'), { startsInMs: HOUR_MS, endsInMs: 30 * HOUR_MS, now }),
    ended: liveCampaign(id('over'), { startsInMs: -48 * HOUR_MS, endsInMs: -HOUR_MS, now }),
    tranche: liveCampaign(id('tranche'), {
      ...trancheWindow,
      coupons: trancheDays,
      slicesPerDay: 1,
      shards: 1,
    }),
    budget: liveCampaign(id('pool'), {
      startsInMs: -60_000,
      endsInMs: HOUR_MS,
      coupons: 1,
      shards: 1,
      now,
    }),
    daily: liveCampaign(id('daily'), {
      endsInMs: 36 * HOUR_MS,
      perUser: { daily: 1, total: 2 },
      now,
    }),
    total: liveCampaign(id('total'), { perUser: { daily: 1, total: 1 }, now }),
    // Its coupons expire a few seconds after the start: Redis time cannot be moved, and the
    // expiry is the campaign's, not the coupon's.
    expiry: liveCampaign(id('expiry'), { endsInMs: EXPIRY_IN_MS, now }),
    missing: liveCampaign(id('missing'), { now }),
    partial: liveCampaign(id('partial'), { shards: 4, now }),
    foreign: liveCampaign(id('foreign'), { shards: 1, now }),
    rolled: liveCampaign(id('rolled'), { shards: 2, now }),
    reversed: liveCampaign(id('reversed'), { shards: 1, now }),
  };
  let service: TestService;
  let redis: Redis | Cluster;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers' bodies as sent
  const beforeExpiry: { kept?: any; used?: any; redeemed?: ApiAnswer } = {};
  /** Alice's orders on the expiry campaign's coupons, all of them 100 fen. */
  const aliceOrder = (orderId: string) => ({ userId: 'alice', orderId, orderAmountFen: 100 });
  const apiFor = (campaign: CampaignInput) => couponApi(service, campaign.id);
  const ledgerOf = (campaign: CampaignInput) => service.ledgers.get(campaign.id)!;

  beforeAll(async () => {
    // From now, not from when the file was read: the modes run one after the other.
    campaigns.expiry = liveCampaign(campaigns.expiry.id, { endsInMs: EXPIRY_IN_MS });
    service = await startReadyService({
      mode,
      clock: 'redis',
      campaigns: Object.values(campaigns),
      neverIssued: Object.values(campaigns).filter(
        (campaign) => campaign !== campaigns.notStarted && campaign !== campaigns.missing,
      ),
    });
    redis = testRedisClient(mode);
    await ledgerOf(campaigns.notStarted).init();
    // Before the expiry campaign's coupons expire: two claims, one redeemed.
    const expiring = apiFor(campaigns.expiry);
    beforeExpiry.kept = (await expiring.claim('alice', 'k1')).body.coupon;
    beforeExpiry.used = (await expiring.claim('alice', 'k2')).body.coupon;
    beforeExpiry.redeemed = await expiring.redeem(beforeExpiry.used.code, aliceOrder('o-1'));
  });
  afterAll(async () => {
    await service.stop();
    await redis.quit();
  });

  it('answers 409 CAMPAIGN_NOT_STARTED with Retry-After until the start', async () => {
    const sentAt = Date.now();
    const answer = await apiFor(campaigns.notStarted).claim('alice', 'k1');
    expect(answer.status).toBe(409);
    const startsAt = Date.parse(campaigns.notStarted.startsAt);
    expect(answer.body.error).toMatchObject({
      code: 'CAMPAIGN_NOT_STARTED',
      startsAt: toZonedIso(startsAt, ZONE),
    });
    expectRetryAfterUntil(answer, startsAt, sentAt);
  });

  it('answers 410 CAMPAIGN_ENDED, without Retry-After', async () => {
    const answer = await apiFor(campaigns.ended).claim('alice', 'k1');
    expect(answer.status).toBe(410);
    expect(answer.body.error.code).toBe('CAMPAIGN_ENDED');
    expect(answer.headers.get('retry-after')).toBeNull();
  });

  it('answers 409 TRANCHE_EXHAUSTED with nextReleaseAt and Retry-After once the released budget is gone', async () => {
    const api = apiFor(campaigns.tranche);
    let answer: ApiAnswer | undefined;
    let issued = 0;
    for (let user = 0; user < 5; user += 1) {
      answer = await api.claim(`user-${user}`, 'k1');
      if (answer.status !== 201) break;
      issued += 1;
    }
    const sentAt = Date.now();
    const calendar = calendarOf(campaigns.tranche);
    expect(issued).toBe(calendar.releasedCouponsAt(sentAt));
    expect(answer!.status).toBe(409);
    const next = calendar.nextReleaseAt(sentAt)!;
    expect(answer!.body.error).toMatchObject({
      code: 'TRANCHE_EXHAUSTED',
      nextReleaseAt: toZonedIso(next, ZONE),
    });
    expectRetryAfterUntil(answer!, next, sentAt);
    // A refused claim is not remembered: the same key is free for a later try.
    const again = await api.claim(`user-${issued}`, 'k1');
    expect(again.status).toBe(409);
  });

  it('answers 410 CAMPAIGN_BUDGET_EXHAUSTED when nothing is left and nothing more comes', async () => {
    const api = apiFor(campaigns.budget);
    expect((await api.claim('alice', 'k1')).status).toBe(201);
    const answer = await api.claim('bob', 'k1');
    expect(answer.status).toBe(410);
    expect(answer.body.error.code).toBe('CAMPAIGN_BUDGET_EXHAUSTED');
    expect(answer.headers.get('retry-after')).toBeNull();
  });

  it("answers 409 USER_LIMIT_REACHED: daily with Retry-After until the next day's start, total without", async () => {
    const daily = apiFor(campaigns.daily);
    expect((await daily.claim('alice', 'k1')).status).toBe(201);
    const sentAt = Date.now();
    const answer = await daily.claim('alice', 'k2');
    expect(answer.status).toBe(409);
    const nextDay = calendarOf(campaigns.daily).nextDayStartAt(sentAt)!;
    expect(answer.body.error).toMatchObject({
      code: 'USER_LIMIT_REACHED',
      limit: 'daily',
      retryAt: toZonedIso(nextDay, ZONE),
    });
    expectRetryAfterUntil(answer, nextDay, sentAt);

    const total = apiFor(campaigns.total);
    expect((await total.claim('alice', 'k1')).status).toBe(201);
    const over = await total.claim('alice', 'k2');
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({ code: 'USER_LIMIT_REACHED', limit: 'total' });
    expect(over.headers.get('retry-after')).toBeNull();
    // The replay of the successful claim still answers.
    expect((await total.claim('alice', 'k1')).status).toBe(201);
  });

  it('shows an expired coupon as expired, refuses to redeem it (410), and still replays an earlier redemption', async () => {
    const api = apiFor(campaigns.expiry);
    const { kept, used, redeemed } = beforeExpiry;
    expect(redeemed!.status).toBe(201);
    const past = Date.parse(campaigns.expiry.couponExpiresAt);
    // Redis time (this machine's clock) past the expiry: a bounded wait, the one way to move it.
    while (Date.now() <= past + 50) await new Promise((resolve) => setTimeout(resolve, 100));

    const read = await api.read(kept.code, 'alice');
    expect(read.body.coupon).toMatchObject({
      status: 'expired',
      expiresAt: toZonedIso(past, ZONE),
    });
    const refused = await api.redeem(kept.code, aliceOrder('o-2'));
    expect(refused.status).toBe(410);
    expect(refused.body.error).toMatchObject({
      code: 'COUPON_EXPIRED',
      expiresAt: toZonedIso(past, ZONE),
    });

    const replay = await api.redeem(used.code, aliceOrder('o-1'));
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.redemption).toEqual(redeemed!.body.redemption);

    const reversed = await api.reverse(used.code, 'o-1', 'alice');
    expect(reversed.status).toBe(200);
    expect(reversed.body.coupon.status).toBe('expired');
  });

  it('answers 503 UNAVAILABLE with Retry-After for a running campaign without a ledger, logs it at error and counts it', async () => {
    const api = apiFor(campaigns.missing);
    const answer = await api.claim('alice', 'k1');
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 30 });
    expect(answer.headers.get('retry-after')).toBe('30');

    const line = service
      .log()
      .split('\n')
      .find((l) => l.includes('"reason":"ledger_missing"') && l.includes(campaigns.missing.id));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', campaign: campaigns.missing.id });
    expect(await metricsText(service)).toMatch(
      new RegExp(
        `^coupon_ledger_faults_total\\{campaign="${campaigns.missing.id}",reason="ledger_missing"\\} 1$`,
        'm',
      ),
    );
    expect(await metricsText(service)).toMatch(
      new RegExp(
        `^coupon_claims_total\\{campaign="${campaigns.missing.id}",outcome="unavailable"\\} 1$`,
        'm',
      ),
    );

    const budget = await api.budget();
    expect(budget.status).toBe(200);
    // Nobody knows what lost shards gave away: unknown, never zero.
    expect(budget.body.unknownShards).toEqual(
      [0, 1, 2, 3].map((shard) => ({ shard, reason: 'missing' })),
    );
    expect(budget.body).toMatchObject({ issuedFen: null, remainingFen: null });
    expect(budget.body.today.issuedFen).toBeNull();
  });

  it('refuses only the users of a shard whose ledger is gone, and the budget names it', async () => {
    const campaign = campaigns.partial;
    const ledger = ledgerOf(campaign);
    await redis.del(shardKeys(campaign.id, 2).ledger);
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const onTwo = users.find((u) => ledger.shardOf(u) === 2)!;
    const elsewhere = users.find((u) => ledger.shardOf(u) !== 2)!;
    const api = apiFor(campaign);
    expect((await api.claim(onTwo, 'k1')).status).toBe(503);
    expect((await api.claim(elsewhere, 'k1')).status).toBe(201);
    const budget = await api.budget();
    expect(budget.status).toBe(200);
    expect(budget.body.unknownShards).toEqual([{ shard: 2, reason: 'missing' }]);
    expect(budget.body.issuedFen).toBeNull();
    expect(budget.body.shards[2]).toMatchObject({ state: 'missing', issuedFen: null });
    expect(budget.body.shards[1]).toMatchObject({ state: 'ok', issuedFen: expect.any(Number) });
    // Nothing was written for the refused claim: no record, no counter, no audit event.
    expect(await redis.exists(shardKeys(campaign.id, 2).ledger)).toBe(0);
    expect(await redis.exists(shardKeys(campaign.id, 2).user(onTwo))).toBe(0);
    expect(await redis.xlen(shardKeys(campaign.id, 2).audit)).toBe(1); // the init event only
  });

  it('answers 503 when the ledger was made for other money settings (config_mismatch)', async () => {
    const campaign = campaigns.foreign;
    await redis.hset(shardKeys(campaign.id, 0).ledger, 'fingerprint', 'made-for-another-file');
    const answer = await apiFor(campaign).claim('alice', 'k1');
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('UNAVAILABLE');
    expect(service.log()).toMatch(
      new RegExp(`"campaign":"${campaign.id}".*"reason":"config_mismatch"`),
    );
  });

  it('answers 503 for a shard a pod saw ahead of what Redis holds (rolled back): error log, metric, budget unknown, readiness unchanged', async () => {
    const campaign = campaigns.rolled;
    const ledger = ledgerOf(campaign);
    const api = apiFor(campaign);
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const onOne = users.filter((u) => ledger.shardOf(u) === 1);
    const onZero = users.find((u) => ledger.shardOf(u) === 0)!;
    expect((await api.claim(onOne[0]!, 'k1')).status).toBe(201);
    // Redis goes back to an older state of shard 1: its last event vanishes with the counters.
    const keys = shardKeys(campaign.id, 1);
    const [last] = await redis.xrevrange(keys.audit, '+', '-', 'COUNT', 1);
    await redis.xdel(keys.audit, last![0]);
    await redis.hincrby(keys.ledger, 'events', -1);

    const refused = await api.claim(onOne[1]!, 'k1');
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 30 });
    expect(await redis.hget(keys.ledger, 'rolledBack')).toMatch(/caller saw/);
    // A retry of the claim answered before: refused, never a second coupon.
    expect((await api.claim(onOne[0]!, 'k1')).status).toBe(503);
    expect((await api.claim(onZero, 'k1')).status).toBe(201);
    expect(service.log()).toMatch(
      new RegExp(`"level":"error".*"campaign":"${campaign.id}".*"reason":"rolled_back"`),
    );
    expect(await metricsText(service)).toMatch(
      new RegExp(
        `^coupon_ledger_faults_total\\{campaign="${campaign.id}",reason="rolled_back"\\} 2$`,
        'm',
      ),
    );
    const budget = await api.budget();
    expect(budget.body.unknownShards).toEqual([{ shard: 1, reason: 'rolled_back' }]);
    expect(budget.body.issuedFen).toBeNull();
    expect((await fetch(`${service.base}/readyz`)).status).toBe(200);
  });

  it('answers 409 ORDER_REVERSED to a late retry of a redemption whose order was reversed', async () => {
    const api = apiFor(campaigns.reversed);
    const claimed = await api.claim('shopper', 'k1');
    const code = claimed.body.coupon.code as string;
    const order = { userId: 'shopper', orderId: 'order-1', orderAmountFen: 1999 };
    expect((await api.redeem(code, order)).status).toBe(201);
    expect((await api.reverse(code, 'order-1', 'shopper')).status).toBe(200);
    const retry = await api.redeem(code, order);
    expect(retry.status).toBe(409);
    expect(retry.body.error).toMatchObject({
      code: 'ORDER_REVERSED',
      reversedAt: expect.stringMatching(/\+08:00$/),
    });
    expect(retry.headers.get('retry-after')).toBeNull();
    const read = await api.read(code, 'shopper');
    expect(read.body.coupon.status).toBe('issued');
  });
});
