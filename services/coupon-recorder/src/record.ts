/**
 * What the recorder needs of the PostgreSQL record (@coupons/ledger-record's LedgerRecord has
 * this shape): one transaction per batch, replays no-ops; the last recorded position per shard;
 * the rolled-back mark. Declared here so the recorder's logic names only what it uses.
 */
export interface StreamEvent {
  campaignId: string;
  shard: number;
  streamId: string;
  fields: Record<string, string>;
}

export interface RecordedShardPosition {
  gen: string;
  streamId: string;
  events: number;
}

export interface EventRecord {
  record(events: readonly StreamEvent[]): Promise<{ recorded: number; duplicates: number }>;
  position(campaignId: string, shard: number): Promise<RecordedShardPosition | null>;
  markRolledBack(campaignId: string, shard: number, reason: string): Promise<void>;
}
