import { CLIENTS_MODES, weightedShedCpuSeconds, type ClientsMode } from './clientsBook';
import { cell, markdownTable, num } from './format';
import { serverCoreContention, type BenchResults, type ClientsPoint } from './results';
import { ratio, spread, type Spread } from './stats';

export type ClientsSection = NonNullable<BenchResults['clients']>;

/** The issue's goodput targets for the client mode, reported (not asserted). */
export const CLIENT_TARGETS: readonly { multiple: number; goodputShare: number }[] = [
  { multiple: 10, goodputShare: 0.85 },
  { multiple: 30, goodputShare: 0.8 },
];

/** Above this share of the pod's core used by others, a point is flagged. */
const CONTENTION_FLAG = 0.05;

const seconds = (ms: number) => ms / 1000;

/** Per point: the figures the section reports, each undefined where it does not apply. */
export const clientsFigures = {
  goodputShare: (p: ClientsPoint, capacity: number) => p.summary.goodputPerSecond / capacity,
  servedP99: (p: ClientsPoint) =>
    p.summary.fates.served > 0 ? p.summary.servedLatencyMs.p99 : undefined,
  requestsPerServed: (p: ClientsPoint) => p.summary.requestsPerServed,
  /** requests sent for the hold's arrivals, per second of the hold */
  requestsPerSecond: (p: ClientsPoint, holdMs: number) => p.summary.requests / seconds(holdMs),
  /** share of the hold's arrivals that ended in this fate */
  share: (p: ClientsPoint, fate: keyof ClientsPoint['summary']['fates']) =>
    p.summary.arrivals === 0 ? undefined : p.summary.fates[fate] / p.summary.arrivals,
  podCpuPercent: (p: ClientsPoint) => (100 * p.cpuSeconds) / seconds(p.wallMs),
  shedCpuPercent: (p: ClientsPoint) => (100 * p.pod.shedCpuSeconds) / seconds(p.wallMs),
  weightedShedCpuPercent: (p: ClientsPoint, weight: number) =>
    (100 * weightedShedCpuSeconds(p.cpuSeconds, p.pod, weight)) / seconds(p.wallMs),
  podShedPerSecond: (p: ClientsPoint) => p.pod.shed / seconds(p.wallMs),
  podReceivedPerSecond: (p: ClientsPoint) => p.pod.received / seconds(p.wallMs),
  lagP99: (p: ClientsPoint) => p.summary.lagMs.p99,
  /** the bench process's CPU over the window: near 100% it is the bottleneck itself */
  generatorCpuPercent: (p: ClientsPoint) => (100 * p.generator.cpuSeconds) / seconds(p.wallMs),
} as const;

export function pointsAt(
  c: ClientsSection,
  multiple: number,
  mode: ClientsMode,
): readonly ClientsPoint[] {
  return c.points.filter((p) => p.multiple === multiple && p.mode === mode);
}

function spreadOf(
  points: readonly ClientsPoint[],
  figure: (p: ClientsPoint) => number | undefined,
): Spread | undefined {
  return spread(points.map(figure));
}

/**
 * client / raw of one figure, round by round (round i of one mode against round i of the
 * other, which ran next to it): the ratios are within one run, never across runs.
 */
export function pairedModeRatio(
  c: ClientsSection,
  multiple: number,
  figure: (p: ClientsPoint) => number | undefined,
): Spread | undefined {
  const raw = pointsAt(c, multiple, 'raw');
  return spread(
    pointsAt(c, multiple, 'client').map((p) => {
      const twin = raw.find((r) => r.round === p.round);
      return ratio(figure(p), twin === undefined ? undefined : figure(twin));
    }),
  );
}

/** Points whose figure is not the pod's and the client's alone. */
export function clientsFlags(points: readonly ClientsPoint[]): string {
  const behind = points.filter((p) => p.summary.generatorBehind).length;
  const contention = Math.max(0, ...points.map(serverCoreContention));
  const errors = points.reduce((sum, p) => sum + p.summary.fates.error, 0);
  return [
    behind === 0 ? '' : `**generator behind** (${behind}/${points.length})`,
    contention <= CONTENTION_FLAG
      ? ''
      : `**server core shared**: up to ${num(contention * 100, 0)}% used by others`,
    errors === 0
      ? ''
      : `**${errors} calls threw** (${points.find((p) => p.firstError)?.firstError ?? ''})`,
  ]
    .filter(Boolean)
    .join('; ');
}

/** The multiples the section ran, in the order it ran them. */
function multiplesOf(c: ClientsSection): number[] {
  return [...new Set(c.points.map((p) => p.multiple))];
}

/**
 * One row per (load, mode). `shedWeight`: the CPU of a shed answer / of a served claim measured
 * in the same run (the shed-cost section), when it ran: a second, weighted, shed CPU column.
 */
export function clientsTable(c: ClientsSection, holdMs: number, shedWeight?: number): string {
  const f = clientsFigures;
  const rows: string[][] = [];
  for (const multiple of multiplesOf(c))
    for (const mode of CLIENTS_MODES) {
      const ps = pointsAt(c, multiple, mode);
      if (ps.length === 0) continue;
      const pct = (fate: Parameters<typeof f.share>[1]) =>
        cell(
          spreadOf(ps, (p) => {
            const share = f.share(p, fate);
            return share === undefined ? undefined : 100 * share;
          }),
          1,
        );
      rows.push([
        `${multiple}x`,
        mode,
        cell(
          spreadOf(ps, (p) => p.targetRate),
          0,
        ),
        cell(
          spreadOf(ps, (p) => f.goodputShare(p, c.capacity)),
          2,
        ),
        cell(spreadOf(ps, f.servedP99), 0),
        cell(spreadOf(ps, f.requestsPerServed), 2),
        cell(
          spreadOf(ps, (p) => f.requestsPerSecond(p, holdMs)),
          0,
        ),
        pct('refused_locally'),
        pct('shed'),
        pct('lost'),
        cell(spreadOf(ps, f.podReceivedPerSecond), 0),
        cell(spreadOf(ps, f.podShedPerSecond), 0),
        cell(spreadOf(ps, f.podCpuPercent), 0),
        cell(spreadOf(ps, f.shedCpuPercent), 0),
        ...(shedWeight === undefined
          ? []
          : [
              cell(
                spreadOf(ps, (p) => f.weightedShedCpuPercent(p, shedWeight)),
                0,
              ),
            ]),
        cell(spreadOf(ps, f.lagP99), 0),
        cell(spreadOf(ps, f.generatorCpuPercent), 0),
        clientsFlags(ps),
      ]);
    }
  return markdownTable(
    [
      'offered',
      'mode',
      'arrivals/s',
      'goodput / capacity',
      'served p99, ms',
      'requests per served claim',
      'requests sent/s',
      'refused locally, % of arrivals',
      'shed (last answer), % of arrivals',
      'lost, % of arrivals',
      'pod: claims received/s',
      'pod: shed answers/s',
      'pod CPU, % of a core',
      'pod CPU on shed answers, % of a core',
      ...(shedWeight === undefined
        ? []
        : [`the same, a shed answer weighing ${num(shedWeight, 2)} of a claim`]),
      'generator lag p99, ms',
      'generator CPU, % of a core',
      'flag',
    ],
    rows,
  );
}

/** client / raw per load, and the issue's targets read off this run. */
export function clientsTargetsTable(c: ClientsSection): string {
  const share = (p: ClientsPoint) => clientsFigures.goodputShare(p, c.capacity);
  const rows = multiplesOf(c).map((multiple) => {
    const client = spreadOf(pointsAt(c, multiple, 'client'), share);
    const raw = spreadOf(pointsAt(c, multiple, 'raw'), share);
    const target = CLIENT_TARGETS.find((t) => t.multiple === multiple);
    const met =
      target === undefined || client === undefined
        ? ''
        : client.median >= target.goodputShare
          ? 'met'
          : 'not met';
    const flags = clientsFlags(c.points.filter((p) => p.multiple === multiple));
    return [
      `${multiple}x`,
      cell(raw, 2),
      cell(client, 2),
      cell(pairedModeRatio(c, multiple, share), 2),
      cell(pairedModeRatio(c, multiple, clientsFigures.shedCpuPercent), 2),
      target === undefined ? '' : `client >= ${num(target.goodputShare, 2)}: ${met}`,
      flags,
    ];
  });
  return markdownTable(
    [
      'offered',
      'goodput / capacity, raw',
      'goodput / capacity, client',
      'goodput client / raw (per round)',
      'pod CPU on shed answers, client / raw (per round)',
      'target (reported, not asserted)',
      'flag',
    ],
    rows,
  );
}

export function renderClientsSection(r: BenchResults, shedWeight?: number): string {
  const c = r.clients;
  if (c === undefined) return '';
  const s = r.settings;
  const backends = c.points[0]?.backends ?? s.clients.backends;
  return [
    `## Many callers, raw and through @coupons/client (${backends} simulated chat backends against one pod; ${s.clients.holdMs / 1000} s after a ${s.clients.rampMs / 1000} s ramp; ${s.timeoutMs / 1000} s deadline)`,
    '',
    `Capacity = **${num(c.capacity, 0)}** claims/s (${c.capacitySource}). The same arrivals (open model, the same schedule) in both modes, rounds alternating raw, client, raw, client...; every point a fresh pod. raw: one request per arrival from the backend's connection pool, no retries, no throttle; client: one client.claim per arrival (throttle, retry budget, Retry-After, deadline). Counts are of the arrivals scheduled in the hold; pod CPU, its counters and the generator's CPU cover the window from the first arrival until the last one's deadline (the same length in both modes). Pod CPU on shed answers = pod CPU (/proc) x the pod's own shed / received claims (its metrics): every request weighs the same, so it is an upper bound when a shed answer is cheaper than a claim${shedWeight === undefined ? '' : `; the next column weighs each shed answer by the shed-cost section's CPU per shed answer / per served claim (${num(shedWeight, 2)}, the service, this run)`}.`,
    '',
    clientsTable(c, s.clients.holdMs, shedWeight),
    '',
    clientsTargetsTable(c),
  ].join('\n');
}
