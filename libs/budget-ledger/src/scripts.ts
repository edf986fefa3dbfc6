import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { ScriptReply } from './results';

/** One entry per Lua file: the command name ioredis gets, and how many of its arguments are keys. */
const SCRIPT_FILES = {
  ledgerIssueCoupon: { file: 'issueCoupon-5.lua', keys: 5 },
  ledgerRedeemCoupon: { file: 'redeemCoupon-3.lua', keys: 3 },
  ledgerReverseRedemption: { file: 'reverseRedemption-3.lua', keys: 3 },
  ledgerInit: { file: 'initLedger-2.lua', keys: 2 },
  ledgerTakeRelease: { file: 'takeRelease-2.lua', keys: 2 },
  ledgerGiveRelease: { file: 'giveRelease-2.lua', keys: 2 },
} as const;

type ScriptName = keyof typeof SCRIPT_FILES;
type Arg = string | number;

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

export function readLua(file: string): string {
  return readFileSync(join(luaDir(), file), 'utf8');
}

/** Typed wrappers, one per script; arguments are documented in each .lua header. */
export interface LedgerScripts {
  issueCoupon(
    keys: readonly [string, string, string, string, string],
    args: readonly Arg[],
  ): Promise<ScriptReply>;
  redeemCoupon(keys: readonly [string, string, string], args: readonly Arg[]): Promise<ScriptReply>;
  reverseRedemption(
    keys: readonly [string, string, string],
    args: readonly Arg[],
  ): Promise<ScriptReply>;
  initLedger(keys: readonly [string, string], args: readonly Arg[]): Promise<ScriptReply>;
  takeRelease(keys: readonly [string, string], args: readonly Arg[]): Promise<ScriptReply>;
  giveRelease(keys: readonly [string, string], args: readonly Arg[]): Promise<ScriptReply>;
}

type Scripted = Record<ScriptName, (...args: Arg[]) => Promise<ScriptReply>>;

/**
 * Registers every script with defineCommand (EVALSHA, falling back to EVAL when a node does not
 * have it yet, on whichever cluster node owns the keys). Idempotent per client.
 */
export function registerLedgerScripts(redis: Redis | Cluster): LedgerScripts {
  for (const [name, { file, keys }] of Object.entries(SCRIPT_FILES)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: keys, lua: readLua(file) });
  }
  const scripted = redis as unknown as Scripted;
  const call = (name: ScriptName, keys: readonly string[], args: readonly Arg[]) =>
    scripted[name](...keys, ...args.map(String));
  return {
    issueCoupon: (keys, args) => call('ledgerIssueCoupon', keys, args),
    redeemCoupon: (keys, args) => call('ledgerRedeemCoupon', keys, args),
    reverseRedemption: (keys, args) => call('ledgerReverseRedemption', keys, args),
    initLedger: (keys, args) => call('ledgerInit', keys, args),
    takeRelease: (keys, args) => call('ledgerTakeRelease', keys, args),
    giveRelease: (keys, args) => call('ledgerGiveRelease', keys, args),
  };
}
