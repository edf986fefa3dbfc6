import type { CouponClient } from '../src/client';
import { claimMessage, redemptionMessage } from '../src/messages';
import {
  clientOf,
  describeIfRedis,
  issuedCount,
  liveCampaign,
  oneSliceCampaign,
  stackFor,
  uniqueId,
} from './serviceHarness';
import { RecordingTransport } from './support';
import { UndiciTransport } from '../src/transport';

/** Every route through the client against the real service on the harness Redis. */
describeIfRedis('the client against the real service', () => {
  const campaign = liveCampaign(uniqueId('client'), {
    perUser: { daily: 2, total: 5 },
    minOrderFen: 1000,
  });
  const stack = stackFor([campaign]);
  let client: CouponClient;

  beforeAll(() => {
    client = clientOf(stack.pod().base);
  });
  afterAll(() => client.close());

  it('claims once per intent: the same intent again is a replay of the same coupon', async () => {
    const first = await client.claim({ campaignId: campaign.id, userId: 'ann', intentId: 'm-1' });
    expect(first).toMatchObject({ kind: 'issued', attempts: 1, maybeDone: false });
    const again = await client.claim({ campaignId: campaign.id, userId: 'ann', intentId: 'm-1' });
    expect(again).toMatchObject({ kind: 'replayed', idempotencyKey: first.idempotencyKey });
    if (first.kind !== 'issued' || again.kind !== 'replayed') throw new Error('unreachable');
    expect(again.coupon.code).toBe(first.coupon.code);
    expect(first.coupon).toMatchObject({ userId: 'ann', valueFen: 2500, status: 'issued' });
    expect(await issuedCount(stack.pod(), campaign)).toBe(1);
  });

  it('reads, redeems, replays, refuses and reverses as the contract says', async () => {
    const claimed = await client.claim({ campaignId: campaign.id, userId: 'bo', intentId: 'm-1' });
    if (claimed.kind !== 'issued') throw new Error(`claim: ${claimed.kind}`);
    const code = claimed.coupon.code;
    const target = { campaignId: campaign.id, code, userId: 'bo' };

    expect(await client.coupon(target)).toMatchObject({ kind: 'found', coupon: { code } });
    expect(await client.coupon({ ...target, userId: 'someone-else' })).toMatchObject({
      kind: 'not_found',
    });
    expect(await client.redeem({ ...target, orderId: 'o-1', orderAmountFen: 999 })).toEqual({
      kind: 'below_minimum',
      minOrderFen: 1000,
      attempts: 1,
      maybeDone: false,
    });
    const redeemed = await client.redeem({ ...target, orderId: 'o-1', orderAmountFen: 1999 });
    expect(redeemed).toMatchObject({ kind: 'redeemed', redemption: { discountFen: 1999 } });
    expect(redemptionMessage(redeemed, { locale: 'en', timeZone: 'Asia/Shanghai' })).toBe(
      'Coupon applied: ¥19.99 off order o-1.',
    );
    expect(await client.redeem({ ...target, orderId: 'o-1', orderAmountFen: 1999 })).toMatchObject({
      kind: 'replayed',
    });
    expect(await client.redeem({ ...target, orderId: 'o-2', orderAmountFen: 1999 })).toMatchObject({
      kind: 'already_redeemed',
    });
    expect(await client.reverse({ ...target, orderId: 'o-1' })).toMatchObject({
      kind: 'reversed',
      coupon: { status: 'issued' },
    });
    expect(await client.reverse({ ...target, orderId: 'o-1' })).toMatchObject({
      kind: 'replayed',
    });
    expect(await client.reverse({ ...target, orderId: 'o-9' })).toMatchObject({
      kind: 'not_found',
    });
    expect(await client.redeem({ ...target, orderId: 'o-1', orderAmountFen: 1999 })).toMatchObject({
      kind: 'order_reversed',
      reversedAt: expect.any(String),
    });
    expect(
      await client.redeem({
        ...target,
        code: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ',
        orderId: 'o-3',
        orderAmountFen: 1,
      }),
    ).toMatchObject({ kind: 'not_found' });
  });

  it('answers the daily limit with the next day, and says it with the campaign’s limits', async () => {
    const ask = (intentId: string) =>
      client.claim({ campaignId: campaign.id, userId: 'cy', intentId });
    expect((await ask('a')).kind).toBe('issued');
    expect((await ask('b')).kind).toBe('issued');
    const limited = await ask('c');
    expect(limited).toMatchObject({ kind: 'user_limit', limit: 'daily' });
    const meta = await client.campaign(campaign.id);
    if (meta.kind !== 'ok') throw new Error(`campaign: ${meta.kind}`);
    expect(meta.campaign).toMatchObject({
      timeZone: 'Asia/Shanghai',
      perUser: { daily: 2, total: 5 },
    });
    const said = claimMessage(limited, {
      locale: 'en',
      timeZone: meta.campaign.timeZone,
      perUser: meta.campaign.perUser,
    });
    expect(said).toMatch(
      /^You already have 2 coupons today; come back (tomorrow )?after 00:00 \(Beijing time\)\.$/,
    );
  });

  it('reads the campaign and the budget', async () => {
    const budget = await client.budget(campaign.id);
    expect(budget).toMatchObject({
      kind: 'ok',
      budget: { campaignId: campaign.id, unknownShards: [] },
    });
    if (budget.kind !== 'ok') throw new Error('unreachable');
    expect(budget.budget.issuedFen).toBe((await issuedCount(stack.pod(), campaign)) * 2500);
  });

  it('throws what the caller cannot act on: a wrong key, an unknown campaign', async () => {
    const stranger = clientOf(stack.pod().base, { apiKey: 'not-a-key' });
    try {
      await expect(
        stranger.claim({ campaignId: campaign.id, userId: 'dan' }),
      ).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
        details: { status: 401 },
      });
    } finally {
      await stranger.close();
    }
    await expect(
      client.claim({ campaignId: 'no-such-campaign', userId: 'dan' }),
    ).rejects.toMatchObject({
      code: 'CAMPAIGN_NOT_FOUND',
    });
  });
});

/**
 * A sold-out campaign costs the service nothing once the client knows: one shard, five coupons
 * released today (one slice), nothing more until tomorrow.
 */
describeIfRedis('the sold-out memory against the real service', () => {
  const campaign = oneSliceCampaign('client-soldout', 5);
  const stack = stackFor([campaign]);

  it('answers claims locally after TRANCHE_EXHAUSTED, until the release and a spread', async () => {
    const service = stack.pod();
    const recording = new RecordingTransport(new UndiciTransport(service.base));
    const client = clientOf(service.base, { transport: recording });
    try {
      const kinds: string[] = [];
      for (let i = 0; i < 8; i++) {
        const outcome = await client.claim({ campaignId: campaign.id, userId: `u${i}` });
        kinds.push(
          outcome.kind === 'sold_out' ? `sold_out${outcome.local ? ' (local)' : ''}` : outcome.kind,
        );
      }
      expect(kinds).toEqual([
        ...Array(5).fill('issued'),
        'sold_out',
        'sold_out (local)',
        'sold_out (local)',
      ]);
      // Six requests: five coupons and the answer that taught the client.
      expect(recording.exchanges.map((e) => e.status)).toEqual([201, 201, 201, 201, 201, 409]);
      const entry = client.state().closedCampaigns[campaign.id];
      expect(entry?.reason.kind).toBe('sold_out');
      const release = Date.parse((entry?.reason as { nextReleaseAt: string }).nextReleaseAt);
      expect(entry!.untilMs).toBeGreaterThanOrEqual(release);
      expect(entry!.untilMs).toBeLessThan(release + 60_000);
      expect(await issuedCount(service, campaign)).toBe(5);
    } finally {
      await client.close();
    }
  });
});
