import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { ScriptReply } from './results';

/** One entry per Lua file: the command name ioredis gets, and how many of its arguments are keys. */
export const SCRIPT_FILES = {
  ledgerIssueCoupon: { file: 'issueCoupon-5.lua', keys: 5 },
  ledgerRedeemCoupon: { file: 'redeemCoupon-3.lua', keys: 3 },
  ledgerReverseRedemption: { file: 'reverseRedemption-3.lua', keys: 3 },
  ledgerReadCoupon: { file: 'readCoupon-3.lua', keys: 3 },
  ledgerReserveOrder: { file: 'reserveOrder-3.lua', keys: 3 },
  ledgerReleaseOrder: { file: 'releaseOrder-3.lua', keys: 3 },
  ledgerInit: { file: 'initLedger-2.lua', keys: 2 },
  ledgerTakeRelease: { file: 'takeRelease-3.lua', keys: 3 },
  ledgerGiveRelease: { file: 'giveRelease-2.lua', keys: 2 },
  ledgerSettleTransfer: { file: 'settleTransfer-3.lua', keys: 3 },
  ledgerWriteOffShard: { file: 'writeOffShard-2.lua', keys: 2 },
  ledgerTrimRecorded: { file: 'trimRecorded-2.lua', keys: 2 },
  ledgerCheckRecorded: { file: 'checkRecorded-2.lua', keys: 2 },
} as const;

type ScriptName = keyof typeof SCRIPT_FILES;

/** The .lua files sit in src/lua; from dist/src they are found beside the sources. */
function luaDir(): string {
  const candidates = [join(__dirname, 'lua'), join(__dirname, '..', '..', 'src', 'lua')];
  const found = candidates.find((dir) =>
    existsSync(join(dir, SCRIPT_FILES.ledgerIssueCoupon.file)),
  );
  if (found === undefined)
    throw new Error(`ledger Lua scripts not found in ${candidates.join(' or ')}`);
  return found;
}

const INCLUDE = /^-- @include ([\w.-]+\.lua)$/gm;

/** A script's source with every `-- @include <file>` line replaced by lua/includes/<file>. */
export function readLua(file: string): string {
  const dir = luaDir();
  return readFileSync(join(dir, file), 'utf8').replace(INCLUDE, (_, included: string) =>
    readFileSync(join(dir, 'includes', included), 'utf8'),
  );
}

type Keys<N extends number> = N extends 2
  ? readonly [string, string]
  : N extends 3
    ? readonly [string, string, string]
    : readonly [string, string, string, string, string];

/** Typed wrappers, one per script; the ARGV lists are built by name (scriptArgs.ts). */
export type LedgerScripts = {
  readonly [
    Name in ScriptName as Name extends `ledger${infer Rest}` ? Uncapitalize<Rest> : never
  ]: (
    keys: Keys<(typeof SCRIPT_FILES)[Name]['keys']>,
    argv: readonly string[],
  ) => Promise<ScriptReply>;
};

type Scripted = Record<ScriptName, (...args: string[]) => Promise<ScriptReply>>;

/**
 * Registers every script with defineCommand (EVALSHA, falling back to EVAL when a node does not
 * have it yet, on whichever cluster node owns the keys). Idempotent per client.
 */
export function registerLedgerScripts(redis: Redis | Cluster): LedgerScripts {
  for (const [name, { file, keys }] of Object.entries(SCRIPT_FILES)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: keys, lua: readLua(file) });
  }
  const scripted = redis as unknown as Scripted;
  const wrappers = Object.fromEntries(
    (Object.keys(SCRIPT_FILES) as ScriptName[]).map((name) => [
      name.charAt(6).toLowerCase() + name.slice(7),
      (keys: readonly string[], argv: readonly string[]) => scripted[name](...keys, ...argv),
    ]),
  );
  return wrappers as unknown as LedgerScripts;
}
