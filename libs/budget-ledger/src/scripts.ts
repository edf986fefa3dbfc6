import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';

// The ledger's Lua scripts as node calls them: the registry (one entry per file), the name of
// every ARGV position, the checks before a call, and the codes the scripts answer.

/**
 * Every ledger script, under the name node calls it by: its Lua file, the command ioredis registers
 * it as, and how many of its arguments are keys. A rebuild batch names as many keys as it writes,
 * so its key count goes with each call ('per call').
 */
export const SCRIPT_FILES = {
  issueCoupon: { command: 'ledgerIssueCoupon', file: 'issueCoupon-5.lua', keys: 5 },
  redeemCoupon: { command: 'ledgerRedeemCoupon', file: 'redeemCoupon-3.lua', keys: 3 },
  reverseRedemption: {
    command: 'ledgerReverseRedemption',
    file: 'reverseRedemption-3.lua',
    keys: 3,
  },
  readCoupon: { command: 'ledgerReadCoupon', file: 'readCoupon-3.lua', keys: 3 },
  reserveOrder: { command: 'ledgerReserveOrder', file: 'reserveOrder-3.lua', keys: 3 },
  releaseOrder: { command: 'ledgerReleaseOrder', file: 'releaseOrder-3.lua', keys: 3 },
  init: { command: 'ledgerInit', file: 'initLedger-2.lua', keys: 2 },
  takeRelease: { command: 'ledgerTakeRelease', file: 'takeRelease-3.lua', keys: 3 },
  giveRelease: { command: 'ledgerGiveRelease', file: 'giveRelease-2.lua', keys: 2 },
  settleTransfer: { command: 'ledgerSettleTransfer', file: 'settleTransfer-3.lua', keys: 3 },
  writeOffShard: { command: 'ledgerWriteOffShard', file: 'writeOffShard-2.lua', keys: 2 },
  trimRecorded: { command: 'ledgerTrimRecorded', file: 'trimRecorded-2.lua', keys: 2 },
  checkRecorded: { command: 'ledgerCheckRecorded', file: 'checkRecorded-2.lua', keys: 2 },
  rebuildBegin: { command: 'ledgerRebuildBegin', file: 'rebuildBegin-2.lua', keys: 2 },
  rebuildRecords: {
    command: 'ledgerRebuildRecords',
    file: 'rebuildRecords.lua',
    keys: 'per call',
  },
  rebuildFinish: { command: 'ledgerRebuildFinish', file: 'rebuildFinish-3.lua', keys: 3 },
} as const;

type ScriptName = keyof typeof SCRIPT_FILES;

/** The .lua files sit in src/lua; from dist/src they are found beside the sources. */
function luaDir(): string {
  const candidates = [join(__dirname, 'lua'), join(__dirname, '..', '..', 'src', 'lua')];
  const found = candidates.find((dir) => existsSync(join(dir, SCRIPT_FILES.issueCoupon.file)));
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

type Keys<N> = N extends 2
  ? readonly [string, string]
  : N extends 3
    ? readonly [string, string, string]
    : N extends 5
      ? readonly [string, string, string, string, string]
      : readonly string[];

/** Typed wrappers, one per script; the ARGV lists are built by name (the lists below). */
export type LedgerScripts = {
  readonly [Name in ScriptName]: (
    keys: Keys<(typeof SCRIPT_FILES)[Name]['keys']>,
    argv: readonly string[],
  ) => Promise<ScriptReply>;
};

/** The three steps of a rebuild from the book of record (@coupons/ledger-record). */
export type RebuildScripts = Pick<
  LedgerScripts,
  'rebuildBegin' | 'rebuildRecords' | 'rebuildFinish'
>;

type Scripted = Record<string, (...args: (string | number)[]) => Promise<ScriptReply>>;

/**
 * Registers every script with defineCommand (EVALSHA, falling back to EVAL when a node does not
 * have it yet, on whichever cluster node owns the keys). Idempotent per client.
 */
export function registerLedgerScripts(redis: Redis | Cluster): LedgerScripts {
  const scripted = redis as unknown as Scripted;
  const wrappers: Record<string, (keys: readonly string[], argv: readonly string[]) => unknown> =
    {};
  for (const [name, { command, file, keys }] of Object.entries(SCRIPT_FILES)) {
    if (keys === 'per call') {
      if (!(command in redis)) redis.defineCommand(command, { lua: readLua(file) });
      wrappers[name] = (k, argv) => scripted[command]!(k.length, ...k, ...argv);
    } else {
      if (!(command in redis))
        redis.defineCommand(command, { numberOfKeys: keys, lua: readLua(file) });
      wrappers[name] = (k, argv) => scripted[command]!(...k, ...argv);
    }
  }
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

/** Every code the ledger scripts return; negative codes are refusals or faults. */
export enum LedgerCode {
  Ok = 1,
  Replayed = 2,
  NoChange = 3,
  LedgerMissing = -1,
  ConfigMismatch = -2,
  /** Redis time is outside the window the caller computed the cap and the day for. */
  OutsideWindow = -3,
  /** Redis time is behind what this caller saw of the shard (a failover to a slower clock). */
  RedisClockBehind = -4,
  NotStarted = -5,
  Ended = -6,
  TrancheExhausted = -7,
  PoolExhausted = -8,
  UserDailyLimit = -9,
  UserTotalLimit = -10,
  IdempotencyKeyReused = -11,
  CodeCollision = -12,
  CouponNotFound = -13,
  CouponExpired = -14,
  AlreadyRedeemed = -15,
  BelowMinimum = -16,
  RedemptionNotFound = -17,
  AlreadyInitialised = -18,
  InsufficientRelease = -19,
  /** The shard holds less than a caller saw: restored from an older state; refused until written off. */
  RolledBack = -20,
  /** A rebalancing transfer taken for a ledger generation the target no longer is. */
  StaleTransfer = -22,
  /** This order's redemption was reversed: it never redeems again. */
  OrderReversed = -23,
  NotRolledBack = -24,
  /** Rebuild from the record: the ledger changed since the caller compared it with the record. */
  LedgerChanged = -25,
  /** Rebuild from the record: the ledger is not closed for this rebuild (another took over). */
  NotThisRebuild = -26,
  /**
   * The ledger is fenced and this Redis process is not the one the recorder verified against the
   * book of record (it restarted, was restored or failed over since): refused until it is.
   */
  Unverified = -28,
  /** A script argument missing or not of its kind (includes/args.lua): nothing was written; a bug. */
  BadArgument = -40,
  /** A key not of the script's shard or form: nothing was written; a bug. */
  BadKey = -41,
  /** The order already carries couponsPerOrder other coupons of this campaign (reserveOrder-3.lua). */
  OrderAlreadyDiscounted = -42,
}

export type ScriptReply = (number | string)[];

export function codeOf(reply: ScriptReply): LedgerCode {
  const code = Number(reply[0]);
  if (!(code in LedgerCode))
    throw new Error(`ledger script returned an unknown code: ${String(reply[0])}`);
  return code as LedgerCode;
}

/**
 * A coupon as the ledger knows it: its hash in Redis (storedCoupon.ts) with what the campaign says
 * of every coupon. The book of record's copy in PostgreSQL is ledger-record's RecordedCoupon.
 */
export interface LedgerCoupon {
  code: string;
  campaignId: string;
  userId: string;
  valueFen: number;
  issuedAt: number;
  expiresAt: number;
  trancheDay: string;
  /** As stored; `expired` is computed at read time from expiresAt and Redis time. */
  status: 'issued' | 'redeemed';
  redemption?: { orderId: string; discountFen: number; redeemedAt: number };
}

export type IssueResult =
  | { kind: 'issued'; coupon: LedgerCoupon; replayed: boolean }
  | { kind: 'not_started'; startsAt: number }
  | { kind: 'ended' }
  | { kind: 'tranche_exhausted'; nextReleaseAt: number }
  | { kind: 'budget_exhausted' }
  | { kind: 'user_limit'; scope: 'daily'; retryAt: number | undefined }
  | { kind: 'user_limit'; scope: 'total' }
  | { kind: 'idempotency_key_reused' };

export interface Redemption {
  code: string;
  orderId: string;
  discountFen: number;
  redeemedAt: number;
}

export type RedeemResult =
  | { kind: 'redeemed'; redemption: Redemption; coupon: LedgerCoupon; replayed: boolean }
  | { kind: 'order_reversed'; reversedAt: number; coupon: LedgerCoupon }
  | { kind: 'not_found' }
  | { kind: 'expired'; coupon: LedgerCoupon }
  | { kind: 'already_redeemed' }
  | { kind: 'below_minimum'; minOrderFen: number }
  /** The order carries couponsPerOrder other coupons of this campaign already. */
  | { kind: 'order_already_discounted'; couponsPerOrder: number };

export type ReverseResult =
  | { kind: 'reversed'; coupon: LedgerCoupon; changed: boolean }
  | { kind: 'not_found' }
  | { kind: 'redemption_not_found' };

export type LedgerFaultReason =
  | 'ledger_missing'
  | 'config_mismatch'
  | 'clock'
  | 'code_collision'
  | 'rolled_back'
  | 'redis_settings'
  | 'replication'
  | 'unverified';

/**
 * A fault, not a result: the ledger cannot be trusted to answer (missing after a Redis loss, rolled
 * back to an older state, set up for other money settings, or on a Redis that may evict its keys).
 * Money fails closed: the caller answers 503.
 */
export class LedgerFault extends Error {
  constructor(
    readonly reason: LedgerFaultReason,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerFault';
  }
}
