import { LABELS, type ServerName } from './catalog';
import type { ChartPoint } from './chart';
import { renderClientsSection } from './clientsReport';
import { cell, markdownTable, num } from './format';
import {
  cpuPerAnswerUs,
  redisBytesPerClaim,
  redisCpuPerClaimUs,
  scriptUsecPerCall,
  serverCoreContention,
  shedShare,
  type BenchResults,
  type Phase,
  type PointResult,
} from './results';
import type { Section } from './settings';
import { ratio, spread, type Spread } from './stats';

/** A shed-cost point counts only when nearly every answer was shed. */
const SHED_POINT_MIN_SHARE = 0.9;

function pointsOf(r: BenchResults, server: ServerName, phase: Phase, multiple?: number) {
  return r.points.filter(
    (p) =>
      p.server === server &&
      p.phase === phase &&
      (multiple === undefined || p.multiple === multiple),
  );
}

function spreadOf(points: readonly PointResult[], figure: (p: PointResult) => number | undefined) {
  return spread(points.map(figure));
}

const goodput = (p: PointResult) => p.report.goodputPerSecond;
/** open model: goodput over the hold, the ramp being warm-up */
const holdGoodput = (p: PointResult) => p.holdGoodputPerSecond ?? p.report.goodputPerSecond;
/** Above this share of the server's core used by others, a point is flagged. */
const CONTENTION_FLAG = 0.05;

/** Points whose figure is not the server's alone: the load generator or a neighbour set the pace. */
function flags(ps: readonly PointResult[]): string {
  const saturated = ps.filter((p) => p.report.generatorSaturated).length;
  const contention = Math.max(0, ...ps.map(serverCoreContention));
  return [
    saturated === 0 ? '' : `**generator saturated** (${saturated}/${ps.length})`,
    contention <= CONTENTION_FLAG
      ? ''
      : `**server core shared**: up to ${num(contention * 100, 0)}% used by others`,
  ]
    .filter(Boolean)
    .join('; ');
}
const perSecond = (n: number, p: PointResult) => n / (p.report.durationMs / 1000);

/** Per-repeat ratios of one figure between two servers (repeat i against repeat i). */
function pairedRatio(
  r: BenchResults,
  a: ServerName,
  b: ServerName,
  phase: Phase,
  figure: (p: PointResult) => number | undefined,
): Spread | undefined {
  const bs = pointsOf(r, b, phase);
  return spread(
    pointsOf(r, a, phase).map((pa) => {
      const pb = bs.find((p) => p.repeat === pa.repeat);
      return ratio(figure(pa), pb === undefined ? undefined : figure(pb));
    }),
  );
}

export function closedTable(r: BenchResults): string {
  const servers = r.settings.closed.servers;
  const rows = servers.map((server) => {
    const ps = pointsOf(r, server, 'closed');
    const nonOk = spreadOf(ps, (p) => p.report.sent - p.report.served);
    return [
      LABELS[server],
      cell(spreadOf(ps, goodput), 0),
      cell(pairedRatio(r, server, 'node-http', 'closed', goodput), 2),
      cell(spreadOf(ps, cpuPerAnswerUs), 1),
      cell(
        spreadOf(ps, (p) => p.peakRssMiB),
        0,
      ),
      cell(spreadOf(ps, redisCpuPerClaimUs), 1),
      cell(spreadOf(ps, scriptUsecPerCall), 1),
      cell(spreadOf(ps, redisBytesPerClaim), 0),
      cell(nonOk, 0),
      flags(ps),
    ];
  });
  return markdownTable(
    [
      'server',
      '2xx/s',
      'x node:http',
      'server CPU per answer, µs',
      'peak RSS, MiB',
      'Redis CPU per claim, µs',
      'script µs/call (commandstats)',
      'Redis memory per claim, bytes',
      'not 2xx',
      'flag',
    ],
    rows,
  );
}

export function ratioTable(r: BenchResults): string {
  const has = (s: ServerName) => r.settings.closed.servers.includes(s);
  const rows: [string, ServerName, ServerName, string][] = [
    ['service / node:http hello', 'service', 'node-http', ''],
    ['service / express hello', 'service', 'express', ''],
    ['service / naive twin', 'service', 'naive', '>= 0.90 (what the service adds)'],
    ['service, admission on / off', 'service', 'service-off', '>= 0.90 (what admission costs)'],
    ['service / protected twin', 'service', 'protected', ''],
    ['express hello / node:http hello', 'express', 'node-http', ''],
    ['naive twin / node:http hello', 'naive', 'node-http', ''],
    ['service at LOG_LEVEL=info / at warn', 'service-info', 'service', ''],
  ];
  return markdownTable(
    ['closed-loop throughput ratio', 'median (min-max of per-repeat ratios)', 'target'],
    rows
      .filter(([, a, b]) => has(a) && has(b))
      .map(([label, a, b, target]) => [
        label,
        cell(pairedRatio(r, a, b, 'closed', goodput), 2),
        target,
      ]),
  );
}

/** CPU of a shed answer / CPU of a served claim, or why there is none. */
export function shedCost(
  r: BenchResults,
  server: ServerName,
  /** The server whose served claims the shed answer is compared with (itself by default). */
  servedBy: ServerName = server,
): { shedUs?: Spread; servedUs?: Spread; ratio?: Spread; note: string } {
  const served = pointsOf(r, servedBy, 'closed');
  const servedUs = spreadOf(served, cpuPerAnswerUs);
  const shedPoints = pointsOf(r, server, 'shed');
  if (shedPoints.length === 0) return { servedUs, note: 'never sheds: nothing to measure' };
  const shares = shedPoints.map((p) => shedShare(p.report));
  const minShare = Math.min(...shares);
  if (minShare < SHED_POINT_MIN_SHARE)
    return {
      servedUs,
      note: `did not shed: ${num(minShare * 100, 0)}% of answers were shed where nearly all should be`,
    };
  const shedUs = spreadOf(shedPoints, cpuPerAnswerUs);
  const ratios = shedPoints.map((p) => {
    const twin = served.find((s) => s.repeat === p.repeat);
    return ratio(cpuPerAnswerUs(p), twin === undefined ? undefined : cpuPerAnswerUs(twin));
  });
  return {
    shedUs,
    servedUs,
    ratio: spread(ratios),
    note: `at least ${num(minShare * 100, 0)}% of answers shed`,
  };
}

export function shedTable(r: BenchResults, how: Partial<Record<ServerName, string>>): string {
  const servers: ServerName[] = ['naive', 'protected', 'service', 'service-soldout'];
  const servedBy = (s: ServerName): ServerName => (s === 'service-soldout' ? 'service' : s);
  return markdownTable(
    [
      'server',
      'shed answer measured',
      'CPU per shed answer, µs',
      'CPU per served claim, µs',
      'shed / served',
      'note',
    ],
    servers
      .filter((s) => r.settings.closed.servers.includes(servedBy(s)))
      .filter((s) => s !== 'service-soldout' || pointsOf(r, s, 'shed').length > 0)
      .map((server) => {
        const cost = shedCost(r, server, servedBy(server));
        return [
          LABELS[server],
          how[server] ?? '',
          cell(cost.shedUs, 1),
          cell(cost.servedUs, 1),
          cell(cost.ratio, 2),
          cost.note,
        ];
      }),
  );
}

/** A server's own median closed-loop throughput: the twins are faster or slower than the service. */
function ownCapacity(r: BenchResults, server: ServerName): number | undefined {
  return spreadOf(pointsOf(r, server, 'closed'), goodput)?.median;
}

export function openTable(r: BenchResults): string {
  const rows: string[][] = [];
  for (const multiple of r.settings.open.multiples) {
    for (const server of r.settings.open.servers) {
      const ps = pointsOf(r, server, 'open', multiple);
      if (ps.length === 0) continue;
      rows.push([
        `${multiple}x`,
        LABELS[server],
        cell(
          spreadOf(ps, (p) => p.targetRate),
          0,
        ),
        cell(
          spreadOf(ps, (p) => ratio(p.targetRate, ownCapacity(r, server))),
          1,
        ),
        cell(spreadOf(ps, holdGoodput), 0),
        cell(
          spreadOf(ps, (p) => holdGoodput(p) / r.capacity),
          2,
        ),
        cell(
          spreadOf(ps, (p) => (p.report.served > 0 ? p.report.servedLatencyMs.p99 : undefined)),
          0,
        ),
        cell(
          spreadOf(ps, (p) => perSecond(p.report.shed, p)),
          0,
        ),
        cell(
          spreadOf(ps, (p) => perSecond(p.report.timeouts + p.report.errors, p)),
          0,
        ),
        cell(
          spreadOf(ps, (p) => p.peakRssMiB),
          0,
        ),
        cell(
          spreadOf(ps, (p) => (100 * p.cpuSeconds) / (p.wallMs / 1000)),
          0,
        ),
        cell(
          spreadOf(ps, (p) => p.report.schedulerLagMs.p99),
          0,
        ),
        flags(ps),
      ]);
    }
  }
  return markdownTable(
    [
      'offered',
      'server',
      'offered/s',
      'offered / own capacity',
      'goodput/s',
      'goodput / capacity',
      'served p99, ms',
      'shed/s',
      'lost/s (timeouts + errors)',
      'peak RSS, MiB',
      'server CPU, %',
      'runner lag p99, ms',
      'flag',
    ],
    rows,
  );
}

/** The admission targets (goodput, latency, memory, shed cost), read off this run. */
export function targetsTable(r: BenchResults): string {
  const servers = r.settings.open.servers;
  const at = (
    server: ServerName,
    multiple: number,
    figure: (p: PointResult) => number | undefined,
  ) => spreadOf(pointsOf(r, server, 'open', multiple), figure);
  const rss = (server: ServerName) => {
    const low = at(server, 0.5, (p) => p.peakRssMiB);
    const high = at(server, 10, (p) => p.peakRssMiB);
    return low === undefined || high === undefined ? undefined : ratio(high.median, low.median);
  };
  const share = (p: PointResult) => holdGoodput(p) / r.capacity;
  const p99 = (p: PointResult) => (p.report.served > 0 ? p.report.servedLatencyMs.p99 : undefined);
  const rows: [string, (s: ServerName) => string][] = [
    ['goodput at 3x >= 0.80 capacity', (s) => cell(at(s, 3, share), 2)],
    ['goodput at 10x >= 0.60 capacity', (s) => cell(at(s, 10, share), 2)],
    [
      'goodput at 10x, worst second of the hold / capacity (no collapse)',
      (s) =>
        cell(
          at(s, 10, (p) => ratio(p.holdWorstSecondGoodput, r.capacity)),
          2,
        ),
    ],
    ['served p99 at 3x <= 100 ms', (s) => cell(at(s, 3, p99), 0)],
    ['peak RSS at 10x / at 0.5x <= 1.5', (s) => (rss(s) === undefined ? 'n/a' : num(rss(s)!, 2))],
    ['CPU of a shed answer / of a served claim <= 0.15', (s) => cell(shedCost(r, s).ratio, 2)],
    [
      'closed loop, admission on / off >= 0.90',
      (s) =>
        s === 'service' ? cell(pairedRatio(r, 'service', 'service-off', 'closed', goodput), 2) : '',
    ],
  ];
  return markdownTable(
    ['admission target', ...servers.map((s) => LABELS[s])],
    rows.map(([label, value]) => [label, ...servers.map(value)]),
  );
}

const PROFILE_CATEGORIES = 14;

export function profileTable(r: BenchResults): string {
  if (r.profile === undefined) return '';
  const { summary } = r.profile;
  const busy = summary.totalMs - summary.idleMs;
  const shown = summary.byCategory.slice(0, PROFILE_CATEGORIES);
  const rest = summary.byCategory.slice(PROFILE_CATEGORIES);
  const restMs = rest.reduce((sum, t) => sum + t.ms, 0);
  const byCategory = markdownTable(
    ['where (self time)', 'ms', 'share of busy time'],
    [
      ...shown.map((t) => [t.name, num(t.ms, 0), `${num(t.share * 100, 1)}%`]),
      ...(rest.length === 0
        ? []
        : [[`${rest.length} more packages`, num(restMs, 0), `${num((restMs / busy) * 100, 1)}%`]]),
    ],
  );
  const byFunction = markdownTable(
    ['function (self time)', 'ms', 'share of busy time'],
    summary.byFunction.map((t) => [`\`${t.name}\``, num(t.ms, 0), `${num(t.share * 100, 1)}%`]),
  );
  return [
    `Profile of ${LABELS[r.profile.server]} under the closed loop (node --cpu-prof, start-up and warm-up included): ${num(busy, 0)} ms busy of ${num(summary.totalMs, 0)} ms.`,
    '',
    byCategory,
    '',
    byFunction,
  ].join('\n');
}

export function chartPoints(r: BenchResults): ChartPoint[] {
  const out: ChartPoint[] = [];
  for (const server of r.settings.open.servers) {
    for (const multiple of r.settings.open.multiples) {
      const ps = pointsOf(r, server, 'open', multiple);
      const g = spreadOf(ps, holdGoodput);
      if (g === undefined) continue;
      const p99 = spreadOf(ps, (p) =>
        p.report.served > 0 ? p.report.servedLatencyMs.p99 : undefined,
      );
      out.push({
        server: LABELS[server],
        multiple,
        goodput: g.median,
        goodputMin: g.min,
        goodputMax: g.max,
        p99: p99?.median ?? null,
        p99Min: p99?.min ?? null,
        p99Max: p99?.max ?? null,
      });
    }
  }
  return out;
}

export function machineLine(r: BenchResults): string {
  const m = r.machine;
  const layout = m.pinned
    ? 'server pinned to core 0; load runner and Redis on core 1 (taskset)'
    : 'NOT pinned (no taskset): servers, runner and Redis share every core';
  const busy = m.busyBefore.map((share) => `${num(share * 100, 0)}%`).join(', ');
  return `${m.cpuModel}, ${m.cpus} cores, Linux ${m.kernel}, Node ${m.node}, Redis ${m.redis}; ${layout}; cores busy before the run: ${busy}`;
}

export function renderMarkdown(
  r: BenchResults,
  shedHow: Partial<Record<ServerName, string>>,
): string {
  const s = r.settings;
  const repeats = s.repeat === 1 ? '1 repeat' : `${s.repeat} repeats: median (min-max)`;
  const has = (section: Section) => s.sections.includes(section);
  const sections = [
    `# npm run bench ${s.quick ? '--quick ' : ''}(${r.startedAt})`,
    '',
    machineLine(r),
    '',
  ];
  if (has('closed'))
    sections.push(
      `Every point starts a fresh server on an emptied private Redis; the same client (the runner) for all; ${repeats}. The service runs with LOG_LEVEL=warn unless the row says info; its request logs at info are measured too.`,
      '',
      `## Closed loop (concurrency ${s.concurrency}, ${s.closed.durationMs / 1000} s after ${s.closed.warmupMs / 1000} s warm-up)`,
      '',
      closedTable(r),
      '',
      ratioTable(r),
      '',
      `Capacity (the service's median closed-loop claims/s with ADMISSION=off) = **${num(r.capacity, 0)}**; the protected twin's express-rate-limit allows ${num(r.rateLimitPerSecond, 0)} requests/s per IP (the naive twin's capacity).`,
      '',
    );
  if (has('open'))
    sections.push(
      `## Open model (offered load x capacity, ${s.open.holdMs / 1000} s after a ${s.open.rampMs / 1000} s ramp, ${s.timeoutMs / 1000} s client timeout)`,
      '',
      'Goodput is 2xx within the timeout per second over the hold (the ramp is warm-up); latency, lost requests, RSS and CPU cover the whole point. "lost" is requests with no answer in time, connection waits included.',
      '',
      openTable(r),
      '',
    );
  if (has('shed'))
    sections.push(
      '## Cost of a shed answer (closed loop against a server set up to shed nearly everything)',
      '',
      shedTable(r, shedHow),
      '',
    );
  if (has('open') && has('shed'))
    sections.push('## Admission targets, as this run measures them', '', targetsTable(r), '');
  if (r.clients !== undefined)
    sections.push(renderClientsSection(r, shedCost(r, 'service').ratio?.median), '');
  if (r.profile !== undefined)
    sections.push('## Where the service spends its CPU', '', profileTable(r), '');
  while (sections.at(-1) === '') sections.pop();
  return `${sections.join('\n')}\n`;
}
