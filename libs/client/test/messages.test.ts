import {
  claimMessage,
  couponMessage,
  momentOf,
  redemptionMessage,
  reversalMessage,
  transientMessage,
  zoneName,
  type MessageContext,
} from '../src/messages';
import type { ClaimResult, RedeemResult } from '../src/outcomes';
import { COUPON } from './support';

// 15:30 in Beijing on Feb 10.
const NOW = Date.parse('2026-02-10T15:30:00+08:00');
const zh: MessageContext = {
  locale: 'zh-CN',
  timeZone: 'Asia/Shanghai',
  now: NOW,
  perUser: { daily: 3, total: 21 },
};
const en: MessageContext = { ...zh, locale: 'en' };
const coupon = { ...COUPON };

type Row = [string, ClaimResult & { maybeDone?: boolean }, string, string];

const claims: Row[] = [
  [
    'issued',
    { kind: 'issued', coupon },
    '领到了！券码 ABCD-EFGH-JKMN-PQRS，面值 25 元，2月28日 23:59（北京时间）前有效。',
    'Here you go: coupon ABCD-EFGH-JKMN-PQRS, ¥25 off, valid until Feb 28 at 23:59 (Beijing time).',
  ],
  [
    'replayed, used since',
    { kind: 'replayed', coupon: { ...coupon, status: 'redeemed' } },
    '这张券你已经领到了：券码 ABCD-EFGH-JKMN-PQRS，面值 25 元，已经用过了。',
    'You already got this one: coupon ABCD-EFGH-JKMN-PQRS, ¥25 off, already used.',
  ],
  [
    'replayed, expired since',
    { kind: 'replayed', coupon: { ...coupon, valueFen: 1999, status: 'expired' } },
    '这张券你已经领到了：券码 ABCD-EFGH-JKMN-PQRS，面值 19.99 元，已经过期了。',
    'You already got this one: coupon ABCD-EFGH-JKMN-PQRS, ¥19.99 off, has expired.',
  ],
  [
    'sold out until a release today',
    {
      kind: 'sold_out',
      nextReleaseAt: '2026-02-10T16:00:00+08:00',
      retryAfterSeconds: 1800,
      local: true,
    },
    '今天的券已经发完了，下一批 16:00（北京时间）发放。',
    'The coupons released so far are all gone; the next batch is released at 16:00 (Beijing time).',
  ],
  [
    'sold out until tomorrow',
    {
      kind: 'sold_out',
      nextReleaseAt: '2026-02-11T00:00:00+08:00',
      retryAfterSeconds: 30_600,
      local: false,
    },
    '今天的券已经发完了，下一批 明天 00:00（北京时间）发放。',
    'The coupons released so far are all gone; the next batch is released tomorrow at 00:00 (Beijing time).',
  ],
  [
    'sold out until a later day',
    {
      kind: 'sold_out',
      nextReleaseAt: '2026-02-13T08:00:00+08:00',
      retryAfterSeconds: 1,
      local: false,
    },
    '今天的券已经发完了，下一批 2月13日 08:00（北京时间）发放。',
    'The coupons released so far are all gone; the next batch is released on Feb 13 at 08:00 (Beijing time).',
  ],
  [
    'daily limit',
    {
      kind: 'user_limit',
      limit: 'daily',
      retryAt: '2026-02-11T00:00:00+08:00',
      retryAfterSeconds: 30_600,
    },
    '你今天已经领了 3 张券，明天 00:00（北京时间）之后再来吧。',
    'You already have 3 coupons today; come back tomorrow after 00:00 (Beijing time).',
  ],
  [
    'daily limit on the last day',
    { kind: 'user_limit', limit: 'daily', retryAt: null, retryAfterSeconds: null },
    '你今天已经领了 3 张券，今天是活动的最后一天，感谢参与！',
    "You already have 3 coupons today, and today is the campaign's last day. Thanks for joining in!",
  ],
  [
    'total limit',
    { kind: 'user_limit', limit: 'total' },
    '这次活动每人最多 21 张，你已经全部领到了。',
    'You already have all 21 coupons this campaign allows per person.',
  ],
  [
    'not started',
    {
      kind: 'not_started',
      startsAt: '2026-11-01T00:00:00+08:00',
      retryAfterSeconds: 1,
      local: false,
    },
    '活动还没开始，11月1日 00:00（北京时间）开始领券。',
    "The campaign hasn't started yet; it opens on Nov 1 at 00:00 (Beijing time).",
  ],
  [
    'ended',
    { kind: 'ended', local: false },
    '这次活动已经结束了，感谢关注！',
    'This campaign has ended. Thanks for joining in!',
  ],
  [
    'budget gone',
    { kind: 'budget_exhausted', local: true },
    '这次活动的券已经全部发完了，之后也不会再发放新的一批。',
    "All of this campaign's coupons have been given out; no more will be released.",
  ],
  [
    'rate limited',
    { kind: 'rate_limited', retryAfterSeconds: 30 },
    '操作有点太频繁了，请 30 秒后再试。',
    'That was a lot of requests in a short time; please try again in 30 seconds.',
  ],
  [
    'overloaded',
    { kind: 'overloaded', retryAfterSeconds: 3, source: 'throttle' },
    '现在领券的人太多了，请 3 秒后再试一次。',
    'Lots of people are claiming right now; please try again in 3 seconds.',
  ],
  [
    'unavailable, minutes',
    { kind: 'unavailable', retryAfterSeconds: 90, cause: 'service' },
    '领券服务暂时连不上，请 2 分钟后再试。',
    "The coupon service can't be reached right now; please try again in 2 minutes.",
  ],
  [
    'unavailable, the claim may have been served',
    { kind: 'unavailable', retryAfterSeconds: 1, cause: 'no_answer', maybeDone: true },
    '没能确认你的券是否已经发出，请 1 秒后再问我一次：如果已经发了，会给你同一张券，不会重复发。',
    "I couldn't confirm whether your coupon was issued; ask me again in 1 second. If it was, you'll get that same coupon, never a second one.",
  ],
];

describe('claimMessage', () => {
  it.each(claims)('%s', (_name, outcome, chinese, english) => {
    expect(claimMessage(outcome, zh)).toBe(chinese);
    expect(claimMessage(outcome, en)).toBe(english);
  });

  it('never tells anyone to take a break', () => {
    for (const [, outcome] of claims)
      for (const ctx of [zh, en]) expect(claimMessage(outcome, ctx)).not.toMatch(/break|休息/i);
  });

  it('leaves the numbers out when the limits are not known', () => {
    const bare: MessageContext = { locale: 'zh-CN', timeZone: 'Asia/Shanghai', now: NOW };
    const daily: ClaimResult = {
      kind: 'user_limit',
      limit: 'daily',
      retryAt: '2026-02-11T00:00:00+08:00',
      retryAfterSeconds: 1,
    };
    expect(claimMessage(daily, bare)).toBe(
      '今天能领的券你已经领完了，明天 00:00（北京时间）之后再来吧。',
    );
    expect(claimMessage(daily, { ...bare, locale: 'en' })).toBe(
      "You already have today's coupons; come back tomorrow after 00:00 (Beijing time).",
    );
    expect(claimMessage({ kind: 'user_limit', limit: 'total' }, { ...bare, locale: 'en' })).toBe(
      'You already have every coupon this campaign allows per person.',
    );
  });

  it('says times in the campaign’s zone, named for people', () => {
    const outcome: ClaimResult = {
      kind: 'sold_out',
      nextReleaseAt: '2026-02-10T16:00:00+08:00',
      retryAfterSeconds: 1,
      local: false,
    };
    // 16:00 in Beijing is 17:00 in Tokyo.
    expect(claimMessage(outcome, { ...en, timeZone: 'Asia/Tokyo' })).toBe(
      'The coupons released so far are all gone; the next batch is released at 17:00 (Japan Standard Time).',
    );
    expect(claimMessage(outcome, { ...zh, timeZone: 'Asia/Tokyo' })).toBe(
      '今天的券已经发完了，下一批 17:00（日本标准时间）发放。',
    );
    // 08:00 UTC: still Feb 10 there.
    expect(claimMessage(outcome, { ...en, timeZone: 'UTC' })).toBe(
      'The coupons released so far are all gone; the next batch is released at 08:00 (UTC).',
    );
  });
});

describe('zone names and moments', () => {
  it('names China’s zone Beijing time, others by their name, bare offsets by their id', () => {
    expect(zoneName('Asia/Shanghai', 'zh-CN')).toBe('北京时间');
    expect(zoneName('Asia/Shanghai', 'en')).toBe('Beijing time');
    expect(zoneName('Asia/Tokyo', 'en')).toBe('Japan Standard Time');
    expect(zoneName('Etc/GMT-8', 'en')).toBe('Etc/GMT-8');
  });

  it('says today or tomorrow by the zone’s calendar, not the server’s', () => {
    // 23:30 in Beijing on Feb 10 is 15:30 UTC: 00:30 Beijing is tomorrow there.
    const late = { ...en, now: Date.parse('2026-02-10T23:30:00+08:00') };
    expect(momentOf('2026-02-11T00:30:00+08:00', late)).toEqual({
      relation: 'tomorrow',
      time: '00:30',
      date: 'Feb 11',
    });
    expect(momentOf('2026-02-11T00:30:00+08:00', { ...late, timeZone: 'UTC' })?.relation).toBe(
      'today',
    );
    expect(momentOf('2026-02-12T00:30:00+08:00', late)?.relation).toBe('other');
  });
});

describe('redemptionMessage, reversalMessage, couponMessage', () => {
  const redemption = {
    code: COUPON.code,
    orderId: 'o-1',
    discountFen: 1999,
    redeemedAt: '2026-02-10T15:31:00+08:00',
  };
  const rows: [string, RedeemResult, string, string][] = [
    [
      'redeemed',
      { kind: 'redeemed', redemption, coupon: { ...coupon, status: 'redeemed' } },
      '已为订单 o-1 抵扣 19.99 元。',
      'Coupon applied: ¥19.99 off order o-1.',
    ],
    [
      'replayed',
      { kind: 'replayed', redemption, coupon: { ...coupon, status: 'redeemed' } },
      '已为订单 o-1 抵扣 19.99 元。',
      'Coupon applied: ¥19.99 off order o-1.',
    ],
    [
      'already redeemed',
      { kind: 'already_redeemed' },
      '这张券已经在另一笔订单上用过了。',
      'This coupon was already used on another order.',
    ],
    [
      'order reversed',
      { kind: 'order_reversed', reversedAt: '2026-02-10T15:00:00+08:00' },
      '订单 o-1 已经取消过，不能再用这张券；下一笔新订单还可以用。',
      "Order o-1 was cancelled, so it can't use this coupon again; a new order can.",
    ],
    [
      'expired',
      { kind: 'expired', expiresAt: '2026-02-28T23:59:59.999+08:00' },
      '这张券已经在 2月28日 23:59（北京时间）过期了。',
      'This coupon expired on Feb 28 at 23:59 (Beijing time).',
    ],
    [
      'expired, no time given',
      { kind: 'expired', expiresAt: null },
      '这张券已经过期了。',
      'This coupon has expired.',
    ],
    [
      'below minimum',
      { kind: 'below_minimum', minOrderFen: 5000 },
      '订单满 50 元才能用这张券。',
      'This coupon applies to orders of at least ¥50.',
    ],
    [
      'below minimum, no amount given',
      { kind: 'below_minimum', minOrderFen: null },
      '这笔订单金额还不够用这张券。',
      "This order isn't large enough for the coupon.",
    ],
    [
      'not found',
      { kind: 'not_found' },
      '没有找到这张券，请检查一下券码。',
      "I couldn't find that coupon; please check the code.",
    ],
    [
      'overloaded',
      { kind: 'overloaded', retryAfterSeconds: 2, source: 'service' },
      '现在领券的人太多了，请 2 秒后再试一次。',
      'Lots of people are claiming right now; please try again in 2 seconds.',
    ],
  ];

  it.each(rows)('redemption: %s', (_name, outcome, chinese, english) => {
    expect(redemptionMessage(outcome, { ...zh, orderId: 'o-1' })).toBe(chinese);
    expect(redemptionMessage(outcome, { ...en, orderId: 'o-1' })).toBe(english);
  });

  it('reversal: reversed, replayed, not found, transient', () => {
    for (const kind of ['reversed', 'replayed'] as const) {
      expect(reversalMessage({ kind, coupon }, zh)).toBe(
        '订单已取消，券退回来了：券码 ABCD-EFGH-JKMN-PQRS，面值 25 元，2月28日 23:59（北京时间）前有效。',
      );
      expect(reversalMessage({ kind, coupon }, en)).toBe(
        'The order was cancelled and the coupon is back: coupon ABCD-EFGH-JKMN-PQRS, ¥25 off, valid until Feb 28 at 23:59 (Beijing time).',
      );
    }
    expect(reversalMessage({ kind: 'not_found' }, zh)).toBe(
      '这笔订单没有用过这张券，或者券码不对。',
    );
    expect(reversalMessage({ kind: 'not_found' }, en)).toBe(
      "That order didn't use this coupon, or the code is wrong.",
    );
    expect(reversalMessage({ kind: 'rate_limited', retryAfterSeconds: 1 }, en)).toBe(
      'That was a lot of requests in a short time; please try again in 1 second.',
    );
  });

  it('coupon: found (by status), not found, transient', () => {
    expect(couponMessage({ kind: 'found', coupon }, zh)).toBe(
      '你的券：券码 ABCD-EFGH-JKMN-PQRS，面值 25 元，2月28日 23:59（北京时间）前有效。',
    );
    expect(couponMessage({ kind: 'found', coupon: { ...coupon, status: 'redeemed' } }, en)).toBe(
      'Your coupon ABCD-EFGH-JKMN-PQRS, ¥25 off, already used.',
    );
    expect(couponMessage({ kind: 'not_found' }, en)).toBe(
      "I couldn't find that coupon; please check the code.",
    );
    expect(
      couponMessage({ kind: 'unavailable', retryAfterSeconds: 60, cause: 'connection' }, zh),
    ).toBe('领券服务暂时连不上，请 1 分钟后再试。');
  });

  it('transient: a result that may have been done says so, in either locale', () => {
    const outcome = {
      kind: 'overloaded',
      retryAfterSeconds: 5,
      source: 'service',
      maybeDone: true,
    } as const;
    expect(transientMessage(outcome, zh)).toBe(
      '这次没能确认结果，请 5 秒后再试一次：如果已经办好了，会得到同样的结果，不会重复。',
    );
    expect(transientMessage(outcome, en)).toBe(
      "I couldn't confirm whether that went through; please try again in 5 seconds. If it did, you'll get the same result, never a second one.",
    );
  });
});
