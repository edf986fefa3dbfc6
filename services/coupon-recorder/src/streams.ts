import type { Cluster, Redis } from 'ioredis';
import type { CampaignConfig } from '@coupons/campaign';
import type { StreamEvent } from './record';

/** One shard of one campaign: one audit stream, one ledger. */
export interface ShardRef {
  readonly campaignId: string;
  readonly shard: number;
}

/** Every shard of every campaign in the campaigns file, the set the service writes to. */
export function shardsOf(campaigns: readonly CampaignConfig[]): ShardRef[] {
  return campaigns.flatMap((campaign) =>
    Array.from({ length: campaign.shards }, (_, shard) => ({ campaignId: campaign.id, shard })),
  );
}

/** An entry as XREADGROUP and XAUTOCLAIM return it: [id, [field, value, ...]]. */
export type RawEntry = [string, string[]];

export function toStreamEvent(ref: ShardRef, [streamId, flat]: RawEntry): StreamEvent {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return { campaignId: ref.campaignId, shard: ref.shard, streamId, fields };
}

/**
 * XREADGROUP's reply for one stream: null when nothing, else [[key, entries]]. An entry whose
 * body is null was deleted from the stream while pending (XREADGROUP with id 0 shows it so).
 */
function entriesOfRead(reply: unknown): { live: RawEntry[]; deleted: string[] } {
  const live: RawEntry[] = [];
  const deleted: string[] = [];
  if (!Array.isArray(reply)) return { live, deleted };
  for (const [, entries] of reply as [string, [string, string[] | null][]][]) {
    for (const [id, body] of entries) {
      if (body === null) deleted.push(id);
      else live.push([id, body]);
    }
  }
  return { live, deleted };
}

/** One XREADGROUP of the consumer on one stream: from '0' (its own pending) or '>' (new). */
export async function readGroup(
  redis: Redis | Cluster,
  audit: string,
  group: string,
  consumer: string,
  count: number,
  from: '0' | '>',
): Promise<{ live: RawEntry[]; deleted: string[] }> {
  return entriesOfRead(
    await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', audit, from),
  );
}
