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
 * leave it (field, value, ...): the one translation from the record back to Redis, used by the
 * rebuild.
 */
export function couponHashFields(c: CouponHashSource): string[] {
  const fields = [
    'code',
    c.code,
    'userId',
    c.userId,
    'valueFen',
    String(c.valueFen),
    'issuedAt',
    String(c.issuedAt),
    'expiresAt',
    String(c.expiresAt),
    'trancheDay',
    c.trancheDay,
    'status',
    c.status,
  ];
  if (c.status === 'redeemed' && c.orderId !== null) {
    const discount = String(c.discountFen ?? '0');
    const at = String(c.redeemedAt ?? '0');
    fields.push('orderId', c.orderId, 'discountFen', discount, 'redeemedAt', at);
    fields.push(`r:${c.orderId}`, `${discount}:${at}`);
  }
  for (const [orderId, reversedAt] of Object.entries(c.reversals))
    fields.push(`x:${orderId}`, reversedAt);
  return fields;
}
