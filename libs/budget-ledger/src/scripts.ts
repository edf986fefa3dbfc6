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

/**
 * The ledger scripts take their arguments by position (ARGV[i]); these lists name every position,
 * in the order of each script's header, so an argument is given by name and cannot move silently
 * (test/scriptArgs.test.ts reads the headers and compares).
 */

/** First in every script that reads or moves money: lua/includes/guard.lua. */
export const GUARD_ARGV = [
  'trustCallerTime',
  'callerNowMs',
  'fingerprint',
  'markGen',
  'markEvents',
  'markEventId',
  'notBeforeMs',
] as const;

export const ISSUE_ARGV = [
  ...GUARD_ARGV,
  'windowFromMs',
  'windowUntilMs',
  'capCoupons',
  'capScope',
  'day',
  'dailyLimit',
  'totalLimit',
  'valueFen',
  'expiresAtMs',
  'bodyHash',
  'keepUntilMs',
] as const;

export const REDEEM_ARGV = [
  ...GUARD_ARGV,
  'userId',
  'orderId',
  'orderAmountFen',
  'minOrderFen',
  'valueFen',
  'expiresAtMs',
] as const;
export const REVERSE_ARGV = [...GUARD_ARGV, 'userId', 'orderId'] as const;
export const READ_ARGV = [...GUARD_ARGV, 'userId'] as const;
export const RESERVE_ORDER_ARGV = [
  ...GUARD_ARGV,
  'code',
  'couponsPerOrder',
  'keepUntilMs',
] as const;
export const RELEASE_ORDER_ARGV = [...GUARD_ARGV, 'code', 'why'] as const;

export const INIT_ARGV = [
  'fingerprint',
  'shardPoolCoupons',
  'writtenOff',
  'campaignId',
  'shard',
  'day',
  'dayWrittenOff',
  'fenced',
  'money',
] as const;

export const TAKE_ARGV = [
  ...GUARD_ARGV,
  'transferId',
  'coupons',
  'capCoupons',
  'scope',
  'day',
  'windowFromMs',
  'windowUntilMs',
  'target',
  'targetGen',
] as const;

export const GIVE_ARGV = [
  ...GUARD_ARGV,
  'transferId',
  'coupons',
  'field',
  'source',
  'sourceGen',
  'targetGen',
] as const;

export const SETTLE_ARGV = ['transferId', 'outcome'] as const;

export const WRITE_OFF_ARGV = [
  'capCoupons',
  'scope',
  'day',
  'windowFromMs',
  'windowUntilMs',
] as const;

/** lua/trimRecorded-2.lua (the recorder's trim). */
export const TRIM_RECORDED_ARGV = ['group', 'upTo'] as const;

/** lua/checkRecorded-2.lua (the recorder's verification, and the fence). */
export const CHECK_RECORDED_ARGV = [
  'knownRunId',
  'recordedGen',
  'recordedId',
  'recordedEvents',
] as const;

export type ArgValue = string | number | boolean;
export type NamedArgs<Names extends readonly string[]> = Readonly<Record<Names[number], ArgValue>>;

/**
 * The ARGV list for `names`: integers as exact decimal text (no exponent), booleans as "1"/"0".
 * A number that is not a safe integer is a bug in the caller, never rounded here.
 */
export function toArgv<Names extends readonly string[]>(
  names: Names,
  args: NamedArgs<Names>,
): string[] {
  return names.map((name: Names[number]) => {
    const value: ArgValue = args[name];
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value))
        throw new RangeError(`ledger script argument ${name} is not an integer: ${value}`);
      return String(value);
    }
    return value;
  });
}

/**
 * What the ledger refuses before it calls a script: the scripts check every argument themselves
 * (lua/includes/args.lua) and write nothing when one is wrong, but a wrong one is a caller's bug,
 * told here by name rather than as a script's {-40, i}.
 */

const ID = /^[A-Za-z0-9._-]{1,128}$/;
const CODE = /^[0-9A-Z]{1,64}$/;

export interface RequestArgs {
  userId?: string;
  orderId?: string;
  code?: string;
  bodyHash?: string;
  orderAmountFen?: number;
}

export function assertRequestArgs(args: RequestArgs): void {
  const problems: string[] = [];
  const check = (name: keyof RequestArgs, ok: boolean) => {
    if (!ok) problems.push(`${name} ${JSON.stringify(args[name])}`);
  };
  if (args.userId !== undefined) check('userId', ID.test(args.userId));
  if (args.orderId !== undefined) check('orderId', ID.test(args.orderId));
  if (args.code !== undefined) check('code', CODE.test(args.code));
  if (args.bodyHash !== undefined)
    check('bodyHash', args.bodyHash.length >= 1 && args.bodyHash.length <= 256);
  if (args.orderAmountFen !== undefined)
    check('orderAmountFen', Number.isSafeInteger(args.orderAmountFen) && args.orderAmountFen >= 0);
  if (problems.length > 0)
    throw new RangeError(`ledger request refused before any script: ${problems.join(', ')}`);
}
