import type { Budget, Campaign, Coupon, Redemption } from './wire';

/**
 * What a call can end in, as data: everything the caller is expected to handle is a member of a
 * discriminated union on `kind`. Faults the caller cannot act on are thrown (CouponClientError).
 */

/** The service (or this client, `source` says which) has no room now; come back in N seconds. */
export interface Overloaded {
  kind: 'overloaded';
  retryAfterSeconds: number;
  /** service: it shed the request; throttle / bulkhead: refused here without a request. */
  source: 'service' | 'throttle' | 'bulkhead';
}

/** This user (or key) sends too fast; come back in N seconds. */
export interface RateLimited {
  kind: 'rate_limited';
  retryAfterSeconds: number;
}

/** No usable answer: the service is unavailable (Redis trouble, draining) or could not be reached. */
export interface Unavailable {
  kind: 'unavailable';
  retryAfterSeconds: number;
  /**
   * service: it answered 503 UNAVAILABLE, 408, or a gateway's 502/503/504; connection: no
   * connection, nothing was sent; no_answer: the request went out and no answer came (a reset,
   * the deadline).
   */
  cause: 'service' | 'connection' | 'no_answer';
}

export type Transient = Overloaded | RateLimited | Unavailable;

export const TRANSIENT_KINDS = ['overloaded', 'rate_limited', 'unavailable'] as const;

export function isTransient(outcome: { kind: string }): outcome is Transient {
  return (TRANSIENT_KINDS as readonly string[]).includes(outcome.kind);
}

/** What every outcome says about how it came about. */
export interface CallInfo {
  /** Requests sent (0: answered here, without a request). */
  attempts: number;
  /**
   * An attempt may have been carried out though no answer said so (its answer was lost, or a
   * ledger call timed out after it may have run). Asking again with the same Idempotency-Key
   * (claims) or orderId (redemptions) answers what was done: never a second coupon or discount.
   */
  maybeDone: boolean;
}

// ---- claims ----

export type ClaimResult =
  | { kind: 'issued'; coupon: Coupon }
  /** The same claim (Idempotency-Key) was served before: its coupon, as it is now. */
  | { kind: 'replayed'; coupon: Coupon }
  /** Today's released budget is gone; more at nextReleaseAt. `local`: answered from memory. */
  | { kind: 'sold_out'; nextReleaseAt: string; retryAfterSeconds: number; local: boolean }
  /** The user has today's coupons; retryAt is the next day's start (null on the last day). */
  | { kind: 'user_limit'; limit: 'daily'; retryAt: string | null; retryAfterSeconds: number | null }
  /** The user has every coupon the campaign allows: final. */
  | { kind: 'user_limit'; limit: 'total' }
  | { kind: 'not_started'; startsAt: string; retryAfterSeconds: number; local: boolean }
  | { kind: 'ended'; local: boolean }
  /** The campaign's whole budget is given out and nothing more will be released: final. */
  | { kind: 'budget_exhausted'; local: boolean }
  | Transient;

export type ClaimOutcome = ClaimResult &
  CallInfo & {
    /** The key this claim was sent with (every retry reused it); ask again with it after a loss. */
    idempotencyKey: string;
  };

// ---- redemptions and reversals ----

export type RedeemResult =
  | { kind: 'redeemed'; redemption: Redemption; coupon: Coupon }
  /** This orderId redeemed the coupon before: the same redemption. */
  | { kind: 'replayed'; redemption: Redemption; coupon: Coupon }
  | { kind: 'already_redeemed' }
  /** This order's redemption was reversed (the order was cancelled): it never redeems again. */
  | { kind: 'order_reversed'; reversedAt: string | null }
  /** The order carries as many of the campaign's coupons as one order may (couponsPerOrder). */
  | { kind: 'order_already_discounted'; couponsPerOrder: number | null }
  | { kind: 'expired'; expiresAt: string | null }
  | { kind: 'below_minimum'; minOrderFen: number | null }
  /** No such coupon for this user (or a mistyped code). */
  | { kind: 'not_found' }
  | Transient;

export type RedeemOutcome = RedeemResult & CallInfo;

export type ReverseResult =
  /** The coupon is usable again. */
  | { kind: 'reversed'; coupon: Coupon }
  /** Reversed before: the same answer. */
  | { kind: 'replayed'; coupon: Coupon }
  /** No such coupon for this user, or this order never redeemed it. */
  | { kind: 'not_found' }
  | Transient;

export type ReverseOutcome = ReverseResult & CallInfo;

// ---- reads ----

export type CouponResult = { kind: 'found'; coupon: Coupon } | { kind: 'not_found' } | Transient;
export type CouponOutcome = CouponResult & CallInfo;

export type CampaignResult = { kind: 'ok'; campaign: Campaign } | Transient;
export type CampaignOutcome = CampaignResult & CallInfo;

export type BudgetResult = { kind: 'ok'; budget: Budget } | Transient;
export type BudgetOutcome = BudgetResult & CallInfo;

export type Operation = 'claim' | 'coupon' | 'redeem' | 'reverse' | 'campaign' | 'budget';
export const OPERATIONS: readonly Operation[] = [
  'claim',
  'coupon',
  'redeem',
  'reverse',
  'campaign',
  'budget',
];
