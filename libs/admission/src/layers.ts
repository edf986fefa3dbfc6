import type { Permit } from './saturation';
import type { Priority } from './request';
import type { LimitVerdict } from './requestLimiter';
import type { SoldOutEntry } from './soldOutCache';

/** The layers, each replaceable (tests inject spies); the real ones are in this package. */
export interface EventLoopCheck {
  admits(priority: Priority): boolean;
  readonly activeSeconds: number;
  readonly utilization: number;
}
export interface RateCheck {
  tryTake(now: number, keep?: number): boolean;
  use(now: number, keep?: number): number;
  readonly options: { burst: number };
}
export interface ConcurrencyCheck {
  /** `budgetMs`: how long the request may wait past the limit (see ConcurrencyLimit). */
  tryAcquire(priority: Priority, budgetMs?: number): Permit | undefined;
  readonly limit: number;
  /** Slots claims (and `other`) may hold: a share of the limit. */
  readonly claimLimit: number;
  readonly inflight: number;
  readonly inflightByPriority: Readonly<Record<Priority, number>>;
  readonly medianLatencyMs: number;
  readonly options: { claimShare: number };
  /** Claims (and `other`) served to the end, cumulative (optional). */
  readonly bulkCompleted?: number;
}
export interface LimitCheck {
  /** Synchronous: ms the id stays refused without asking the store (0 = not blocked). */
  blockedMs(id: string, now: number): number;
  /** Synchronous: admit this request without `consume` (an id's first in the window); optional. */
  freePass?(id: string, now: number): boolean;
  consume(id: string, now: number): Promise<LimitVerdict>;
}
export interface SoldOutCheck {
  lookup(campaignId: string, shard: number, now: number): SoldOutEntry | undefined;
}
