import type { CampaignCalendar } from '@coupons/campaign';
import type { LedgerCoupon } from './scripts';

/**
 * The coupon hash as the scripts keep it (issueCoupon-5.lua, redeemCoupon-3.lua,
 * reverseRedemption-3.lua): one-letter fields and nothing another key or the campaign already
 * holds. The code is in the key, the campaign in its hash tag; the value, the expiry and the
 * tranche day are the campaign's (its fingerprint guards them), the day read from issuedAt.
 * 120 million of these are kept until the coupons expire (docs/capacity.md).
 */
export const COUPON_FIELDS = {
  userId: 'u',
  issuedAt: 't',
  /** Only while redeemed: */
  orderId: 'o',
  discountFen: 'f',
  redeemedAt: 'a',
  /** x:<orderId> = reversedAt, for each order whose redemption was reversed. */
  reversedPrefix: 'x:',
} as const;

/** What a coupon hash holds, by name. */
export interface StoredCoupon {
  userId: string;
  issuedAt: number;
  redemption?: { orderId: string; discountFen: number; redeemedAt: number };
  /** orderId -> reversedAt */
  reversals: Record<string, number>;
}

/** A coupon hash from HGETALL (an object) or a script (field, value, ...). */
export function storedCouponOf(
  hash: Readonly<Record<string, string>> | readonly (string | number)[],
): StoredCoupon {
  const fields: Record<string, string> = {};
  if (Array.isArray(hash)) {
    for (let i = 0; i + 1 < hash.length; i += 2) fields[String(hash[i])] = String(hash[i + 1]);
  } else Object.assign(fields, hash);
  const stored: StoredCoupon = {
    userId: fields[COUPON_FIELDS.userId] ?? '',
    issuedAt: Number(fields[COUPON_FIELDS.issuedAt]),
    reversals: {},
  };
  const orderId = fields[COUPON_FIELDS.orderId];
  if (orderId !== undefined)
    stored.redemption = {
      orderId,
      discountFen: Number(fields[COUPON_FIELDS.discountFen]),
      redeemedAt: Number(fields[COUPON_FIELDS.redeemedAt]),
    };
  for (const [field, value] of Object.entries(fields))
    if (field.startsWith(COUPON_FIELDS.reversedPrefix))
      stored.reversals[field.slice(COUPON_FIELDS.reversedPrefix.length)] = Number(value);
  return stored;
}

/** The coupon as callers see it: the stored fields and what the campaign says of every coupon. */
export function ledgerCouponOf(
  calendar: CampaignCalendar,
  code: string,
  hash: Readonly<Record<string, string>> | readonly (string | number)[],
): LedgerCoupon {
  const stored = storedCouponOf(hash);
  const { campaign } = calendar;
  const coupon: LedgerCoupon = {
    code,
    campaignId: campaign.id,
    userId: stored.userId,
    valueFen: campaign.couponValueFen,
    issuedAt: stored.issuedAt,
    expiresAt: campaign.couponExpiresAt,
    trancheDay: calendar.dayAt(stored.issuedAt)?.day ?? '-',
    status: stored.redemption === undefined ? 'issued' : 'redeemed',
  };
  if (stored.redemption !== undefined) coupon.redemption = stored.redemption;
  return coupon;
}
