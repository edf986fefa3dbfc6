import { couponsToFen, poolCoupons } from '../src';
import { campaignFrom } from './fixtures';

describe('couponsToFen', () => {
  const campaign = campaignFrom();

  it('converts whole coupons to fen', () => {
    expect(couponsToFen(campaign, 0)).toBe(0);
    expect(couponsToFen(campaign, 3)).toBe(7_500);
    expect(couponsToFen(campaign, 120_000_000)).toBe(campaign.poolFen);
  });

  it('refuses fractional, negative or overflowing amounts', () => {
    expect(() => couponsToFen(campaign, 1.5)).toThrow(RangeError);
    expect(() => couponsToFen(campaign, -1)).toThrow(RangeError);
    expect(() => couponsToFen(campaign, Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
  });
});

describe('poolCoupons', () => {
  it('is the pool in whole coupons', () => {
    expect(poolCoupons(campaignFrom())).toBe(120_000_000);
    expect(() => poolCoupons({ poolFen: 2_600, couponValueFen: 2_500 })).toThrow(RangeError);
  });
});
