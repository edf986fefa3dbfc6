import { hash, randomBytes } from 'node:crypto';

// How everything finds its shard: the shard's keys (one hash tag, one Cluster slot), the shard a
// user is pinned to, the idempotency scope, and the coupon code, which carries its shard.

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

/** Crockford base32: no I, L, O, U, so a code read aloud or retyped is hard to get wrong. */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const BASE = 32;
const RANDOM_CHARS = 13; // 65 random bits
const SHARD_CHARS = 2; // shards < 1024
export const CODE_LENGTH = SHARD_CHARS + RANDOM_CHARS + 1;

const VALUE_OF = new Map<string, number>(
  [...CROCKFORD_ALPHABET].map((char, value) => [char, value]),
);
// Crockford decoding: O reads as 0, I and L as 1.
VALUE_OF.set('O', 0);
VALUE_OF.set('I', 1);
VALUE_OF.set('L', 1);

/**
 * Luhn mod 32 over the payload: catches every single-character error and every swap of two
 * neighbours but one, 0 and Z (values 0 and 31), which Luhn mod N cannot tell apart.
 */
function checkValue(values: readonly number[]): number {
  let sum = 0;
  let factor = 2;
  for (let i = values.length - 1; i >= 0; i -= 1) {
    const addend = factor * values[i]!;
    sum += Math.floor(addend / BASE) + (addend % BASE);
    factor = factor === 2 ? 1 : 2;
  }
  return (BASE - (sum % BASE)) % BASE;
}

/**
 * Random bytes from the CSPRNG, fetched a page at a time (as node's randomUUID does with its own
 * cache): one system call per 315 codes rather than one per code, which was 3% of a claim's CPU
 * in the bench's profile. Each byte is used once.
 */
const RANDOM_PAGE_BYTES = 4096;
let randomPage = Buffer.alloc(0);
let randomUsed = 0;

/** Where the next `count` unused random bytes start in randomPage (a new page when it runs out). */
function takeRandomBytes(count: number): number {
  if (randomUsed + count > randomPage.length) {
    randomPage = randomBytes(RANDOM_PAGE_BYTES);
    randomUsed = 0;
  }
  randomUsed += count;
  return randomUsed - count;
}

/** A new code for `shard`: shard (2 chars), 65 random bits from crypto (13 chars), check char. */
export function generateCouponCode(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= BASE ** SHARD_CHARS)
    throw new RangeError(`shard out of range: ${shard}`);
  const values = [Math.floor(shard / BASE), shard % BASE];
  // 256 is a multiple of 32, so masking a random byte keeps every symbol equally likely. Indexed,
  // not iterated: this runs on every claim, and a view and an iterator per code showed in profiles.
  const from = takeRandomBytes(RANDOM_CHARS);
  for (let i = from; i < from + RANDOM_CHARS; i += 1) values.push(randomPage[i]! & (BASE - 1));
  values.push(checkValue(values));
  let code = '';
  for (const value of values) code += CROCKFORD_ALPHABET[value];
  return code;
}

export type ParsedCode = { ok: true; code: string; shard: number } | { ok: false; problem: string };

/**
 * Reads a code as a person may type it: any case, hyphens or spaces anywhere, O for 0, I/L for 1.
 * A wrong check character is refused here, without a Redis call.
 */
export function parseCouponCode(input: string): ParsedCode {
  if (input.length > 64) return { ok: false, problem: 'too long' };
  const compact = input.toUpperCase().replace(/[-\s]/g, '');
  if (compact.length !== CODE_LENGTH)
    return { ok: false, problem: `must have ${CODE_LENGTH} characters` };
  const values: number[] = [];
  for (const char of compact) {
    const value = VALUE_OF.get(char);
    if (value === undefined) return { ok: false, problem: 'not a coupon code' };
    values.push(value);
  }
  const check = values.pop()!;
  if (checkValue(values) !== check) return { ok: false, problem: 'check character does not match' };
  values.push(check);
  return {
    ok: true,
    code: values.map((value) => CROCKFORD_ALPHABET[value]).join(''),
    shard: values[0]! * BASE + values[1]!,
  };
}

/** For people: groups of four. Both forms parse to the same code. */
export function formatCouponCode(code: string): string {
  return code.replace(/(.{4})(?=.)/g, '$1-');
}
