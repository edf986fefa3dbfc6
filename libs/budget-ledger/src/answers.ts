import type { CampaignCalendar } from '@coupons/campaign';
import { ledgerCouponOf } from './storedCoupon';
import type { RedeemRequest } from './ledger';
import { LedgerCode, type IssueResult, type RedeemResult } from './scripts';

/**
 * The answer to a claim the issue script refused for good (the status of its reply): when the
 * campaign starts, when the next release or day comes. Unknown statuses throw.
 */
export function issueRefusalOf(
  calendar: CampaignCalendar,
  status: LedgerCode,
  nowMs: number,
): IssueResult {
  const { campaign } = calendar;
  switch (status) {
    case LedgerCode.NotStarted:
      return { kind: 'not_started', startsAt: campaign.startsAt };
    case LedgerCode.Ended:
      return { kind: 'ended' };
    case LedgerCode.TrancheExhausted: {
      const next = calendar.nextReleaseAt(nowMs);
      return next === undefined
        ? { kind: 'budget_exhausted' }
        : { kind: 'tranche_exhausted', nextReleaseAt: next };
    }
    case LedgerCode.PoolExhausted:
      return { kind: 'budget_exhausted' };
    case LedgerCode.UserDailyLimit:
      return { kind: 'user_limit', scope: 'daily', retryAt: calendar.nextDayStartAt(nowMs) };
    case LedgerCode.UserTotalLimit:
      return { kind: 'user_limit', scope: 'total' };
    case LedgerCode.IdempotencyKeyReused:
      return { kind: 'idempotency_key_reused' };
    default:
      throw new Error(`issue script returned ${LedgerCode[status]}`);
  }
}

/** The answer to a redemption from the redeem script's status and the rest of its reply. */
export function redeemResultOf(
  calendar: CampaignCalendar,
  request: RedeemRequest,
  status: LedgerCode,
  rest: readonly (string | number)[],
): RedeemResult {
  const { campaign } = calendar;
  const coupon = (fields: readonly (string | number)[]) =>
    ledgerCouponOf(calendar, request.code, fields);
  switch (status) {
    case LedgerCode.Ok:
    case LedgerCode.Replayed:
      return {
        kind: 'redeemed',
        replayed: status === LedgerCode.Replayed,
        redemption: {
          code: request.code,
          orderId: request.orderId,
          discountFen: Number(rest[0]),
          redeemedAt: Number(rest[1]),
        },
        coupon: coupon(rest.slice(2)),
      };
    case LedgerCode.OrderReversed:
      return { kind: 'order_reversed', reversedAt: Number(rest[0]), coupon: coupon(rest.slice(1)) };
    case LedgerCode.CouponNotFound:
      return { kind: 'not_found' };
    case LedgerCode.CouponExpired:
      return { kind: 'expired', coupon: coupon(rest) };
    case LedgerCode.AlreadyRedeemed:
      return { kind: 'already_redeemed' };
    case LedgerCode.BelowMinimum:
      return { kind: 'below_minimum', minOrderFen: campaign.minOrderFen };
    default:
      throw new Error(`redeem script returned ${LedgerCode[status]}`);
  }
}
