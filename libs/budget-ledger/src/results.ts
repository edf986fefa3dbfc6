/** Every code the ledger scripts return; negative codes are refusals or faults. */
export enum LedgerCode {
  Ok = 1,
  Replayed = 2,
  NoChange = 3,
  LedgerMissing = -1,
  ConfigMismatch = -2,
  /** Redis time is outside the window the caller computed the cap and the day for. */
  OutsideWindow = -3,
  /** Redis time is behind what this caller saw of the shard (a failover to a slower clock). */
  RedisClockBehind = -4,
  NotStarted = -5,
  Ended = -6,
  TrancheExhausted = -7,
  PoolExhausted = -8,
  UserDailyLimit = -9,
  UserTotalLimit = -10,
  IdempotencyKeyReused = -11,
  CodeCollision = -12,
  CouponNotFound = -13,
  CouponExpired = -14,
  AlreadyRedeemed = -15,
  BelowMinimum = -16,
  RedemptionNotFound = -17,
  AlreadyInitialised = -18,
  InsufficientRelease = -19,
  /** The shard holds less than a caller saw: restored from an older state; refused until written off. */
  RolledBack = -20,
  /** A rebalancing transfer taken for a ledger generation the target no longer is. */
  StaleTransfer = -22,
  /** This order's redemption was reversed: it never redeems again. */
  OrderReversed = -23,
  NotRolledBack = -24,
  /** Rebuild from the record: the ledger changed since the caller compared it with the record. */
  LedgerChanged = -25,
  /** Rebuild from the record: the ledger is not closed for this rebuild (another took over). */
  NotThisRebuild = -26,
  /**
   * The ledger is fenced and this Redis process is not the one the recorder verified against the
   * book of record (it restarted, was restored or failed over since): refused until it is.
   */
  Unverified = -28,
  /** A script argument missing or not of its kind (includes/args.lua): nothing was written; a bug. */
  BadArgument = -40,
  /** A key not of the script's shard or form: nothing was written; a bug. */
  BadKey = -41,
  /** The order already carries couponsPerOrder other coupons of this campaign (reserveOrder-3.lua). */
  OrderAlreadyDiscounted = -42,
}

export type ScriptReply = (number | string)[];

export function codeOf(reply: ScriptReply): LedgerCode {
  const code = Number(reply[0]);
  if (!(code in LedgerCode))
    throw new Error(`ledger script returned an unknown code: ${String(reply[0])}`);
  return code as LedgerCode;
}

/**
 * A coupon as the ledger knows it: its hash in Redis (storedCoupon.ts) with what the campaign says
 * of every coupon. The book of record's copy in PostgreSQL is ledger-record's RecordedCoupon.
 */
export interface LedgerCoupon {
  code: string;
  campaignId: string;
  userId: string;
  valueFen: number;
  issuedAt: number;
  expiresAt: number;
  trancheDay: string;
  /** As stored; `expired` is computed at read time from expiresAt and Redis time. */
  status: 'issued' | 'redeemed';
  redemption?: { orderId: string; discountFen: number; redeemedAt: number };
}

export type IssueResult =
  | { kind: 'issued'; coupon: LedgerCoupon; replayed: boolean }
  | { kind: 'not_started'; startsAt: number }
  | { kind: 'ended' }
  | { kind: 'tranche_exhausted'; nextReleaseAt: number }
  | { kind: 'budget_exhausted' }
  | { kind: 'user_limit'; scope: 'daily'; retryAt: number | undefined }
  | { kind: 'user_limit'; scope: 'total' }
  | { kind: 'idempotency_key_reused' };

export interface Redemption {
  code: string;
  orderId: string;
  discountFen: number;
  redeemedAt: number;
}

export type RedeemResult =
  | { kind: 'redeemed'; redemption: Redemption; coupon: LedgerCoupon; replayed: boolean }
  | { kind: 'order_reversed'; reversedAt: number; coupon: LedgerCoupon }
  | { kind: 'not_found' }
  | { kind: 'expired'; coupon: LedgerCoupon }
  | { kind: 'already_redeemed' }
  | { kind: 'below_minimum'; minOrderFen: number }
  /** The order carries couponsPerOrder other coupons of this campaign already. */
  | { kind: 'order_already_discounted'; couponsPerOrder: number };

export type ReverseResult =
  | { kind: 'reversed'; coupon: LedgerCoupon; changed: boolean }
  | { kind: 'not_found' }
  | { kind: 'redemption_not_found' };

export type LedgerFaultReason =
  | 'ledger_missing'
  | 'config_mismatch'
  | 'clock'
  | 'code_collision'
  | 'rolled_back'
  | 'redis_settings'
  | 'replication'
  | 'unverified';

/**
 * A fault, not a result: the ledger cannot be trusted to answer (missing after a Redis loss, rolled
 * back to an older state, set up for other money settings, or on a Redis that may evict its keys).
 * Money fails closed: the caller answers 503.
 */
export class LedgerFault extends Error {
  constructor(
    readonly reason: LedgerFaultReason,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerFault';
  }
}
