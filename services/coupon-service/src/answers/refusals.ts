import type { SoldOutBody } from '@coupons/admission';
import type { IssueResult, RedeemResult, ReverseResult } from '@coupons/budget-ledger';
import { toZonedIso, type CampaignCalendar } from '@coupons/campaign';
import { ApiError, errorJson } from './errors';
import type { RetryPolicy } from './retryPolicy';

/** How the contract words every refusal of the coupon routes: one place for each message. */

/** Sold out until the next release: from the ledger's answer, and from the gate's memory. */
function trancheExhausted(nextReleaseAt: string, retryAfterSeconds: number): ApiError {
  return new ApiError(
    'TRANCHE_EXHAUSTED',
    `the budget released so far is gone; more is released at ${nextReleaseAt}`,
    { retryAfterSeconds, nextReleaseAt },
  );
}

/** The gate's sold-out answer body: the same words as the ledger's. */
export const soldOutBody: SoldOutBody = (nextReleaseAt, retryAfterSeconds) =>
  errorJson(trancheExhausted(nextReleaseAt, retryAfterSeconds));

type Refused<R extends { kind: string }, OK extends string> = Exclude<R, { kind: OK }>;

/** A claim the ledger refused, as the contract words it (statuses, Retry-After, nextReleaseAt). */
export function claimRefusal(
  result: Refused<IssueResult, 'issued'>,
  calendar: CampaignCalendar,
  now: number,
  retry: RetryPolicy,
): ApiError {
  const { campaign } = calendar;
  const iso = (ms: number) => toZonedIso(ms, campaign.timeZone);
  switch (result.kind) {
    case 'not_started':
      return new ApiError(
        'CAMPAIGN_NOT_STARTED',
        `campaign ${campaign.id} starts at ${iso(result.startsAt)}`,
        {
          retryAfterSeconds: retry.until(result.startsAt, now),
          startsAt: iso(result.startsAt),
        },
      );
    case 'ended':
      return new ApiError(
        'CAMPAIGN_ENDED',
        `campaign ${campaign.id} ended at ${iso(campaign.endsAt)}`,
      );
    case 'tranche_exhausted':
      return trancheExhausted(iso(result.nextReleaseAt), retry.until(result.nextReleaseAt, now));
    case 'budget_exhausted':
      return new ApiError(
        'CAMPAIGN_BUDGET_EXHAUSTED',
        `the budget of campaign ${campaign.id} is gone and nothing more will be released`,
      );
    case 'user_limit':
      if (result.scope === 'total')
        return new ApiError(
          'USER_LIMIT_REACHED',
          `this user has the campaign's limit of ${campaign.perUser.total} coupons`,
          { limit: 'total' },
        );
      return result.retryAt === undefined
        ? new ApiError(
            'USER_LIMIT_REACHED',
            `this user has the daily limit of ${campaign.perUser.daily} coupons, on the campaign's last day`,
            { limit: 'daily' },
          )
        : new ApiError(
            'USER_LIMIT_REACHED',
            `this user has the daily limit of ${campaign.perUser.daily} coupons; a new day starts at ${iso(result.retryAt)}`,
            {
              limit: 'daily',
              retryAfterSeconds: retry.until(result.retryAt, now),
              retryAt: iso(result.retryAt),
            },
          );
    case 'idempotency_key_reused':
      return new ApiError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used by this user for a claim with another body',
      );
  }
}

export const couponNotFound = () =>
  new ApiError('COUPON_NOT_FOUND', 'no such coupon for this user in this campaign');

export function redemptionRefusal(
  result: Refused<RedeemResult, 'redeemed'>,
  calendar: CampaignCalendar,
): ApiError {
  const zone = calendar.campaign.timeZone;
  switch (result.kind) {
    case 'not_found':
      return couponNotFound();
    case 'expired':
      return new ApiError(
        'COUPON_EXPIRED',
        `the coupon expired at ${toZonedIso(result.coupon.expiresAt, zone)}`,
        { expiresAt: toZonedIso(result.coupon.expiresAt, zone) },
      );
    case 'already_redeemed':
      return new ApiError('COUPON_ALREADY_REDEEMED', 'the coupon was redeemed by another order');
    case 'below_minimum':
      return new ApiError(
        'ORDER_BELOW_MINIMUM',
        `the coupon applies to orders of at least ${result.minOrderFen} fen`,
        { minOrderFen: result.minOrderFen },
      );
    case 'order_reversed':
      return new ApiError(
        'ORDER_REVERSED',
        `this order's redemption of the coupon was reversed at ${toZonedIso(result.reversedAt, zone)}; a cancelled order cannot redeem it again`,
        { reversedAt: toZonedIso(result.reversedAt, zone) },
      );
    case 'order_already_discounted':
      return new ApiError(
        'ORDER_ALREADY_DISCOUNTED',
        `this order already carries ${result.couponsPerOrder === 1 ? "one of this campaign's coupons" : `${result.couponsPerOrder} of this campaign's coupons`}, as many as one order may`,
        { couponsPerOrder: result.couponsPerOrder },
      );
  }
}

export function reversalRefusal(
  result: Refused<ReverseResult, 'reversed'>,
  orderId: string,
): ApiError {
  return result.kind === 'not_found'
    ? couponNotFound()
    : new ApiError('COUPON_NOT_FOUND', `this coupon has no redemption by order ${orderId}`);
}
