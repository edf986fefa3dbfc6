import {
  codeOf,
  final,
  malformed,
  parsed,
  protocolOf,
  type Answer,
  type ReadContext,
  type Reading,
} from './answers';
import type {
  BudgetResult,
  CampaignResult,
  ClaimResult,
  CouponResult,
  RedeemResult,
  ReverseResult,
} from './outcomes';
import { isFen, isTimeZone, momentMs, secondsUntil } from './trust';
import {
  budgetSchema,
  campaignBodySchema,
  couponBodySchema,
  redemptionAnswerSchema,
  type Campaign,
  type Coupon,
} from './wire';

/**
 * One reader per route: the answers that route has in the contract, read into its outcomes, every
 * time and number checked against the bounds of `trust.ts`, every coupon against what was asked
 * for. Undefined for an answer the route does not have (the caller reads it as transient or
 * unexpected).
 */

/** What is wrong with a coupon for this request, if anything. */
function couponProblem(coupon: Coupon, ctx: ReadContext): 'foreign' | 'malformed' | undefined {
  const { campaignId, userId } = ctx.expect;
  if (coupon.campaignId !== campaignId || (userId !== undefined && coupon.userId !== userId))
    return 'foreign';
  if (
    !isFen(coupon.valueFen) ||
    momentMs(coupon.issuedAt, ctx.nowMs) === undefined ||
    momentMs(coupon.expiresAt, ctx.nowMs) === undefined
  )
    return 'malformed';
  return undefined;
}

function refusedCoupon<R>(answer: Answer, problem: 'foreign' | 'malformed'): Reading<R> {
  return problem === 'foreign'
    ? protocolOf(answer, 'foreign', `${answer.status} with a coupon of another user or campaign`)
    : malformed(answer, 'a coupon whose amount or times cannot be right');
}

/** The coupon a 2xx carries, checked; or the protocol reading that refuses the answer. */
function couponOf(
  answer: Answer,
  ctx: ReadContext,
): { coupon: Coupon } | { refused: Reading<never> } {
  const body = parsed(answer, couponBodySchema);
  if (body === undefined) return { refused: malformed(answer) };
  const problem = couponProblem(body.coupon, ctx);
  return problem === undefined ? body : { refused: refusedCoupon(answer, problem) };
}

/** A moment the answer named, in epoch ms; undefined when it is missing or not believable. */
function named(value: string | undefined, ctx: ReadContext): number | undefined {
  return value === undefined ? undefined : momentMs(value, ctx.nowMs);
}

export function readClaim(answer: Answer, ctx: ReadContext): Reading<ClaimResult> | undefined {
  if (answer.status === 200 || answer.status === 201) {
    const read = couponOf(answer, ctx);
    if ('refused' in read) return read.refused;
    return final({ kind: answer.replayed ? 'replayed' : 'issued', coupon: read.coupon });
  }
  return readClaimRefusal(answer, ctx);
}

function readClaimRefusal(answer: Answer, ctx: ReadContext): Reading<ClaimResult> | undefined {
  const { error, retryAfterSeconds: after } = answer;
  switch (codeOf(answer)) {
    case 'TRANCHE_EXHAUSTED':
      return timedRefusal(answer, ctx, 'nextReleaseAt');
    case 'CAMPAIGN_NOT_STARTED':
      return timedRefusal(answer, ctx, 'startsAt');
    case 'USER_LIMIT_REACHED':
      if (error?.limit === 'total') return final({ kind: 'user_limit', limit: 'total' });
      if (error?.limit !== 'daily') return malformed(answer, 'USER_LIMIT_REACHED without limit');
      if (error.retryAt !== undefined && named(error.retryAt, ctx) === undefined)
        return malformed(answer, 'USER_LIMIT_REACHED with a retryAt that cannot be right');
      return final({
        kind: 'user_limit',
        limit: 'daily',
        retryAt: error.retryAt ?? null,
        retryAfterSeconds: after ?? null,
      });
    case 'CAMPAIGN_ENDED':
      return final({ kind: 'ended', local: false }, { closed: { kind: 'ended' } });
    case 'CAMPAIGN_BUDGET_EXHAUSTED':
      return final(
        { kind: 'budget_exhausted', local: false },
        { closed: { kind: 'budget_exhausted' } },
      );
    default:
      return undefined;
  }
}

/** Sold out until nextReleaseAt, or not started until startsAt: remembered until that moment. */
function timedRefusal(
  answer: Answer,
  ctx: ReadContext,
  field: 'nextReleaseAt' | 'startsAt',
): Reading<ClaimResult> {
  const value = answer.error?.[field];
  const at = named(value, ctx);
  if (value === undefined || at === undefined)
    return malformed(answer, `${answer.error?.code} without a believable ${field}`);
  const retryAfterSeconds = answer.retryAfterSeconds ?? secondsUntil(at, ctx.nowMs, ctx.horizonMs);
  const closed =
    field === 'nextReleaseAt'
      ? ({ kind: 'sold_out', nextReleaseAt: value } as const)
      : ({ kind: 'not_started', startsAt: value } as const);
  return final({ ...closed, retryAfterSeconds, local: false }, { closed });
}

export function readRedemption(
  answer: Answer,
  ctx: ReadContext,
): Reading<RedeemResult> | undefined {
  if (answer.status === 200 || answer.status === 201) {
    const body = parsed(answer, redemptionAnswerSchema);
    if (body === undefined) return malformed(answer);
    const { redemption, coupon } = body;
    const problem = couponProblem(coupon, ctx);
    if (problem !== undefined) return refusedCoupon(answer, problem);
    if (redemption.orderId !== ctx.expect.orderId)
      return protocolOf(answer, 'foreign', `${answer.status} with another order’s redemption`);
    if (
      !isFen(redemption.discountFen) ||
      redemption.discountFen > coupon.valueFen ||
      momentMs(redemption.redeemedAt, ctx.nowMs) === undefined
    )
      return malformed(answer, 'a redemption whose discount or time cannot be right');
    return final({
      kind: answer.replayed ? 'replayed' : 'redeemed',
      redemption,
      coupon,
    });
  }
  return readRedemptionRefusal(answer, ctx);
}

function readRedemptionRefusal(
  answer: Answer,
  ctx: ReadContext,
): Reading<RedeemResult> | undefined {
  const error = answer.error;
  /** An optional moment: null when absent, the reading of a protocol error when wrong. */
  const optionalMoment = (value: string | undefined) =>
    value === undefined ? null : named(value, ctx) === undefined ? undefined : value;
  switch (codeOf(answer)) {
    case 'COUPON_NOT_FOUND':
      return final({ kind: 'not_found' });
    case 'COUPON_ALREADY_REDEEMED':
      return final({ kind: 'already_redeemed' });
    case 'ORDER_REVERSED': {
      const reversedAt = optionalMoment(error?.reversedAt);
      if (reversedAt === undefined) return malformed(answer, 'a reversedAt that cannot be right');
      return final({ kind: 'order_reversed', reversedAt });
    }
    case 'ORDER_ALREADY_DISCOUNTED': {
      const couponsPerOrder = error?.couponsPerOrder ?? null;
      if (couponsPerOrder !== null && !(Number.isInteger(couponsPerOrder) && couponsPerOrder >= 1))
        return malformed(answer, 'a couponsPerOrder that cannot be right');
      return final({ kind: 'order_already_discounted', couponsPerOrder });
    }
    case 'COUPON_EXPIRED': {
      const expiresAt = optionalMoment(error?.expiresAt);
      if (expiresAt === undefined) return malformed(answer, 'an expiresAt that cannot be right');
      return final({ kind: 'expired', expiresAt });
    }
    case 'ORDER_BELOW_MINIMUM': {
      const minOrderFen = error?.minOrderFen ?? null;
      if (minOrderFen !== null && !isFen(minOrderFen))
        return malformed(answer, 'a minOrderFen that cannot be right');
      return final({ kind: 'below_minimum', minOrderFen });
    }
    default:
      return undefined;
  }
}

export function readReversal(answer: Answer, ctx: ReadContext): Reading<ReverseResult> | undefined {
  if (answer.status === 200) {
    const read = couponOf(answer, ctx);
    if ('refused' in read) return read.refused;
    return final({ kind: answer.replayed ? 'replayed' : 'reversed', coupon: read.coupon });
  }
  return codeOf(answer) === 'COUPON_NOT_FOUND' ? final({ kind: 'not_found' }) : undefined;
}

export function readCoupon(answer: Answer, ctx: ReadContext): Reading<CouponResult> | undefined {
  if (answer.status === 200) {
    const read = couponOf(answer, ctx);
    if ('refused' in read) return read.refused;
    return final({ kind: 'found', coupon: read.coupon });
  }
  return codeOf(answer) === 'COUPON_NOT_FOUND' ? final({ kind: 'not_found' }) : undefined;
}

/** Whether a campaign's zone, limits and times can be said to a user as they are. */
function believableCampaign(campaign: Campaign, nowMs: number): boolean {
  const { perUser, release } = campaign;
  return (
    isTimeZone(campaign.timeZone) &&
    isFen(perUser.daily) &&
    isFen(perUser.total) &&
    [campaign.startsAt, campaign.endsAt, campaign.couponExpiresAt, campaign.asOf].every(
      (at) => momentMs(at, nowMs) !== undefined,
    ) &&
    (release.nextReleaseAt === null || momentMs(release.nextReleaseAt, nowMs) !== undefined)
  );
}

export function readCampaign(
  answer: Answer,
  ctx: ReadContext,
): Reading<CampaignResult> | undefined {
  if (answer.status !== 200) return undefined;
  const body = parsed(answer, campaignBodySchema);
  if (body === undefined) return malformed(answer);
  if (body.campaign.id !== ctx.expect.campaignId)
    return protocolOf(answer, 'foreign', '200 with another campaign');
  if (!believableCampaign(body.campaign, ctx.nowMs))
    return malformed(answer, 'a campaign whose zone, limits or times cannot be right');
  return final({ kind: 'ok', campaign: body.campaign });
}

export function readBudget(answer: Answer, ctx: ReadContext): Reading<BudgetResult> | undefined {
  if (answer.status !== 200) return undefined;
  const body = parsed(answer, budgetSchema);
  if (body === undefined) return malformed(answer);
  if (body.campaignId !== ctx.expect.campaignId)
    return protocolOf(answer, 'foreign', '200 with another campaign’s budget');
  if (
    momentMs(body.asOf, ctx.nowMs) === undefined ||
    (body.nextReleaseAt !== null && momentMs(body.nextReleaseAt, ctx.nowMs) === undefined)
  )
    return malformed(answer, 'a budget whose times cannot be right');
  return final({ kind: 'ok', budget: body });
}
