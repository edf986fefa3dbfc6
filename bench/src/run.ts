import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '@coupons/redis-local';
import {
  claimRequests,
  CLIENT_CORE,
  LABELS,
  launchFor,
  type LaunchContext,
  type ServerName,
} from './catalog';
import { clientsOrder } from './clientsBook';
import { clientsPoint } from './clientsRun';
import { num } from './format';
import { closedPoint, openPoint, profileRun, type Bench } from './measure';
import { cpuQuota, findCgroupRoot, removeStaleCaps } from './cgroup';
import { alternatingOrder } from './order';
import { pinProcess, TASKSET } from './processes';
import { coreTimes } from './procfs';
import { writeResults } from './output';
import { notAMeasurement, type BenchResults, type ClientsPoint, type PointResult } from './results';
import { prepareService } from './serviceSetup';
import { parseSettings, UsageError, type BenchSettings, type Section } from './settings';
import { spread } from './stats';

/** How each server is made to shed nearly everything for the shed-cost point. */
const SHED_SETUP: Partial<Record<ServerName, { env: Record<string, string>; how: string }>> = {
  protected: {
    env: { RATE_LIMIT_PER_SECOND: '1' },
    how: '429 from express-rate-limit (limit 1/s)',
  },
  // The token bucket refuses nearly everything: the cost of the gate's shed path.
  service: {
    env: { ADMISSION_RATE: '1', ADMISSION_BURST: '1' },
    how: 'ADMISSION_RATE=1, ADMISSION_BURST=1',
  },
  // The same with the actions below HTTP on: what they add to (or save from) a shed answer.
  'service-actions': {
    env: { ADMISSION_RATE: '1', ADMISSION_BURST: '1' },
    how: 'ADMISSION_RATE=1, ADMISSION_BURST=1, OVERLOAD_ACTIONS=on',
  },
  // Every shard sold out: the gate answers 409, after looking up whether the claim's
  // Idempotency-Key was served (a replay gets its coupon): one MGET per shard and event-loop turn.
  'service-soldout': {
    env: { SOLD_OUT_PROBE_MS: '3600000', USER_RATE_LIMIT: 'off' },
    how: 'one coupon per shard a day, all taken: 409 TRANCHE_EXHAUSTED after the served-claim lookup',
  },
};

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Share of each core busy over one second before anything starts: other work on this machine. */
async function backgroundLoad(): Promise<number[]> {
  const cores = cpus().map((_, core) => core);
  const before = cores.map(coreTimes);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return cores.map((core) => {
    const a = before[core];
    const b = coreTimes(core);
    if (a === undefined || b === undefined) return 0;
    return b.busy + b.interrupts + b.steal - (a.busy + a.interrupts + a.steal);
  });
}

function median(
  points: readonly PointResult[],
  server: ServerName,
  phase: 'closed' | 'capped' = 'closed',
): number {
  const s = spread(
    points
      .filter((p) => p.server === server && p.phase === phase)
      .map((p) => p.report.goodputPerSecond),
  );
  if (s === undefined || s.median <= 0)
    throw new Error(`no closed-loop throughput for ${LABELS[server]}`);
  return s.median;
}

function describe(p: PointResult): string {
  const what =
    p.phase === 'open' || p.phase === 'overload'
      ? `${p.phase === 'overload' ? 'capped ' : ''}${p.multiple}x (${num(p.targetRate ?? 0, 0)}/s)`
      : p.phase;
  const r = p.report;
  const lag = notAMeasurement(r);
  const flags = `${r.generatorSaturated ? ' [generator saturated]' : ''}${lag === undefined ? '' : ` [NOT A MEASUREMENT: ${lag}]`}`;
  return `${LABELS[p.server]} ${what} #${p.repeat + 1}: ${num(r.goodputPerSecond, 0)} 2xx/s, shed ${r.shed}, timeouts ${r.timeouts}, errors ${r.errors}, CPU ${num((100 * p.cpuSeconds) / (p.wallMs / 1000), 0)}%, peak RSS ${num(p.peakRssMiB, 0)} MiB${flags}`;
}

function describeClients(p: ClientsPoint, capacity: number): string {
  const s = p.summary;
  const flags = s.generatorBehind ? ' [generator behind]' : '';
  return `clients ${p.mode} ${p.multiple}x (${num(p.targetRate, 0)}/s, ${p.backends} backends) #${p.round + 1}: goodput ${num(s.goodputPerSecond / capacity, 2)} of capacity, served p99 ${num(s.servedLatencyMs.p99, 0)} ms, ${s.requestsPerServed === undefined ? 'nothing served' : `${num(s.requestsPerServed, 2)} requests per served claim`}, pod CPU ${num((100 * p.cpuSeconds) / (p.wallMs / 1000), 0)}% (shed ${num((100 * p.pod.shedCpuSeconds) / (p.wallMs / 1000), 0)}%), lag p99 ${num(s.lagMs.p99, 0)} ms${flags}${p.firstError === undefined ? '' : `, first error: ${p.firstError}`}`;
}

function checkBuilt(ctx: LaunchContext): void {
  for (const name of ['node-http', 'service'] as const) {
    const { script } = launchFor(name, ctx);
    if (!existsSync(script)) throw new UsageError(`${script} is missing: run npm run build first`);
  }
}

/** One round of an open-model section: every load, every server at it in turn. */
function openLoads(section: {
  multiples: readonly number[];
  servers: readonly ServerName[];
}): { multiple: number; server: ServerName }[] {
  return section.multiples.flatMap((multiple) =>
    section.servers.map((server) => ({ multiple, server })),
  );
}

/** How many points the run measures (for the log's [n/total]). */
function pointCount(
  settings: BenchSettings,
  bench: Bench,
  closedServers: readonly ServerName[],
  clientsPoints: number,
): number {
  const { repeat } = settings;
  const has = (section: Section) => settings.sections.includes(section);
  return (
    closedServers.length * repeat +
    (has('shed') ? Object.keys(SHED_SETUP).length * repeat : 0) +
    (has('open') ? settings.open.multiples.length * settings.open.servers.length * repeat : 0) +
    (has('overload') && bench.cgroup !== undefined && !('why' in bench.cgroup)
      ? (settings.overload.capacityServers.length +
          settings.overload.multiples.length * settings.overload.servers.length) *
        repeat
      : 0) +
    clientsPoints
  );
}

async function runAll(
  settings: BenchSettings,
  bench: Bench,
): Promise<Omit<BenchResults, 'startedAt' | 'finishedAt' | 'machine'>> {
  const points: PointResult[] = [];
  const { repeat } = settings;
  const has = (section: Section) => settings.sections.includes(section);
  const clientsCapacityGiven = settings.clients.capacityPerPod;
  // The clients section alone needs only the pod's capacity, unless CLAIM_CAPACITY_PER_POD gives it.
  const closedServers: ServerName[] = has('closed')
    ? settings.closed.servers
    : has('clients') && clientsCapacityGiven === undefined
      ? ['service-off']
      : [];
  const order = has('clients') ? clientsOrder(repeat, settings.clients.multiples) : [];
  const total = pointCount(settings, bench, closedServers, order.length);
  let done = 0;
  const record = (p: PointResult) => {
    points.push(p);
    log(`[${++done}/${total}] ${describe(p)}`);
  };

  let rateLimitPerSecond = 0;
  const envFor = (server: ServerName): Record<string, string> =>
    server === 'protected' ? { RATE_LIMIT_PER_SECOND: String(rateLimitPerSecond) } : {};
  // Rounds alternate the servers (alternatingOrder): no server's repeats back to back. The
  // protected twin's limit is the naive twin's throughput so far (naive runs before it each round).
  for (const { item: server, round } of alternatingOrder(closedServers, repeat)) {
    if (server === 'protected' && closedServers.includes('naive'))
      rateLimitPerSecond = Math.round(median(points, 'naive'));
    record(await closedPoint(bench, server, 'closed', round, envFor(server)));
  }
  // Capacity: the service's closed-loop throughput with admission off.
  const capacity = closedServers.includes('service-off')
    ? median(points, 'service-off')
    : (clientsCapacityGiven ?? 0);
  if (closedServers.includes('service-off'))
    log(
      `capacity: ${num(capacity, 0)} claims/s (the service's median closed-loop throughput, admission off)`,
    );

  if (has('shed')) await runShed(bench, repeat, record);

  // Repeats outermost, so a slow drift of the machine spreads over every point alike.
  if (has('open')) await openRounds(bench, settings.open, 'open', capacity, repeat, record, envFor);

  const overload = has('overload')
    ? await runOverload(settings, bench, record, envFor, () =>
        median(points, 'service-off', 'capped'),
      )
    : undefined;
  const clients = has('clients')
    ? await runClients(bench, order, clientsCapacityGiven ?? capacity, clientsCapacityGiven, (p) =>
        log(`[${++done}/${total}] ${describeClients(p, clientsCapacityGiven ?? capacity)}`),
      )
    : undefined;

  let profile: BenchResults['profile'];
  if (has('closed') && settings.profile === 'always') {
    log('profiling the service (node --cpu-prof) under the closed loop');
    profile = { server: 'service', ...(await profileRun(bench, 'service')) };
  }
  return {
    settings,
    capacity,
    rateLimitPerSecond,
    points,
    ...(overload === undefined ? {} : { overload }),
    ...(clients === undefined ? {} : { clients }),
    ...(profile === undefined ? {} : { profile }),
  };
}

/** An open-model section's points, repeats outermost (a slow drift spreads over every point alike). */
async function openRounds(
  bench: Bench,
  section: { multiples: readonly number[]; servers: readonly ServerName[] },
  phase: 'open' | 'overload',
  capacity: number,
  repeat: number,
  record: (p: PointResult) => void,
  envFor: (server: ServerName) => Record<string, string>,
): Promise<void> {
  for (const { item, round } of alternatingOrder(openLoads(section), repeat))
    record(
      await openPoint(
        bench,
        item.server,
        phase,
        round,
        item.multiple,
        capacity,
        envFor(item.server),
      ),
    );
}

/** The shed section: each server's closed loop set up to shed nearly every claim (SHED_SETUP). */
async function runShed(bench: Bench, repeat: number, record: (p: PointResult) => void) {
  const shedServers = Object.entries(SHED_SETUP) as [ServerName, { env: Record<string, string> }][];
  for (const {
    item: [server, setup],
    round,
  } of alternatingOrder(shedServers, repeat))
    record(await closedPoint(bench, server, 'shed', round, setup.env));
}

/** The overload section: the capped closed loops, then the open model against their capacity. */
async function runOverload(
  settings: BenchSettings,
  bench: Bench,
  record: (p: PointResult) => void,
  envFor: (server: ServerName) => Record<string, string>,
  cappedMedian: () => number,
): Promise<BenchResults['overload']> {
  const { repeat } = settings;
  const { share } = settings.overload;
  const { cgroup } = bench;
  if (cgroup === undefined || 'why' in cgroup) {
    const skipped = cgroup?.why ?? 'no cgroup';
    log(`overload section skipped: cannot cap a server's CPU here (${skipped})`);
    return { skipped };
  } else {
    const quota = cpuQuota(share);
    log(
      `overload section: servers capped to ${num(share * 100, 0)}% of a core (cgroup v${cgroup.version}, ${quota.quotaUs} µs every ${quota.periodUs} µs)`,
    );
    const capacityServers = settings.overload.capacityServers;
    for (const { item: server, round } of alternatingOrder(capacityServers, repeat))
      record(await closedPoint(bench, server, 'capped', round, envFor(server)));
    const cappedCapacity = cappedMedian();
    log(
      `capped capacity: ${num(cappedCapacity, 0)} claims/s (the service's median capped closed loop, admission off)`,
    );
    await openRounds(bench, settings.overload, 'overload', cappedCapacity, repeat, record, envFor);
    return { share, quota, cgroup: `v${cgroup.version}`, capacity: cappedCapacity };
  }
}

/** The clients section: raw and client modes alternating (clientsOrder) at each load. */
async function runClients(
  bench: Bench,
  order: ReturnType<typeof clientsOrder>,
  clientsCapacity: number,
  clientsCapacityGiven: number | undefined,
  logPoint: (p: ClientsPoint) => void,
): Promise<BenchResults['clients']> {
  const capacitySource =
    clientsCapacityGiven !== undefined
      ? 'CLAIM_CAPACITY_PER_POD'
      : "the pod's median closed-loop claims/s with ADMISSION=off, this run";
  log(`clients section: capacity ${num(clientsCapacity, 0)} claims/s (${capacitySource})`);
  const clientPoints: ClientsPoint[] = [];
  // Raw and client alternate throughout (clientsOrder): no mode's points back to back.
  for (const { round, multiple, mode } of order) {
    const p = await clientsPoint(bench, mode, round, multiple, clientsCapacity);
    clientPoints.push(p);
    logPoint(p);
  }
  return { capacity: clientsCapacity, capacitySource, points: clientPoints };
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2), process.env);
  const busyBefore = await backgroundLoad();
  if (busyBefore.some((share) => share > 0.1))
    log(
      `warning: this machine is busy before the bench starts (${busyBefore.map((s) => `${num(s * 100, 0)}%`).join(', ')} of its cores): figures will be low and noisy`,
    );
  const startedAt = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'coupons-bench-'));
  const service = prepareService(dir);
  const redisServer = await startRedisServer();
  const ctx: LaunchContext = { redisUrl: redisServer.url, dir, service };
  const admin = new Redis(redisServer.url);
  let failed = true;
  try {
    checkBuilt(ctx);
    // The runner (this process) and Redis share core 1; each server gets core 0 to itself.
    pinProcess(process.pid, CLIENT_CORE);
    pinProcess(redisServer.pid, CLIENT_CORE);
    const redisVersion = /^redis_version:(\S+)/m.exec(await admin.info('server'))?.[1] ?? '?';
    const cgroup = settings.sections.includes('overload') ? findCgroupRoot() : undefined;
    if (cgroup !== undefined && !('why' in cgroup)) removeStaleCaps(cgroup);
    const bench: Bench = {
      ctx,
      admin,
      settings,
      requests: claimRequests(service),
      ...(cgroup === undefined ? {} : { cgroup }),
    };
    const measured = await runAll(settings, bench);
    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
        cpus: cpus().length,
        node: process.version,
        redis: redisVersion,
        kernel: release(),
        pinned: TASKSET !== undefined,
        busyBefore,
      },
      ...measured,
    };
    const shedHow = Object.fromEntries(Object.entries(SHED_SETUP).map(([k, v]) => [k, v.how]));
    const written = await writeResults(results, shedHow);
    log(`written: ${written.join(', ')}`);
    log(`took ${num((Date.now() - startedAt.getTime()) / 60_000, 1)} min`);
    failed = false;
  } finally {
    admin.disconnect();
    await redisServer.stop();
    if (failed) log(`server logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => process.exit(130)); // exit hooks stop Redis and every server

main().catch((err: unknown) => {
  log(
    err instanceof UsageError
      ? err.message
      : `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  process.exit(err instanceof UsageError ? 2 : 1);
});
