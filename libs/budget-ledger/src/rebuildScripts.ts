import type { Cluster, Redis } from 'ioredis';
import { readLua, type ScriptReply } from './scripts';

/**
 * The three scripts that rebuild a shard from the book of record (@coupons/ledger-record): close
 * the shard, write its records in batches, open it as a new generation. They take a variable
 * number of keys (a batch names the keys it writes), so they are registered with the key count as
 * their first argument; every key is of one shard's slot.
 */
export const REBUILD_SCRIPT_FILES = {
  ledgerRebuildBegin: 'rebuildBegin-2.lua',
  ledgerRebuildRecords: 'rebuildRecords.lua',
  ledgerRebuildFinish: 'rebuildFinish-3.lua',
} as const;

export interface RebuildScripts {
  begin(
    keys: readonly [ledger: string, audit: string],
    argv: readonly string[],
  ): Promise<ScriptReply>;
  records(keys: readonly string[], argv: readonly string[]): Promise<ScriptReply>;
  finish(
    keys: readonly [ledger: string, audit: string, transit: string],
    argv: readonly string[],
  ): Promise<ScriptReply>;
}

type Scripted = Record<
  keyof typeof REBUILD_SCRIPT_FILES,
  (numberOfKeys: number, ...args: string[]) => Promise<ScriptReply>
>;

export function registerRebuildScripts(redis: Redis | Cluster): RebuildScripts {
  for (const [name, file] of Object.entries(REBUILD_SCRIPT_FILES)) {
    if (!(name in redis)) redis.defineCommand(name, { lua: readLua(file) });
  }
  const scripted = redis as unknown as Scripted;
  const call =
    (name: keyof typeof REBUILD_SCRIPT_FILES) =>
    (keys: readonly string[], argv: readonly string[]) =>
      scripted[name](keys.length, ...keys, ...argv);
  return {
    begin: call('ledgerRebuildBegin'),
    records: call('ledgerRebuildRecords'),
    finish: call('ledgerRebuildFinish'),
  };
}
