import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  /** used_cpu_sys + used_cpu_user of the redis-server process, seconds */
  cpuSeconds: number;
  /** used_memory, bytes */
  memoryBytes: number;
}

export interface ScriptCalls {
  calls: number;
  usec: number;
}

/** INFO cpu now, and commandstats zeroed, so the next scriptCalls() covers one point. */
export async function redisBefore(redis: Redis): Promise<RedisSnapshot> {
  await redis.config('RESETSTAT');
  return snapshot(redis);
}

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const info = await redis.info();
  return { cpuSeconds: parseCpu(info), memoryBytes: field(info, 'used_memory') };
}

/** EVALSHA and EVAL calls since redisBefore (ioredis falls back to EVAL once per script). */
export async function scriptCalls(redis: Redis): Promise<ScriptCalls> {
  return parseScriptCalls(await redis.info('commandstats'));
}

function field(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
}

export function parseCpu(info: string): number {
  return field(info, 'used_cpu_sys') + field(info, 'used_cpu_user');
}

export function parseScriptCalls(info: string): ScriptCalls {
  let calls = 0;
  let usec = 0;
  for (const name of ['evalsha', 'eval']) {
    const match = new RegExp(`^cmdstat_${name}:calls=(\\d+),usec=(\\d+)`, 'm').exec(info);
    calls += Number(match?.[1] ?? 0);
    usec += Number(match?.[2] ?? 0);
  }
  return { calls, usec };
}
