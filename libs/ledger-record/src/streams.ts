import type { Cluster, Redis } from 'ioredis';
import { shardKeys } from '@coupons/budget-ledger';
import type { StreamEvent } from './events';

/**
 * The events of one shard's audit stream after `afterId` (all when absent), oldest first, as
 * StreamEvents: what the recorder hands to LedgerRecord.record, and what reconcile compares
 * with the record. Read 5000 at a time.
 */
export async function readAuditEvents(
  redis: Redis | Cluster,
  campaignId: string,
  shard: number,
  afterId?: string,
): Promise<StreamEvent[]> {
  const key = shardKeys(campaignId, shard).audit;
  const events: StreamEvent[] = [];
  let start = afterId === undefined ? '-' : `(${afterId}`;
  for (;;) {
    const batch = await redis.xrange(key, start, '+', 'COUNT', 5000);
    for (const [streamId, flat] of batch) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      events.push({ campaignId, shard, streamId, fields });
    }
    if (batch.length < 5000) return events;
    start = `(${batch[batch.length - 1]![0]}`;
  }
}
