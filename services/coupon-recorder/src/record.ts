import type { StreamEvent } from '@coupons/ledger-record';

export type { StreamEvent } from '@coupons/ledger-record';

/**
 * What the recorder needs of the PostgreSQL record (@coupons/ledger-record's LedgerRecord):
 * one transaction per batch, replays no-ops; the last recorded position per shard; the
 * rolled-back mark. Named here so the recorder's logic depends on only what it uses.
 */
export interface RecordedShardPosition {
  gen: string;
  streamId: string;
  /** The highest sequence number recorded (the ledger's events as of streamId). */
  events: number;
}

export interface EventRecord {
  record(events: readonly StreamEvent[]): Promise<{ recorded: number; duplicates: number }>;
  position(campaignId: string, shard: number): Promise<RecordedShardPosition | null>;
  /** `markedAtMs`: Redis time of the mark; a rebuild that cleared the shard later wins. */
  markRolledBack(
    campaignId: string,
    shard: number,
    reason: string,
    markedAtMs: number,
  ): Promise<void>;
}
