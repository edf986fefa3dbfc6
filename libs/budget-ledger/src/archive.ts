/**
 * Where coupon records live once they have expired from Redis: the book of record (PostgreSQL,
 * @coupons/ledger-record). The ledger asks it only when a coupon script finds no record, puts
 * the record back (restoreCoupon-3.lua) and asks Redis again, so every answer is still the
 * shard's own script's. budget-ledger knows only this interface, never PostgreSQL.
 */
export interface CouponArchive {
  /** The coupon's record as its scripts wrote it, or undefined when the archive never had it. */
  find(campaignId: string, code: string): Promise<ArchivedCoupon | undefined>;
}

export interface ArchivedCoupon {
  /** The coupon hash: field, value, field, value... (issueCoupon-5, redeemCoupon-3 and reverseRedemption-3's fields). */
  readonly fields: readonly string[];
  /** When the record expires in Redis (epoch ms), or null for never. */
  readonly keepUntilMs: number | null;
}
