import type { ServerResponse } from 'node:http';
import { formatCouponCode, type LedgerCoupon, type Redemption } from '@coupons/budget-ledger';
import { toZonedIso, type CampaignCalendar } from '@coupons/campaign';

export type CouponStatus = 'issued' | 'redeemed' | 'expired';

/** A coupon as the contract shows it; `expired` is worked out here, from Redis-tracked `now`. */
export function couponView(record: LedgerCoupon, calendar: CampaignCalendar, now: number) {
  const { campaign } = calendar;
  const status: CouponStatus =
    record.status === 'redeemed' ? 'redeemed' : now > record.expiresAt ? 'expired' : 'issued';
  return {
    code: formatCouponCode(record.code),
    campaignId: campaign.id,
    userId: record.userId,
    valueFen: record.valueFen,
    currency: campaign.currency,
    status,
    issuedAt: toZonedIso(record.issuedAt, campaign.timeZone),
    expiresAt: toZonedIso(record.expiresAt, campaign.timeZone),
    trancheDay: record.trancheDay,
  };
}

export function redemptionView(redemption: Redemption, calendar: CampaignCalendar) {
  return {
    code: formatCouponCode(redemption.code),
    orderId: redemption.orderId,
    discountFen: redemption.discountFen,
    redeemedAt: toZonedIso(redemption.redeemedAt, calendar.campaign.timeZone),
  };
}

/**
 * Writes a JSON answer as express's res.json would (same Content-Type and Content-Length), in
 * one writeHead and one end: the claim's hot path skips express's send (etag, type lookups).
 */
export function sendJson(res: ServerResponse, status: number, json: string): void {
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
    })
    .end(json);
}
