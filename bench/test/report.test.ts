import type { LoadReport } from '@coupons/runner';
import type { ServerName } from '../src/catalog';
import {
  chartPoints,
  chartView,
  ratioTable,
  renderMarkdown,
  shedCost,
  targetsTable,
} from '../src/report';
import type { BenchResults, Phase, PointResult } from '../src/results';
import { TEST_MACHINE } from './machine';
import { parseSettings } from '../src/settings';

const latency = { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };

function report(served: number, shed = 0, durationMs = 10_000): LoadReport {
  return {
    mode: 'closed',
    durationMs,
    offeredRate: (served + shed) / (durationMs / 1000),
    sent: served + shed,
    served,
    shed,
    otherStatus: {},
    errors: 0,
    timeouts: 0,
    goodputPerSecond: served / (durationMs / 1000),
    servedLatencyMs: { ...latency, count: served, p99: 20 },
    shedLatencyMs: latency,
    schedulerLagMs: latency,
    generatorSaturated: false,
  };
}

function point(
  server: ServerName,
  phase: Phase,
  repeat: number,
  r: LoadReport,
  cpuSeconds: number,
  extra: Partial<PointResult> = {},
): PointResult {
  return {
    server,
    phase,
    repeat,
    report: r,
    wallMs: r.durationMs,
    cpuSeconds,
    peakRssMiB: 100,
    ...extra,
  };
}

function results(points: PointResult[]): BenchResults {
  return {
    startedAt: '2026-11-25T00:00:00.000Z',
    finishedAt: '2026-11-25T00:10:00.000Z',
    settings: parseSettings(['--repeat', '2']),
    machine: TEST_MACHINE,
    capacity: 9000,
    rateLimitPerSecond: 10_000,
    points,
  };
}

describe('report', () => {
  const closed = [
    point('naive', 'closed', 0, report(100_000), 10), // 10,000/s, 100 µs per answer
    point('naive', 'closed', 1, report(100_000), 10),
    point('service', 'closed', 0, report(90_000), 9), // 9,000/s
    point('service', 'closed', 1, report(80_000), 8), // 8,000/s
    point('protected', 'closed', 0, report(100_000), 10),
  ];

  it('pairs repeats for ratios and reports their median with the range', () => {
    const table = ratioTable(results(closed));
    expect(table).toContain(
      '| service / naive twin | 0.85 (0.80-0.90) | >= 0.6 (what the service adds) |',
    );
  });

  it('gives no shed cost for a server that did not shed, and says why', () => {
    const r = results([...closed, point('service', 'shed', 0, report(50_000, 10), 5)]);
    const cost = shedCost(r, 'service');
    expect(cost.ratio).toBeUndefined();
    expect(cost.note).toMatch(/did not shed: 0%/);
    expect(shedCost(r, 'naive').note).toMatch(/never sheds/);
  });

  it('divides the CPU of a shed answer by that of a served claim in the same repeat', () => {
    const r = results([...closed, point('protected', 'shed', 0, report(10, 199_990), 12)]);
    // 12 s over 200,000 answers = 60 µs against 100 µs per served claim
    expect(shedCost(r, 'protected').ratio?.median).toBeCloseTo(0.6, 5);
  });

  it('charts and judges overload points by their goodput over the hold, against the capped capacity', () => {
    const overload = [
      point('service', 'overload', 0, report(60_000, 0, 12_000), 11, {
        multiple: 3,
        targetRate: 27_000,
        holdGoodputPerSecond: 7200,
      }),
      point('service', 'overload', 1, report(60_000, 0, 12_000), 11, {
        multiple: 3,
        targetRate: 27_000,
        holdGoodputPerSecond: 8100,
      }),
    ];
    const r: BenchResults = {
      ...results([...closed, ...overload]),
      overload: {
        share: 0.25,
        quota: { quotaUs: 1000, periodUs: 4000 },
        cgroup: 'v1',
        capacity: 9000,
      },
    };
    expect(chartPoints(r)).toEqual([]);
    expect(chartView(r)?.capacity).toBe(9000);
    expect(chartPoints(r, 'overload')).toEqual([
      expect.objectContaining({
        server: 'service (LOG_LEVEL=warn)',
        multiple: 3,
        goodput: 7650,
        goodputMin: 7200,
        goodputMax: 8100,
        p99: 20,
      }),
    ]);
    expect(targetsTable(r)).toContain(
      '| capped 3x: goodput / capped capacity >= 0.85 |  | 0.85 (0.80-0.90) |',
    );
  });

  it('judges the open model on its hold (the warm server), and shows the whole point beside it', () => {
    // A fresh server's ramp: a slow start that the whole point's p99 and shed share carry.
    const open = [0, 1].map((repeat) =>
      point(
        'service',
        'open',
        repeat,
        { ...report(9_900, 100), servedLatencyMs: { ...latency, count: 9_900, p99: 400 } },
        5,
        {
          multiple: 0.5,
          targetRate: 1000,
          holdGoodputPerSecond: 1000,
          hold: {
            sent: 8_000,
            shed: repeat === 0 ? 0 : 8,
            servedLatencyMs: { ...latency, count: 8_000, p99: 30 + repeat * 10 },
          },
        },
      ),
    );
    const markdown = renderMarkdown(results([...closed, ...open]), {});
    const row = markdown.split('\n').find((line) => line.startsWith('| 0.5x | service'));
    // whole point p99, hold p99, whole point shed %, hold shed %
    expect(row).toContain('| 400 | 35 (30-40) | 1.00 | 0.05 (0.00-0.10) |');
    expect(targetsTable(results([...closed, ...open]))).toContain(
      '| open 0.5x, hold: served p99 <= 50 ms | n/a | 35 (30-40) |',
    );
    expect(targetsTable(results([...closed, ...open]))).toContain(
      '| open 0.5x, hold: shed <= 0.1% of sent | n/a | 0.05 (0.00-0.10) |',
    );
  });

  it('says why the overload section did not run where no CPU cap can be made', () => {
    const r: BenchResults = {
      ...results(closed),
      overload: { skipped: '/sys/fs/cgroup/cpu (cgroup v1) is not writable by this user' },
    };
    expect(renderMarkdown(r, {})).toContain(
      'Not run: /sys/fs/cgroup/cpu (cgroup v1) is not writable by this user.',
    );
    expect(chartView(r)).toBeUndefined();
  });

  it('leaves a point past 20 ms of generator lag out of the targets, and says so', () => {
    const lagged = (lagP99: number, shed: number): LoadReport => ({
      ...report(10_000, shed),
      mode: 'open',
      schedulerLagMs: { ...latency, count: 10_000, p99: lagP99 },
    });
    const open = (repeat: number, r: LoadReport) =>
      point('service', 'open', repeat, r, 1, {
        multiple: 0.5,
        targetRate: 4500,
        hold: { sent: r.sent, shed: r.shed, servedLatencyMs: r.servedLatencyMs },
      });
    // 10 shed of 10,010 sent (0.10%) in time; 1,000 of 11,000 in the point the generator could not pace
    const mixed = results([...closed, open(0, lagged(5, 10)), open(1, lagged(21, 1000))]);
    expect(targetsTable(mixed)).toContain('| open 0.5x, hold: shed <= 0.1% of sent | n/a | 0.10 |');
    const allLagged = results([...closed, open(0, lagged(25, 10)), open(1, lagged(40, 10))]);
    expect(targetsTable(allLagged)).toContain(
      '| open 0.5x, hold: shed <= 0.1% of sent | n/a | not a measurement (generator lag) |',
    );
  });
});
