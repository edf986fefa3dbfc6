import {
  GIVE_ARGV,
  GUARD_ARGV,
  INIT_ARGV,
  ISSUE_ARGV,
  READ_ARGV,
  RESERVE_ORDER_ARGV,
  RELEASE_ORDER_ARGV,
  readLua,
  REDEEM_ARGV,
  REVERSE_ARGV,
  SCRIPT_FILES,
  SETTLE_ARGV,
  TAKE_ARGV,
  toArgv,
  WRITE_OFF_ARGV,
  TRIM_RECORDED_ARGV,
  CHECK_RECORDED_ARGV,
} from '../src';

/** Each script's ARGV by name; undefined where @coupons/ledger-record builds a variable tail. */
const ARGV_OF: Record<keyof typeof SCRIPT_FILES, readonly string[] | undefined> = {
  issueCoupon: ISSUE_ARGV,
  redeemCoupon: REDEEM_ARGV,
  reverseRedemption: REVERSE_ARGV,
  readCoupon: READ_ARGV,
  reserveOrder: RESERVE_ORDER_ARGV,
  releaseOrder: RELEASE_ORDER_ARGV,
  init: INIT_ARGV,
  takeRelease: TAKE_ARGV,
  giveRelease: GIVE_ARGV,
  settleTransfer: SETTLE_ARGV,
  writeOffShard: WRITE_OFF_ARGV,
  trimRecorded: TRIM_RECORDED_ARGV,
  checkRecorded: CHECK_RECORDED_ARGV,
  rebuildBegin: undefined,
  rebuildRecords: undefined,
  rebuildFinish: undefined,
};

/** "ARGV[3] name ..." lines of a script's header, and the guard's "ARGV[1..7]" line. */
function headerArgv(source: string): string[] {
  const header = source.slice(0, source.indexOf(']]'));
  const names: string[] = [];
  for (const line of header.split('\n')) {
    if (/^\s*ARGV\[1\.\.7\]/.test(line)) names.push(...GUARD_ARGV);
    const match = /^\s*ARGV\[(\d+)\]\s+(\w+)/.exec(line);
    if (match !== null) {
      expect(Number(match[1])).toBe(names.length + 1);
      names.push(match[2]!);
    }
  }
  return names;
}

describe('script arguments by name', () => {
  it.each(Object.entries(SCRIPT_FILES))(
    "%s: the TypeScript list names every ARGV of the Lua header, in order, and its KEYS are the registry's",
    (name, { file, keys: registered }) => {
      const source = readLua(file);
      const argv = ARGV_OF[name as keyof typeof SCRIPT_FILES];
      if (argv !== undefined) expect(headerArgv(source)).toEqual([...argv]);
      // Every KEYS[i] of the header, 1..keys, as many as registered, and no include left unexpanded.
      const keys = [...source.matchAll(/^\s*KEYS\[(\d+)\]/gm)].map((m) => Number(m[1]));
      expect(keys).toEqual(Array.from({ length: keys.length }, (_, i) => i + 1));
      if (registered !== 'per call') expect(keys).toHaveLength(registered);
      expect(source).not.toMatch(/^-- @include/m);
    },
  );

  it('writes integers exactly, even past 10^14, and refuses what is not an integer', () => {
    const argv = toArgv(['a', 'b', 'c', 'd'] as const, {
      a: 123_456_789_012_345,
      b: Number.MAX_SAFE_INTEGER,
      c: true,
      d: 'text',
    });
    expect(argv).toEqual(['123456789012345', '9007199254740991', '1', 'text']);
    expect(() => toArgv(['a'] as const, { a: 1.5 })).toThrow(RangeError);
    expect(() => toArgv(['a'] as const, { a: 2 ** 60 })).toThrow(RangeError);
  });
});
