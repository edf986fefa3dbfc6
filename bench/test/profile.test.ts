import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { categoryOf, summariseProfile, toSpeedscope, type CpuProfile } from '../src/profile';

/** node --cpu-prof --cpu-prof-interval 2000 of a busy loop (inner, outer, other) run with -e. */
const FIXTURE = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'busy-loop.cpuprofile'), 'utf8'),
) as CpuProfile;

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
    // a checkout whose own path has "bench" in it
    expect(categoryOf('issue', 'file:///work/bench/libs/budget-ledger/dist/src/ledger.js')).toBe(
      'libs/budget-ledger',
    );
    expect(categoryOf('main', 'file:///work/bench/bench/dist/src/run.js')).toBe('bench');
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

describe('a real profile (fixture)', () => {
  it('ranks the top self-time frames, the busy loop first', () => {
    const summary = summariseProfile(FIXTURE, 15);
    expect(summary.byFunction.length).toBeLessThanOrEqual(15);
    expect(summary.byFunction[0]).toMatchObject({ name: 'inner [eval]:2' });
    expect(summary.byFunction[0]!.ms).toBeCloseTo(139.631, 3);
    const ms = summary.byFunction.map((t) => t.ms);
    expect(ms).toEqual([...ms].sort((a, b) => b - a));
    expect(summary.byFunction.map((t) => t.name)).toContain('other [eval]:4');
    expect(summariseProfile(FIXTURE, 3).byFunction).toHaveLength(3);
  });

  it('turns it into a speedscope flame graph with the same busy time and whole stacks', () => {
    const file = toSpeedscope(FIXTURE, 'busy loop');
    const [profile] = file.profiles;
    const summary = summariseProfile(FIXTURE);
    expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(profile!.samples).toHaveLength(profile!.weights.length);
    // Idle left out: the graph's total is the busy time the summary counts.
    expect(profile!.endValue / 1000).toBeCloseTo(summary.totalMs - summary.idleMs, 3);
    const names = (stack: number[]) => stack.map((i) => file.shared.frames[i]!.name);
    const innerStack = profile!.samples.map(names).find((stack) => stack.at(-1) === 'inner');
    // outermost first: the script, then outer, then inner on top
    expect(innerStack?.slice(-2)).toEqual(['outer', 'inner']);
    expect(file.shared.frames.some((f) => f.name === '(root)' || f.name === '(idle)')).toBe(false);
  });
});

describe('frame names', () => {
  it('name a repository file from its workspace, whatever the checkout is called', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        {
          id: 2,
          callFrame: frame(
            'issue',
            'file:///work/bench/libs/budget-ledger/dist/src/ledger.js',
            114,
          ),
        },
      ],
      samples: [2, 2],
      timeDeltas: [0, 1000],
    };
    expect(summariseProfile(profile).byFunction[0]?.name).toBe(
      'issue libs/budget-ledger/dist/src/ledger.js:115',
    );
  });
});
