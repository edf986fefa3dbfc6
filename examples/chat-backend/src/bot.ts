import {
  claimMessage,
  couponMessage,
  redemptionMessage,
  reversalMessage,
  type CouponClient,
  type Locale,
  type MessageContext,
} from '@coupons/client';

export interface ChatUser {
  /** The chat platform's user id; also the coupon service's userId. */
  id: string;
  name: string;
  locale: Locale;
}

/** What the user asked for (a real backend gets this from its intent recogniser). */
export type Intent =
  | { kind: 'claim' }
  | { kind: 'redeem'; orderId: string; amountFen: number }
  | { kind: 'cancel'; orderId: string }
  | { kind: 'show' };

export interface Turn {
  user: ChatUser;
  /** The chat message's id: a redelivered message has the same one. */
  messageId: string;
  text: string;
  intent: Intent;
}

export interface CampaignFacts {
  id: string;
  timeZone: string;
  perUser: { daily: number; total: number };
}

/**
 * The coupon part of a chat backend: one turn in, one reply out. The claim's Idempotency-Key
 * comes from the message id, so a message processed twice never gets two coupons; a claim whose
 * outcome may have been done (its answer lost) is asked again with its own key next time, so the
 * user gets that coupon rather than a second one.
 */
export class CouponBot {
  /** The code of each user's latest coupon, to redeem or show. */
  private readonly coupons = new Map<string, string>();
  /** Keys of claims that may have been served without an answer, per user. */
  private readonly pendingKeys = new Map<string, string>();

  constructor(
    private readonly client: CouponClient,
    private readonly campaign: CampaignFacts,
    private readonly now: () => number = Date.now,
  ) {}

  async reply(turn: Turn): Promise<string> {
    const { user, intent } = turn;
    const ctx: MessageContext = {
      locale: user.locale,
      timeZone: this.campaign.timeZone,
      perUser: this.campaign.perUser,
      now: this.now(),
    };
    const campaignId = this.campaign.id;
    switch (intent.kind) {
      case 'claim': {
        const pending = this.pendingKeys.get(user.id);
        const outcome = await this.client.claim(
          pending === undefined
            ? { campaignId, userId: user.id, intentId: turn.messageId }
            : { campaignId, userId: user.id, idempotencyKey: pending },
        );
        if (outcome.kind === 'issued' || outcome.kind === 'replayed') {
          this.coupons.set(user.id, outcome.coupon.code);
          this.pendingKeys.delete(user.id);
        } else if (outcome.maybeDone) this.pendingKeys.set(user.id, outcome.idempotencyKey);
        return claimMessage(outcome, ctx);
      }
      case 'redeem': {
        const code = this.coupons.get(user.id);
        if (code === undefined) return noCoupon(user.locale);
        const outcome = await this.client.redeem({
          campaignId,
          code,
          userId: user.id,
          orderId: intent.orderId,
          orderAmountFen: intent.amountFen,
        });
        return redemptionMessage(outcome, { ...ctx, orderId: intent.orderId });
      }
      case 'cancel': {
        const code = this.coupons.get(user.id);
        if (code === undefined) return noCoupon(user.locale);
        const outcome = await this.client.reverse({
          campaignId,
          code,
          userId: user.id,
          orderId: intent.orderId,
        });
        return reversalMessage(outcome, ctx);
      }
      case 'show': {
        const code = this.coupons.get(user.id);
        if (code === undefined) return noCoupon(user.locale);
        return couponMessage(await this.client.coupon({ campaignId, code, userId: user.id }), ctx);
      }
    }
  }
}

function noCoupon(locale: Locale): string {
  return locale === 'zh-CN'
    ? '你还没有领到券，说“我要领券”试试。'
    : 'You don\'t have a coupon yet; say "coupon please" to get one.';
}
