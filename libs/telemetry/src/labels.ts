/**
 * The values the service's metric labels may take: fixed lists, so no caller can mint a series,
 * and the one vocabulary the alert rules and the dashboard are generated from. The service
 * pre-initialises every counter series of these lists at start, so a query over something that has
 * not happened yet answers 0, not "no data".
 */

/** How a claim ended: the ledger's answer, or a fault (unavailable), a deadline, a bug (error). */
export const CLAIM_OUTCOMES = [
  'issued',
  'replayed',
  'not_started',
  'ended',
  'tranche_exhausted',
  'budget_exhausted',
  'user_limit_daily',
  'user_limit_total',
  'idempotency_key_reused',
  'unavailable',
  'deadline',
  'error',
] as const;
export type ClaimOutcomeLabel = (typeof CLAIM_OUTCOMES)[number];

/** How a redemption or a reversal ended (one counter for both: they move the same coupons). */
export const REDEMPTION_OUTCOMES = [
  'redeemed',
  'replayed',
  'order_reversed',
  'not_found',
  'expired',
  'already_redeemed',
  'below_minimum',
  'order_already_discounted',
  'reversed',
  'reversal_replayed',
  'redemption_not_found',
  'unavailable',
  'deadline',
  'error',
] as const;
export type RedemptionOutcomeLabel = (typeof REDEMPTION_OUTCOMES)[number];

/** Why the ledger of a campaign cannot be trusted (every one answers 503 and pages). */
export const LEDGER_FAULT_REASONS = [
  'ledger_missing',
  'config_mismatch',
  'clock',
  'code_collision',
  'rolled_back',
  'redis_settings',
  'replication',
  'unverified',
] as const;

/** The ledger operations timed and counted against Redis. */
export const LEDGER_COMMANDS = ['issue', 'redeem', 'reverse', 'read', 'budget'] as const;
export type LedgerCommand = (typeof LEDGER_COMMANDS)[number];

/** Why the front door answered a request itself, before admission (no key, 404, 405, 400...). */
export const REFUSAL_REASONS = [
  'target',
  'unauthenticated',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'bad_request',
  /** A body refused before admission: too slow (408), not JSON, too large, malformed, or too many at once. */
  'body',
  /** A public route (probes, the OpenAPI document) asked more often than PUBLIC_RATE. */
  'rate_limited',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** How one recorder batch ended: committed to PostgreSQL and acknowledged, or not at all. */
export const RECORDER_BATCH_OUTCOMES = ['ok', 'failed'] as const;
export type RecorderBatchOutcome = (typeof RECORDER_BATCH_OUTCOMES)[number];
