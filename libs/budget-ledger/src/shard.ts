import { hash } from 'node:crypto';

/**
 * The shard a user is pinned to: a stable hash of the userId, so the user's limits, idempotency
 * records and the shard's budget share one Redis Cluster slot. SHA-256 rather than a fast
 * non-cryptographic hash because a caller must not be able to aim many users at one shard.
 */
export function shardOfUser(userId: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be >= 1, got ${shards}`);
  const digest = hash('sha256', userId, 'buffer');
  // 48 bits keep the modulo bias below 2^-38 for any shard count up to 1024.
  return digest.readUIntBE(0, 6) % shards;
}
