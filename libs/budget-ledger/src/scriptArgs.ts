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
