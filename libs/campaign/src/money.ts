import type { CampaignConfig } from './schema';

/** Whole coupons to fen, at the edge only: budgets move in coupons so no fen is ever stranded. */
export function couponsToFen(
  campaign: Pick<CampaignConfig, 'couponValueFen'>,
  coupons: number,
): number {
  if (!Number.isSafeInteger(coupons) || coupons < 0) {
    throw new RangeError(`coupons must be a non-negative safe integer, got ${coupons}`);
  }
  const fen = coupons * campaign.couponValueFen;
  if (!Number.isSafeInteger(fen))
    throw new RangeError(`${coupons} coupons exceed the safe fen range`);
  return fen;
}

/** The pool in whole coupons (poolFen is a multiple of couponValueFen in a valid campaign). */
export function poolCoupons(campaign: Pick<CampaignConfig, 'poolFen' | 'couponValueFen'>): number {
  if (campaign.poolFen % campaign.couponValueFen !== 0) {
    throw new RangeError(
      `poolFen ${campaign.poolFen} is not a multiple of ${campaign.couponValueFen}`,
    );
  }
  return campaign.poolFen / campaign.couponValueFen;
}
