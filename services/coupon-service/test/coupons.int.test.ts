import { parseCouponCode } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import {
  couponApi,
  describeEachRedisMode,
  KEYS,
  liveCampaign,
  metricsText,
  uniqueId,
  type TestService,
  startReadyService,
} from './support';

const FORMATTED_CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+08:00$/;

describeEachRedisMode('the coupon routes, claim to reversal', (mode) => {
  const campaign = liveCampaign(uniqueId(`routes-${mode}`), {
    couponValueFen: 2500,
    minOrderFen: 1000,
  });
  const [parsed] = parseCampaigns({ campaigns: [campaign] });
  const calendar = new CampaignCalendar(parsed!);
  let service: TestService;
  let api: ReturnType<typeof couponApi>;
  /** Every code this file issued: none may appear in a log line. */
  const issued = new Set<string>();
  const trancheDays = new Set<string>();

  beforeAll(async () => {
    service = await startReadyService({ mode, clock: 'redis', campaigns: [campaign] });
    api = couponApi(service, campaign.id);
  });
  afterAll(async () => {
    await service.stop();
  });

  async function claim(userId: string, key: string) {
    const answer = await api.claim(userId, key);
    if (answer.status === 201) {
      issued.add(answer.body.coupon.code);
      trancheDays.add(answer.body.coupon.trancheDay);
    }
    return answer;
  }

  it('claims a coupon (201), replays it for the same key, and gives another user their own', async () => {
    const first = await claim('alice', 'claim-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.headers.get('cache-control')).toBe('no-store');
    const { coupon } = first.body;
    expect(first.body).toEqual({
      coupon: {
        code: expect.stringMatching(FORMATTED_CODE),
        campaignId: campaign.id,
        userId: 'alice',
        valueFen: 2500,
        currency: 'CNY',
        status: 'issued',
        issuedAt: expect.stringMatching(ZONED_ISO),
        expiresAt: expect.stringMatching(ZONED_ISO),
        trancheDay: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      },
    });
    expect(Date.parse(coupon.expiresAt)).toBe(parsed!.couponExpiresAt);
    expect(Math.abs(Date.parse(coupon.issuedAt) - Date.now())).toBeLessThan(5000);
    expect(coupon.trancheDay).toBe(calendar.dayAt(Date.parse(coupon.issuedAt))?.day);

    const replay = await claim('alice', 'claim-1');
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    const bob = await claim('bob', 'claim-1');
    expect(bob.status).toBe(201);
    expect(bob.headers.get('idempotent-replayed')).toBeNull();
    expect(bob.body.coupon.userId).toBe('bob');
    expect(bob.body.coupon.code).not.toBe(coupon.code);

    const again = await claim('alice', 'claim-2');
    expect(again.status).toBe(201);
    expect(again.body.coupon.code).not.toBe(coupon.code);
  });

  it('redeems for one order (201, discount = min(value, amount)), replays, refuses another order, reverses', async () => {
    const { body } = await claim('carol', 'carol-1');
    const code: string = body.coupon.code;
    const order = { userId: 'carol', orderId: 'order-1', orderAmountFen: 1999 };

    const redeemed = await api.redeem(code, order);
    expect(redeemed.status).toBe(201);
    expect(redeemed.headers.get('idempotent-replayed')).toBeNull();
    expect(redeemed.body).toEqual({
      redemption: {
        code,
        orderId: 'order-1',
        discountFen: 1999,
        redeemedAt: expect.stringMatching(ZONED_ISO),
      },
      coupon: { ...body.coupon, status: 'redeemed' },
    });

    const replay = await api.redeem(code, order);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(redeemed.body);

    const other = await api.redeem(code, { ...order, orderId: 'order-2', orderAmountFen: 5000 });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('COUPON_ALREADY_REDEEMED');

    const stranger = await api.redeem(code, { ...order, userId: 'mallory' });
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('COUPON_NOT_FOUND');
    const strangerReversal = await api.reverse(code, 'order-1', 'mallory');
    expect(strangerReversal.status).toBe(404);

    const reversed = await api.reverse(code, 'order-1', 'carol');
    expect(reversed.status).toBe(200);
    expect(reversed.headers.get('idempotent-replayed')).toBeNull();
    expect(reversed.body).toEqual({ coupon: body.coupon });
    const reversedAgain = await api.reverse(code, 'order-1', 'carol');
    expect(reversedAgain.status).toBe(200);
    expect(reversedAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(reversedAgain.body).toEqual({ coupon: body.coupon });
    const neverRedeemed = await api.reverse(code, 'order-9', 'carol');
    expect(neverRedeemed.status).toBe(404);
    expect(neverRedeemed.body.error).toMatchObject({
      code: 'COUPON_NOT_FOUND',
      message: expect.stringContaining('order-9'),
    });

    const second = await api.redeem(code, { ...order, orderId: 'order-2', orderAmountFen: 99_999 });
    expect(second.status).toBe(201);
    expect(second.body.redemption).toMatchObject({ orderId: 'order-2', discountFen: 2500 });
  });

  it('refuses an order below the minimum (422) and leaves the coupon usable', async () => {
    const { body } = await claim('dave', 'dave-1');
    const code: string = body.coupon.code;
    const small = await api.redeem(code, { userId: 'dave', orderId: 'small', orderAmountFen: 999 });
    expect(small.status).toBe(422);
    expect(small.body.error).toMatchObject({ code: 'ORDER_BELOW_MINIMUM', minOrderFen: 1000 });
    const enough = await api.redeem(code, { userId: 'dave', orderId: 'big', orderAmountFen: 1000 });
    expect(enough.status).toBe(201);
    expect(enough.body.redemption.discountFen).toBe(1000);
  });

  it('shows a coupon to its owner only, read as a person may type it', async () => {
    const { body } = await claim('erin', 'erin-1');
    const code: string = body.coupon.code;
    const own = await api.read(code, 'erin');
    expect(own.status).toBe(200);
    expect(own.headers.get('cache-control')).toBe('no-store');
    expect(own.body).toEqual(body);

    const typed = code.replace(/-/g, '').toLowerCase().replace(/0/g, 'o').replace(/1/g, 'l');
    expect((await api.read(typed, 'erin')).body).toEqual(body);

    const other = await api.read(code, 'frank');
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('COUPON_NOT_FOUND');

    // All zeros has a right check character (0): well-formed, never issued.
    expect(parseCouponCode('0000-0000-0000-0000').ok).toBe(true);
    const unknown = await api.read('0000-0000-0000-0000', 'erin');
    expect(unknown.status).toBe(404);
  });

  it('reports a budget that adds up: issued fen = coupons x value, remaining = released - issued', async () => {
    const answer = await api.budget();
    expect(answer.status).toBe(200);
    const budget = answer.body;
    const asOf = Date.parse(budget.asOf);
    const released = calendar.releasedCouponsAt(asOf) * 2500;
    expect(budget).toMatchObject({
      campaignId: campaign.id,
      currency: 'CNY',
      poolFen: campaign.poolFen,
      releasedFen: released,
      issuedFen: issued.size * 2500,
      remainingFen: released - issued.size * 2500,
      unreleasedFen: campaign.poolFen - released,
      unknownShards: [],
    });
    expect(budget.nextReleaseAt).toMatch(ZONED_ISO);
    expect(Date.parse(budget.nextReleaseAt)).toBe(calendar.nextReleaseAt(asOf));
    const today = calendar.dayAt(asOf)!;
    expect(budget.today).toMatchObject({
      day: today.day,
      trancheFen: today.trancheCoupons * 2500,
      releasedFen: calendar.releasedOnDayAt(today.day, asOf) * 2500,
    });
    // Unless this ran across midnight in Shanghai, every coupon is today's.
    if (trancheDays.size === 1 && trancheDays.has(today.day))
      expect(budget.today.issuedFen).toBe(budget.issuedFen);
    expect(budget.shards).toHaveLength(campaign.shards);
    const shardSum = (field: 'issuedFen' | 'releasedFen') =>
      budget.shards.reduce((sum: number, shard: Record<string, number>) => sum + shard[field]!, 0);
    expect(shardSum('issuedFen')).toBe(budget.issuedFen);
    expect(shardSum('releasedFen')).toBe(budget.releasedFen);
  });

  it('counts claims and issued value in the metrics, and never logs a code', async () => {
    const text = await metricsText(service);
    const line = (name: string, labels: string) =>
      new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];
    const c = `campaign="${campaign.id}"`;
    expect(Number(line('coupon_claims_total', `${c},outcome="issued"`))).toBe(issued.size);
    expect(Number(line('coupon_claims_total', `${c},outcome="replayed"`))).toBe(1);
    expect(Number(line('coupon_issued_total', c))).toBe(issued.size);
    expect(Number(line('coupon_issued_value_fen_total', c))).toBe(issued.size * 2500);
    expect(Number(line('coupon_redemptions_total', `${c},outcome="already_redeemed"`))).toBe(1);
    expect(text).toMatch(/^coupon_redis_command_duration_seconds_count\{command="issue"\} \d+$/m);

    const log = service.log();
    expect(log).toContain(campaign.id);
    for (const code of issued) {
      expect(log).not.toContain(code);
      expect(log).not.toContain(code.replace(/-/g, ''));
    }
  });

  it('keeps read-only keys to their scope', async () => {
    const reader = couponApi(service, campaign.id, KEYS.readOnly);
    const answer = await reader.claim('alice', 'claim-9');
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('FORBIDDEN');
    expect((await reader.budget()).status).toBe(403);
  });
});
