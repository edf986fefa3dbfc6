import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CouponClient, type ClaimInput, type ClaimOutcome } from '@coupons/client';
import { CouponBot, playChat, type ChatUser } from '../src';

const COUPON = {
  code: 'ABCD-EFGH-JKMN-PQRS',
  campaignId: 'spring',
  userId: 'ming',
  valueFen: 2500,
  currency: 'CNY',
  status: 'issued' as const,
  issuedAt: '2026-02-10T12:30:00.000+08:00',
  expiresAt: '2026-02-28T23:59:59.999+08:00',
  trancheDay: '2026-02-10',
};

describe('CouponBot', () => {
  it('asks again with the key of a claim that may have been served, and only then', async () => {
    const asked: ClaimInput[] = [];
    const answers: ClaimOutcome[] = [
      {
        kind: 'unavailable',
        retryAfterSeconds: 2,
        cause: 'no_answer',
        attempts: 3,
        maybeDone: true,
        idempotencyKey: 'key-of-m1',
      },
      {
        kind: 'replayed',
        coupon: COUPON,
        attempts: 1,
        maybeDone: false,
        idempotencyKey: 'key-of-m1',
      },
      {
        kind: 'issued',
        coupon: COUPON,
        attempts: 1,
        maybeDone: false,
        idempotencyKey: 'key-of-m3',
      },
    ];
    const client = {
      claim: async (input: ClaimInput) => {
        asked.push(input);
        return answers.shift()!;
      },
    } as unknown as CouponClient;
    const bot = new CouponBot(client, {
      id: 'spring',
      timeZone: 'Asia/Shanghai',
      perUser: { daily: 3, total: 21 },
    });
    const ming: ChatUser = { id: 'ming', name: '小明', locale: 'zh-CN' };
    const claim = (messageId: string) =>
      bot.reply({ user: ming, messageId, text: '我要领券', intent: { kind: 'claim' } });

    expect(await claim('m1')).toMatch(/^没能确认你的券是否已经发出/);
    // A new message: the claim in doubt is asked again with its key, and answers its coupon.
    expect(await claim('m2')).toMatch(/^这张券你已经领到了：券码 ABCD-EFGH-JKMN-PQRS/);
    // Settled: the next message is a new claim of its own.
    expect(await claim('m3')).toMatch(/^领到了！/);
    expect(asked).toEqual([
      { campaignId: 'spring', userId: 'ming', intentId: 'm1' },
      { campaignId: 'spring', userId: 'ming', idempotencyKey: 'key-of-m1' },
      { campaignId: 'spring', userId: 'ming', intentId: 'm3' },
    ]);
  });

  it('says there is no coupon yet before a redemption, a cancel or a show', async () => {
    const bot = new CouponBot({} as CouponClient, {
      id: 'spring',
      timeZone: 'Asia/Shanghai',
      perUser: { daily: 3, total: 21 },
    });
    const alice: ChatUser = { id: 'alice', name: 'Alice', locale: 'en' };
    expect(
      await bot.reply({ user: alice, messageId: 'a', text: 'show', intent: { kind: 'show' } }),
    ).toBe('You don\'t have a coupon yet; say "coupon please" to get one.');
  });
});

describe('playChat without a service', () => {
  it('says how to start one', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = new CouponClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k' });
    const lines: string[] = [];
    try {
      expect(
        await playChat({ client, campaignId: 'spring', runId: 'x', out: (l) => lines.push(l) }),
      ).toBe(false);
    } finally {
      await client.close();
    }
    expect(lines).toEqual([
      'No coupon service answers there. Start one with `npm start` (it prints a development API key).',
    ]);
  });
});
