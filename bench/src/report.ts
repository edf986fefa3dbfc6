import { LABELS, type ServerName } from './catalog';
import type { ChartPoint } from './chart';
import { renderClientsSection } from './clientsReport';
import { cell, markdownTable, num } from './format';
import {
  cpuPerAnswerUs,
  MAX_GENERATOR_LAG_MS,
  notAMeasurement,
  redisBytesPerClaim,
  redisCpuPerClaimUs,
  scriptUsecPerCall,
  shedShare,
  type BenchResults,
  type PointResult,
} from './results';
import type { Section } from './settings';
import { ratio, spread, type Spread } from './stats';
import { profileTable } from './profileReport';
import {
  pointsOf,
  spreadOf,
  goodput,
  holdGoodput,
  flags,
  perSecond,
  pairedRatio,
  ownCapacity,
  capacityOf,
  ownPhase,
  shedOfSent,
  servedP99,
  holdShedOfSent,
  holdServedP99,
} from './reportPoints';

/** A shed-cost point counts only when nearly every answer was shed. */
const SHED_POINT_MIN_SHARE = 0.9;

export function closedTable(
  r: BenchResults,
  phase: 'closed' | 'capped' = 'closed',
  servers: readonly ServerName[] = r.settings.closed.servers,
): string {
  const rows = servers.map((server) => {
    const ps = pointsOf(r, server, phase);
    const nonOk = spreadOf(ps, (p) => p.report.sent - p.report.served);
    return [
      LABELS[server],
      cell(spreadOf(ps, goodput), 0),
      cell(pairedRatio(r, server, 'node-http', phase, goodput), 2),
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
    ['service / naive twin', 'service', 'naive', '>= 0.6 (what the service adds)'],
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
  const servers: ServerName[] = [
    'naive',
    'protected',
    'service',
    'service-actions',
    'service-soldout',
  ];
  const servedBy = (s: ServerName): ServerName =>
    s === 'service-soldout' || s === 'service-actions' ? 'service' : s;
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
      .filter((s) => servedBy(s) === s || pointsOf(r, s, 'shed').length > 0)
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

export function openTable(r: BenchResults, phase: 'open' | 'overload' = 'open'): string {
  const rows: string[][] = [];
  const section = phase === 'open' ? r.settings.open : r.settings.overload;
  const capacity = capacityOf(r, phase) ?? 0;
  for (const multiple of section.multiples) {
    for (const server of section.servers) {
      const ps = pointsOf(r, server, phase, multiple);
      if (ps.length === 0) continue;
      rows.push([
        `${multiple}x`,
        LABELS[server],
        cell(
          spreadOf(ps, (p) => p.targetRate),
          0,
        ),
        cell(
          spreadOf(ps, (p) => ratio(p.targetRate, ownCapacity(r, server, ownPhase(phase)))),
          1,
        ),
        cell(spreadOf(ps, holdGoodput), 0),
        cell(
          spreadOf(ps, (p) => ratio(holdGoodput(p), capacity)),
          2,
        ),
        cell(spreadOf(ps, servedP99), 0),
        cell(spreadOf(ps, holdServedP99), 0),
        cell(spreadOf(ps, shedOfSent), 2),
        cell(spreadOf(ps, holdShedOfSent), 2),
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
      'hold: served p99, ms',
      'shed, % of sent',
      'hold: shed, % of sent',
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

/**
 * The targets (closed-loop cost, no shedding with headroom, goodput under a capped overload,
 * memory, shed cost), read off this run. A point past the generator's lag limit is not a
 * measurement: it counts for no target, and a target with only such points says so.
 */
export function targetsTable(r: BenchResults): string {
  const servers = [...new Set([...r.settings.open.servers, ...r.settings.overload.servers])];
  const at = (
    server: ServerName,
    phase: 'open' | 'overload',
    multiple: number,
    figure: (p: PointResult) => number | undefined,
    digits: number,
  ): string => {
    const ps = pointsOf(r, server, phase, multiple);
    const measured = ps.filter((p) => notAMeasurement(p.report) === undefined);
    if (ps.length > 0 && measured.length === 0) return 'not a measurement (generator lag)';
    return cell(spreadOf(measured, figure), digits);
  };
  const cappedCapacity = capacityOf(r, 'overload');
  const share = (capacity: number | undefined) => (p: PointResult) =>
    ratio(holdGoodput(p), capacity);
  const rss = (server: ServerName) => {
    const measured = (multiple: number) =>
      pointsOf(r, server, 'overload', multiple).filter(
        (p) => notAMeasurement(p.report) === undefined,
      );
    const low = spreadOf(measured(0.5), (p) => p.peakRssMiB);
    const high = spreadOf(measured(30), (p) => p.peakRssMiB);
    return low === undefined || high === undefined ? 'n/a' : num(high.median / low.median, 2);
  };
  const serviceOnly =
    (value: () => string) =>
    (s: ServerName): string =>
      s === 'service' ? value() : '';
  const rows: [string, (s: ServerName) => string][] = [
    [
      'closed loop: claims/s, service / naive twin >= 0.6',
      serviceOnly(() => cell(pairedRatio(r, 'service', 'naive', 'closed', goodput), 2)),
    ],
    [
      'closed loop: Redis CPU per claim, service / naive twin <= 2.5',
      serviceOnly(() => cell(pairedRatio(r, 'service', 'naive', 'closed', redisCpuPerClaimUs), 2)),
    ],
    [
      'closed loop: admission on / off >= 0.90',
      serviceOnly(() => cell(pairedRatio(r, 'service', 'service-off', 'closed', goodput), 2)),
    ],
    ...[0.5, 0.7].flatMap((m): [string, (s: ServerName) => string][] => [
      [`open ${m}x, hold: shed <= 0.1% of sent`, (s) => at(s, 'open', m, holdShedOfSent, 2)],
      [`open ${m}x, hold: served p99 <= 50 ms`, (s) => at(s, 'open', m, holdServedP99, 0)],
    ]),
    // Goodput over the service's capped capacity means nothing for the twins, whose own
    // capacity differs (the overload table has them, with offered / own capacity).
    [
      'capped 3x: goodput / capped capacity >= 0.85',
      serviceOnly(() => at('service', 'overload', 3, share(cappedCapacity), 2)),
    ],
    ['capped 3x, hold: served p99 <= 300 ms', (s) => at(s, 'overload', 3, holdServedP99, 0)],
    [
      'capped 10x: goodput / capped capacity >= 0.7',
      serviceOnly(() => at('service', 'overload', 10, share(cappedCapacity), 2)),
    ],
    [
      'capped 30x: goodput / capped capacity >= 0.5',
      serviceOnly(() => at('service', 'overload', 30, share(cappedCapacity), 2)),
    ],
    ['capped: peak RSS at 30x / at 0.5x <= 1.5', rss],
    ['CPU of a shed answer / of a served claim <= 0.15', (s) => cell(shedCost(r, s).ratio, 2)],
  ];
  return markdownTable(
    ['target', ...servers.map((s) => LABELS[s])],
    rows.map(([label, value]) => [label, ...servers.map(value)]),
  );
}

export function chartPoints(r: BenchResults, phase: 'open' | 'overload' = 'open'): ChartPoint[] {
  const out: ChartPoint[] = [];
  const section = phase === 'open' ? r.settings.open : r.settings.overload;
  for (const server of section.servers) {
    for (const multiple of section.multiples) {
      const ps = pointsOf(r, server, phase, multiple);
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

/** What the chart plots: the overload section when it ran (it spans the loads), else the open model. */
export function chartView(
  r: BenchResults,
): { points: ChartPoint[]; capacity: number; title: string } | undefined {
  const capped = capacityOf(r, 'overload');
  const overload = chartPoints(r, 'overload');
  if (capped !== undefined && overload.length > 0)
    return {
      points: overload,
      capacity: capped,
      title: `server capped to ${num(r.settings.overload.share * 100, 0)}% of a core; capacity = the capped service's, ADMISSION=off`,
    };
  const open = chartPoints(r, 'open');
  return open.length === 0
    ? undefined
    : { points: open, capacity: r.capacity, title: 'server on a whole core' };
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
      `Goodput is 2xx within the timeout per second over the hold (the ramp is warm-up: a fresh server's first seconds); the "hold:" columns, and the targets, take the served p99 and the shed share over the same requests; the other latency, lost requests, shed share, RSS and CPU cover the whole point, the fresh server's warm-up included. "lost" is requests with no answer in time, connection waits included. A point whose generator lag p99 passed ${MAX_GENERATOR_LAG_MS} ms is marked "not a measurement".`,
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
  if (has('overload')) {
    const o = s.overload;
    sections.push(
      `## Overload, the server capped to ${num(o.share * 100, 0)}% of a core (offered load x the capped capacity, ${o.holdMs / 1000} s after a ${o.rampMs / 1000} s ramp)`,
      '',
    );
    if (r.overload === undefined || 'skipped' in r.overload)
      sections.push(
        `Not run: ${r.overload?.skipped ?? 'no cgroup'}. It needs a writable cgroup v1 cpu controller (/sys/fs/cgroup/cpu) or cgroup v2 with the cpu controller delegated.`,
        '',
      );
    else
      sections.push(
        `A cgroup (${r.overload.cgroup}) caps the server to ${r.overload.quota.quotaUs} µs of CPU every ${r.overload.quota.periodUs} µs, so that 30x its capacity stays within one generator core's reach. The capped capacity is the service's median closed-loop claims/s with ADMISSION=off under the same cap: **${num(r.overload.capacity, 0)}**. A point whose generator lag p99 passed ${MAX_GENERATOR_LAG_MS} ms is marked "not a measurement": the offered load was not what it says.`,
        '',
        closedTable(r, 'capped', o.capacityServers),
        '',
        openTable(r, 'overload'),
        '',
      );
  }
  if (has('open') || has('overload'))
    sections.push('## Targets, as this run measures them', '', targetsTable(r), '');
  if (r.clients !== undefined)
    sections.push(renderClientsSection(r, shedCost(r, 'service').ratio?.median), '');
  if (r.profile !== undefined)
    sections.push('## Where the service spends its CPU', '', profileTable(r), '');
  while (sections.at(-1) === '') sections.pop();
  return `${sections.join('\n')}\n`;
}
