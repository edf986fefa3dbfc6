import { COUPON_FIELDS } from '@coupons/budget-ledger';

type Value = string | number | bigint;

/** A coupon as the record holds it, in whatever number types the query gave. */
export interface CouponHashSource {
  code: string;
  userId: string;
  valueFen: Value;
  issuedAt: Value;
  expiresAt: Value;
  trancheDay: string;
  status: string;
  orderId: string | null;
  discountFen: Value | null;
  redeemedAt: Value | null;
  /** orderId -> reversedAt */
  reversals: Readonly<Record<string, string>>;
}

/**
 * The coupon hash exactly as issueCoupon-5.lua, redeemCoupon-3.lua and reverseRedemption-3.lua
 * leave it (field, value, ...; budget-ledger's COUPON_FIELDS): the one translation from the
 * record back to Redis, used by the rebuild. The code, value, expiry and day are not in it.
 */
export function couponHashFields(c: CouponHashSource): string[] {
  const f = COUPON_FIELDS;
  const fields = [f.userId, c.userId, f.issuedAt, String(c.issuedAt)];
  if (c.status === 'redeemed' && c.orderId !== null)
    fields.push(
      f.orderId,
      c.orderId,
      f.discountFen,
      String(c.discountFen ?? '0'),
      f.redeemedAt,
      String(c.redeemedAt ?? '0'),
    );
  for (const [orderId, reversedAt] of Object.entries(c.reversals))
    fields.push(`${f.reversedPrefix}${orderId}`, reversedAt);
  return fields;
}
