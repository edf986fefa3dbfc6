import { CouponClientError, type CouponClient } from '@coupons/client';
import { CouponBot, type ChatUser, type Turn } from './bot';

export interface PlayOptions {
  client: CouponClient;
  campaignId: string;
  /** Where the conversation goes, a line at a time. */
  out: (line: string) => void;
  /** Makes this run's users and orders new, so the daily limit starts afresh. */
  runId: string;
  now?: () => number;
}

/** A few turns of two users' chats; returns false when the service could not be used. */
export async function playChat(options: PlayOptions): Promise<boolean> {
  const { client, campaignId, out, runId } = options;
  const meta = await client.campaign(campaignId);
  if (meta.kind !== 'ok') {
    out(
      meta.kind === 'unavailable' && meta.cause === 'connection'
        ? 'No coupon service answers there. Start one with `npm start` (it prints a development API key).'
        : `The coupon service cannot answer now (${meta.kind}); try again in ${meta.retryAfterSeconds} s.`,
    );
    return false;
  }
  const { campaign } = meta;
  out(
    `campaign ${campaign.id} (${campaign.status}), ${campaign.timeZone}, ${campaign.perUser.daily} a day per user`,
  );
  const bot = new CouponBot(client, campaign, options.now);

  const ming: ChatUser = { id: `xiaoming-${runId}`, name: '小明', locale: 'zh-CN' };
  const alice: ChatUser = { id: `alice-${runId}`, name: 'Alice', locale: 'en' };
  const order = `order-${runId}`;
  const turns: Turn[] = [
    { user: ming, messageId: `${runId}-m1`, text: '我要领券', intent: { kind: 'claim' } },
    // The chat platform delivers the same message again: the same coupon, not a second one.
    { user: ming, messageId: `${runId}-m1`, text: '我要领券', intent: { kind: 'claim' } },
    { user: alice, messageId: `${runId}-a1`, text: 'coupon please', intent: { kind: 'claim' } },
    {
      user: ming,
      messageId: `${runId}-m2`,
      text: '下单 59.90 元，用券',
      intent: { kind: 'redeem', orderId: order, amountFen: 5990 },
    },
    {
      user: ming,
      messageId: `${runId}-m3`,
      text: '刚才的订单取消了',
      intent: { kind: 'cancel', orderId: order },
    },
    { user: alice, messageId: `${runId}-a2`, text: 'show my coupon', intent: { kind: 'show' } },
    { user: ming, messageId: `${runId}-m4`, text: '再来一张', intent: { kind: 'claim' } },
    { user: ming, messageId: `${runId}-m5`, text: '再来一张', intent: { kind: 'claim' } },
    { user: ming, messageId: `${runId}-m6`, text: '再来一张', intent: { kind: 'claim' } },
  ];
  for (const turn of turns) {
    out(`${turn.user.name} > ${turn.text}`);
    try {
      out(`bot > ${await bot.reply(turn)}`);
    } catch (err) {
      // A fault the user cannot fix: the bot says so plainly; the operator reads the code.
      if (!(err instanceof CouponClientError)) throw err;
      out(`bot > (${err.code}) ${err.message}`);
      if (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN') return false;
    }
  }
  return true;
}
