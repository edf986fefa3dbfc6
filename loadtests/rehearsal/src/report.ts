// The bench's headless vega-lite renderer, reused (the bench does not export it from its index).
import type { renderSvg } from '@coupons/bench/dist/src/chart';
import { crowdTimes, type CrowdPlan } from './crowd';
import type { SecondTally } from './load';
import type { RunResult } from './run';

type TopLevelSpec = Parameters<typeof renderSvg>[0];

/** What a run's report says: the figures the targets are judged by. */
export interface RunFigures {
  mode: string;
  fresh: number;
  served: number;
  shed: number;
  failed: number;
  /** served / fresh claims over the whole run */
  goodputShare: number;
  /** served / fresh over the step (release to the hold's end) */
  stepGoodputShare: number;
  /** the worst 10-second window of the step: served / offered (fresh and retried) */
  stepWorstWindowShare: number;
  /**
   * seconds from the release until goodput stays at 90% of the requests offered (fresh and
   * retried), every 10-second window to the hold's end; 0 when it never fell below; null: never
   */
  recoverySeconds: number | null;
  servedP99Ms: number | null;
  stepServedP99Ms: number | null;
  replicasMin: number;
  replicasMax: number;
  /** replicas the scaler asked for through the Prometheus outage, least and most */
  outageReplicas?: { min: number; max: number; before: number };
  podStartMs: { count: number; mean: number; max: number } | null;
}

const WINDOW = 10;

function p99(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!;
}

const sum = (
  seconds: readonly SecondTally[],
  key: 'fresh' | 'sent' | 'served' | 'shed' | 'failed',
) => seconds.reduce((n, s) => n + s[key], 0);

/** Goodput over the requests offered (fresh and retried) in the `WINDOW` seconds from `from`. */
function windowShare(seconds: readonly SecondTally[], from: number): number {
  const slice = seconds.slice(from, from + WINDOW);
  const offered = sum(slice, 'sent');
  return offered === 0 ? 1 : sum(slice, 'served') / offered;
}

export function figuresOf(result: RunResult, plan: CrowdPlan): RunFigures {
  const at = crowdTimes(plan);
  const { seconds } = result;
  const step = seconds.slice(at.stepAt, at.holdEnd);
  const windows: number[] = [];
  for (let from = at.stepAt; from + WINDOW <= at.holdEnd; from += 1)
    windows.push(windowShare(seconds, from));
  // The first window from which every later one stays at 90%.
  let firstGood = windows.length;
  while (firstGood > 0 && windows[firstGood - 1]! >= 0.9) firstGood -= 1;
  const recoverySeconds =
    firstGood === 0 ? 0 : firstGood === windows.length ? null : firstGood + WINDOW;
  const worst = Math.min(1, ...windows);
  const replicas = result.fleet.map((f) => f.replicas);
  const figures: RunFigures = {
    mode: result.mode,
    fresh: sum(seconds, 'fresh'),
    served: sum(seconds, 'served'),
    shed: sum(seconds, 'shed'),
    failed: sum(seconds, 'failed'),
    goodputShare: sum(seconds, 'served') / Math.max(1, sum(seconds, 'fresh')),
    stepGoodputShare: sum(step, 'served') / Math.max(1, sum(step, 'fresh')),
    stepWorstWindowShare: worst,
    recoverySeconds,
    servedP99Ms: p99(seconds.flatMap((s) => s.servedMs)),
    stepServedP99Ms: p99(step.flatMap((s) => s.servedMs)),
    replicasMin: Math.min(...replicas),
    replicasMax: Math.max(...replicas),
    podStartMs:
      result.startTimesMs.length === 0
        ? null
        : {
            count: result.startTimesMs.length,
            mean: result.startTimesMs.reduce((a, b) => a + b, 0) / result.startTimesMs.length,
            max: Math.max(...result.startTimesMs),
          },
  };
  if (result.outage !== undefined) {
    const { from, to } = result.outage;
    const during = result.fleet.filter((f) => f.t >= from && f.t <= to + 30).map((f) => f.replicas);
    const before = result.fleet.filter((f) => f.t < from).at(-1)?.replicas ?? 0;
    figures.outageReplicas = { min: Math.min(...during), max: Math.max(...during), before };
  }
  return figures;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);

export function formatFigures(all: readonly RunFigures[]): string {
  const rows = [
    [
      'run',
      'claims',
      'served',
      'shed answers',
      'failed',
      'claims served',
      'claims served in the step',
      'worst 10 s of the step (goodput/offered)',
      'release to 90%',
      'served p99',
      'p99 in the step',
      'replicas',
      'pod start',
    ],
    ...all.map((f) => [
      f.mode,
      String(f.fresh),
      String(f.served),
      String(f.shed),
      String(f.failed),
      pct(f.goodputShare),
      pct(f.stepGoodputShare),
      pct(f.stepWorstWindowShare),
      f.recoverySeconds === null ? 'never' : `${f.recoverySeconds} s`,
      ms(f.servedP99Ms),
      ms(f.stepServedP99Ms),
      `${f.replicasMin}-${f.replicasMax}`,
      f.podStartMs === null
        ? '-'
        : `${Math.round(f.podStartMs.mean)} ms (max ${Math.round(f.podStartMs.max)}, ${f.podStartMs.count} pods)`,
    ]),
  ];
  const lines = rows.map((r) => `| ${r.join(' | ')} |`);
  lines.splice(1, 0, `| ${rows[0]!.map(() => '---').join(' | ')} |`);
  for (const f of all)
    if (f.outageReplicas !== undefined)
      lines.push(
        '',
        `Prometheus outage (${f.mode}): replicas ${f.outageReplicas.before} before it, ${f.outageReplicas.min}-${f.outageReplicas.max} through it and the 30 s after.`,
      );
  return lines.join('\n');
}

/** Demand, goodput and shed; replicas; served p99: one column per run, time in seconds. */
export function chartSpec(
  results: readonly RunResult[],
  plan: CrowdPlan,
  podsPerProcess: number,
): TopLevelSpec {
  const at = crowdTimes(plan);
  const traffic = results.flatMap((r) =>
    r.seconds.flatMap((s, t) => [
      { run: r.mode, t, series: 'demand (fresh claims/s)', value: s.fresh },
      { run: r.mode, t, series: 'goodput (2xx/s)', value: s.served },
      { run: r.mode, t, series: 'shed (/s)', value: s.shed },
    ]),
  );
  const fleet = results.flatMap((r) =>
    r.fleet.flatMap((f) => [
      { run: r.mode, t: f.t, series: 'replicas asked (manifest pods)', value: f.replicas },
      {
        run: r.mode,
        t: f.t,
        series: `ready (processes x ${podsPerProcess})`,
        value: f.ready * podsPerProcess,
      },
    ]),
  );
  const latency = results.flatMap((r) =>
    r.seconds.flatMap((_s, t) => {
      if (t % 5 !== 0) return [];
      const v = p99(r.seconds.slice(t, t + 5).flatMap((s) => s.servedMs));
      return v === null ? [] : [{ run: r.mode, t, series: 'served p99 (5 s), ms', value: v }];
    }),
  );
  const rules = [
    { t: at.stepAt, what: 'release (step starts)' },
    { t: at.stepFullAt, what: '15x reached' },
  ];
  const panel = (values: object[], title: string, log = false) => ({
    data: { values },
    facet: { column: { field: 'run', type: 'nominal', title: null } },
    spec: {
      width: 300,
      height: 160,
      layer: [
        {
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'seconds' },
            y: {
              field: 'value',
              type: 'quantitative',
              title,
              ...(log ? { scale: { type: 'log' } } : {}),
            },
            color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'right' } },
          },
        },
        {
          data: { values: rules },
          mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
          encoding: { x: { field: 't', type: 'quantitative' } },
        },
      ],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Fleet rehearsal: goodput, shed, replicas and p99 over time',
      subtitle: [
        `step at ${at.stepAt} s, 15x at ${at.stepFullAt} s; one process stands for ${podsPerProcess} pods`,
      ],
    },
    vconcat: [
      panel(traffic, 'claims per second'),
      panel(fleet, 'replicas'),
      panel(latency, 'p99 ms (log)', true),
    ],
  } as unknown as TopLevelSpec;
}
