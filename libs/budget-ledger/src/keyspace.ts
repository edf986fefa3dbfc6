import { Cluster, type Redis } from 'ioredis';

/**
 * Keys of one shard matching `pattern` (which starts with the shard's tag and ends with `*`):
 * SCAN on a single node; on a cluster, the keys of the tag's slot on its master. Stops after
 * `limit` keys.
 */
export async function keysOfShard(
  redis: Redis | Cluster,
  tag: string,
  pattern: string,
  limit = Infinity,
): Promise<string[]> {
  const prefix = pattern.slice(0, -1);
  if (!(redis instanceof Cluster)) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0' && keys.length < limit);
    return keys.slice(0, limit);
  }
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', tag));
  const keys = new Set<string>();
  for (const node of redis.nodes('master')) {
    const count = Number(await node.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
    if (count === 0) continue;
    const inSlot = (await node.call('CLUSTER', 'GETKEYSINSLOT', slot, count)) as string[];
    for (const key of inSlot) if (key.startsWith(prefix)) keys.add(key);
  }
  return [...keys].slice(0, limit);
}
