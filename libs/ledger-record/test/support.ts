import type { Cluster, Redis } from 'ioredis';
import { BudgetLedger, keysOfShard, RedisTimeClock, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import { liveCampaign, uniqueId, type LiveCampaignOptions } from '@coupons/testing';
import { readAuditEvents, type LedgerRecord } from '../src';

/**
 * A campaign open since an hour ago on Redis's own clock (keep-until ahead, so idempotency keys
 * are rebuilt), one release a day so no slice passes mid-test, initialised.
 */
export async function liveLedger(redis: Redis | Cluster, options: LiveCampaignOptions = {}) {
  const [campaign] = parseCampaigns({
    campaigns: [liveCampaign(uniqueId('rec'), { shards: 2, slicesPerDay: 1, ...options })],
  });
  const calendar = new CampaignCalendar(campaign!);
  const clock = new RedisTimeClock(redis);
  await clock.sync();
  const ledger = new BudgetLedger(redis, calendar, clock);
  await ledger.init({ neverIssued: true });
  return { calendar, clock, ledger };
}

/** What the recorder does: every event of every shard not recorded yet, into the record. */
export async function recordAll(
  redis: Redis | Cluster,
  record: LedgerRecord,
  calendar: CampaignCalendar,
): Promise<void> {
  const { campaign } = calendar;
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    const position = await record.position(campaign.id, shard);
    const events = await readAuditEvents(redis, campaign.id, shard, position?.streamId);
    if (events.length > 0) await record.record(events);
  }
}

/** Every key of one shard (one slot, so also on a cluster). */
export async function shardKeysInRedis(
  redis: Redis | Cluster,
  campaignId: string,
  shard: number,
): Promise<string[]> {
  const keys = shardKeys(campaignId, shard);
  return keysOfShard(redis, keys.tag, keys.allPattern);
}

/** The loss of one shard: every key of it deleted. */
export async function loseShard(
  redis: Redis | Cluster,
  campaignId: string,
  shard: number,
): Promise<void> {
  for (const key of await shardKeysInRedis(redis, campaignId, shard)) await redis.del(key);
}

/** A backup of one shard (DUMP of every key) and its restore over whatever is there now. */
export async function backupShard(redis: Redis | Cluster, campaignId: string, shard: number) {
  const dumps: [string, Buffer, number][] = [];
  for (const key of await shardKeysInRedis(redis, campaignId, shard)) {
    const dump = await redis.dumpBuffer(key);
    const ttl = await redis.pttl(key);
    if (dump !== null) dumps.push([key, dump, ttl > 0 ? ttl : 0]);
  }
  return async () => {
    await loseShard(redis, campaignId, shard);
    for (const [key, dump, ttl] of dumps) await redis.restore(key, ttl, dump);
  };
}

let claims = 0;
export function claim(userId: string, idempotencyKey = `key-${(claims += 1)}`) {
  return { userId, idempotencyKey, bodyHash: `{"userId":"${userId}"}` };
}
