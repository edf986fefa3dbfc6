import type { Operation } from './outcomes';

/** Why a call was answered here without a request. */
export type LocalReason = 'throttle' | 'bulkhead' | 'sold_out';

/** What a failed attempt was retried for. */
export type RetryReason =
  'overloaded' | 'unavailable' | 'rate_limited' | 'request_timeout' | 'connection' | 'no_answer';

/**
 * An optional sink for the client's counts; every method is optional. One sink may serve many
 * clients. Methods are called synchronously on the call's path: keep them cheap, never throw.
 */
export interface ClientMetrics {
  /** A call ended with this outcome kind ('error' when it threw). */
  outcome?(op: Operation, kind: string): void;
  /** A request went out and got this: an HTTP status, or 'connection' / 'no_answer'. */
  attempt?(op: Operation, result: string): void;
  /** A call (or its retry) was answered here without a request. */
  localRejection?(op: Operation, reason: LocalReason): void;
  /** A retry is about to be sent after the wait. */
  retry?(op: Operation, reason: RetryReason): void;
  /** A retry was wanted and the retry budget had no token for it. */
  retryBudgetExhausted?(op: Operation): void;
}
