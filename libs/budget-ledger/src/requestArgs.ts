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
