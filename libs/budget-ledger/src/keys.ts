import { hash } from 'node:crypto';

/**
 * Every key of one shard shares the hash tag `{cpn:<campaignId>:<shard>}`, so every script call
 * touches one Redis Cluster slot. campaignId ([a-z0-9-]) and userId ([A-Za-z0-9._-]) cannot hold
 * braces, so no caller can move a key to another slot.
 */
export function shardTag(campaignId: string, shard: number): string {
  return `{cpn:${campaignId}:${shard}}`;
}

export interface ShardKeys {
  tag: string;
  /** HASH: fingerprint, shardPoolCoupons, issued, day:<YYYY-MM-DD>, redeemed, redeemedFen, adj... */
  ledger: string;
  /** STREAM: every state change of the shard (issued, redeemed, reversed, transfers, inits). */
  audit: string;
  /** SET: rebalancing transfers taken from this shard and not yet settled. */
  transit: string;
  /** HASH per user: total, d:<YYYY-MM-DD>. */
  user(userId: string): string;
  /** STRING: "<code>\n<bodyHash>" for a remembered successful claim. */
  idempotency(scopeHash: string): string;
  /** HASH: the coupon hash (storedCoupon.ts); the code is the key's, not a field. */
  coupon(code: string): string;
  /** HASH: the codes that discount an order whose orderId hashes to this shard (reserveOrder-3.lua). */
  order(orderId: string): string;
  userPattern: string;
  couponPattern: string;
  orderPattern: string;
  /** Every key of the shard. */
  allPattern: string;
}

export function shardKeys(campaignId: string, shard: number): ShardKeys {
  const tag = shardTag(campaignId, shard);
  return {
    tag,
    ledger: `${tag}:ledger`,
    audit: `${tag}:audit`,
    transit: `${tag}:transit`,
    // One letter per kind: 120 million coupons carry these names (docs/capacity.md).
    user: (userId) => `${tag}:u:${userId}`,
    idempotency: (scopeHash) => `${tag}:i:${scopeHash}`,
    coupon: (code) => `${tag}:c:${code}`,
    order: (orderId) => `${tag}:o:${orderId}`,
    userPattern: `${tag}:u:*`,
    couponPattern: `${tag}:c:*`,
    orderPattern: `${tag}:o:*`,
    allPattern: `${tag}*`,
  };
}

/**
 * The Idempotency-Key is scoped to (campaign, user); the campaign is in the tag. Not to the API
 * key that sent it: a retry through a rotated key must replay the same coupon.
 */
export function idempotencyScopeHash(userId: string, idempotencyKey: string): string {
  return hash('sha256', `${userId}\u0000${idempotencyKey}`, 'base64url');
}

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
