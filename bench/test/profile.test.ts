import { categoryOf, summariseProfile, type CpuProfile } from '../src/profile';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

describe('categoryOf', () => {
  it('names packages, workspaces, node core and V8 buckets', () => {
    expect(categoryOf('parse', 'file:///w/node_modules/zod/v4/core.js')).toBe('npm: zod');
    expect(categoryOf('f', 'file:///w/node_modules/@types/x/a.js')).toBe('npm: @types/x');
    expect(categoryOf('f', 'file:///w/node_modules/@coupons/telemetry/dist/a.js')).toBe(
      '@coupons/telemetry',
    );
    expect(categoryOf('issue', 'file:///w/libs/budget-ledger/dist/src/ledger.js')).toBe(
      'libs/budget-ledger',
    );
    expect(categoryOf('onread', 'node:internal/stream_base_commons')).toBe('node core');
    expect(categoryOf('(garbage collector)', '')).toBe('(garbage collector)');
    expect(categoryOf('writev', '')).toBe('(native: V8 builtins, C++ bindings)');
  });
});

describe('summariseProfile', () => {
  it('gives each sample the interval that follows it, and keeps idle apart', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        { id: 2, callFrame: frame('(idle)') },
        { id: 3, callFrame: frame('handle', 'file:///w/node_modules/express/lib/router.js', 9) },
        { id: 4, callFrame: frame('(garbage collector)') },
      ],
      samples: [3, 3, 4, 2, 3],
      timeDeltas: [0, 1000, 2000, 3000, 4000],
    };
    const summary = summariseProfile(profile);
    // 3 -> 1000 + 2000, 4 -> 3000, 2 (idle) -> 4000, the last sample has no interval after it
    expect(summary.totalMs).toBe(10);
    expect(summary.idleMs).toBe(4);
    expect(summary.byCategory).toEqual([
      { name: 'npm: express', ms: 3, share: 0.5 },
      { name: '(garbage collector)', ms: 3, share: 0.5 },
    ]);
    expect(summary.byFunction[0]).toEqual({
      name: 'handle express/lib/router.js:10',
      ms: 3,
      share: 0.5,
    });
  });
});
