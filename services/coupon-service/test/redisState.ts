import type { Redis } from 'ioredis';

/**
 * Every key of one Redis database as a comparable fingerprint: its type, a SHA-1 of its DUMP
 * (every byte of the value: hash fields, stream entries and last id, counters), its absolute
 * expiry (PEXPIRETIME, so a TTL ticking down is no change) and a readable size (stream length,
 * hash fields...). One server-side script call: cheap enough to take around every request.
 *
 * Meant for a database only one test file uses (see standaloneRedisDbUrl): then "every key" is
 * exactly what that file's service wrote, ledger and rate-limit keys alike.
 */
export interface KeyState {
  type: string;
  digest: string;
  /** Epoch ms; -1: no expiry. */
  expiresAtMs: number;
  /** XLEN, HLEN, SCARD, ZCARD, LLEN or STRLEN: for reading a difference, not for comparing. */
  size: number;
}

export interface RedisState {
  keys: Map<string, KeyState>;
  /** Date.now() when the snapshot was taken (a key whose expiry passed before may be gone). */
  takenAtMs: number;
}

const SNAPSHOT_SCRIPT = `
local out = {}
local sizeOf = { stream = 'XLEN', hash = 'HLEN', set = 'SCARD', zset = 'ZCARD', list = 'LLEN', string = 'STRLEN' }
for _, key in ipairs(redis.call('KEYS', '*')) do
  local kind = redis.call('TYPE', key)['ok']
  local dumped = redis.call('DUMP', key)
  if dumped then
    local size = sizeOf[kind] and redis.call(sizeOf[kind], key) or 0
    out[#out + 1] = key
    out[#out + 1] = kind
    out[#out + 1] = redis.sha1hex(dumped)
    out[#out + 1] = redis.call('PEXPIRETIME', key)
    out[#out + 1] = size
  end
end
return out
`;

export async function redisState(redis: Redis): Promise<RedisState> {
  const flat = (await redis.eval(SNAPSHOT_SCRIPT, 0)) as (string | number)[];
  const keys = new Map<string, KeyState>();
  for (let i = 0; i < flat.length; i += 5) {
    keys.set(String(flat[i]), {
      type: String(flat[i + 1]),
      digest: String(flat[i + 2]),
      expiresAtMs: Number(flat[i + 3]),
      size: Number(flat[i + 4]),
    });
  }
  return { keys, takenAtMs: Date.now() };
}

const show = (key: string, state: KeyState) =>
  `${key} (${state.type} ${state.digest.slice(0, 8)}, size ${state.size}, ${state.expiresAtMs < 0 ? 'no expiry' : `expires ${state.expiresAtMs}`})`;

/**
 * What changed between two snapshots, one line per key, minus what `allowed` accepts. A key that
 * vanished because its own expiry time had passed is no change (nothing did it).
 */
export function stateChanges(
  before: RedisState,
  after: RedisState,
  allowed: (key: string) => boolean = () => false,
): string[] {
  const changes: string[] = [];
  for (const [key, was] of before.keys) {
    if (allowed(key)) continue;
    const now = after.keys.get(key);
    if (now === undefined) {
      const expired = was.expiresAtMs >= 0 && was.expiresAtMs <= after.takenAtMs + 5;
      if (!expired) changes.push(`removed ${show(key, was)}`);
    } else if (
      now.type !== was.type ||
      now.digest !== was.digest ||
      now.expiresAtMs !== was.expiresAtMs
    ) {
      changes.push(`changed ${show(key, was)} -> ${show(key, now)}`);
    }
  }
  for (const [key, now] of after.keys)
    if (!before.keys.has(key) && !allowed(key)) changes.push(`added ${show(key, now)}`);
  return changes.sort();
}
