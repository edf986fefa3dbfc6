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
import { num } from './format';
import { closedPoint, openPoint, profileRun, type Bench } from './measure';
import { pinProcess, TASKSET } from './processes';
import { coreTimes } from './procfs';
import { writeResults } from './output';
import type { BenchResults, PointResult } from './results';
import { prepareService } from './serviceSetup';
import { parseSettings, UsageError, type BenchSettings } from './settings';
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

function median(points: readonly PointResult[], server: ServerName): number {
  const s = spread(
    points
      .filter((p) => p.server === server && p.phase === 'closed')
      .map((p) => p.report.goodputPerSecond),
  );
  if (s === undefined || s.median <= 0)
    throw new Error(`no closed-loop throughput for ${LABELS[server]}`);
  return s.median;
}

function describe(p: PointResult): string {
  const what = p.phase === 'open' ? `${p.multiple}x (${num(p.targetRate ?? 0, 0)}/s)` : p.phase;
  const r = p.report;
  const flags = r.generatorSaturated ? ' [generator saturated]' : '';
  return `${LABELS[p.server]} ${what} #${p.repeat + 1}: ${num(r.goodputPerSecond, 0)} 2xx/s, shed ${r.shed}, timeouts ${r.timeouts}, errors ${r.errors}, CPU ${num((100 * p.cpuSeconds) / (p.wallMs / 1000), 0)}%, peak RSS ${num(p.peakRssMiB, 0)} MiB${flags}`;
}

function checkBuilt(ctx: LaunchContext): void {
  for (const name of ['node-http', 'service'] as const) {
    const { script } = launchFor(name, ctx);
    if (!existsSync(script)) throw new UsageError(`${script} is missing: run npm run build first`);
  }
}

async function runAll(
  settings: BenchSettings,
  bench: Bench,
): Promise<Omit<BenchResults, 'startedAt' | 'finishedAt' | 'machine'>> {
  const points: PointResult[] = [];
  const { repeat } = settings;
  const total =
    settings.closed.servers.length * repeat +
    Object.keys(SHED_SETUP).length * repeat +
    settings.open.multiples.length * settings.open.servers.length * repeat;
  const record = (p: PointResult) => {
    points.push(p);
    log(`[${points.length}/${total}] ${describe(p)}`);
  };

  let rateLimitPerSecond = 0;
  const envFor = (server: ServerName): Record<string, string> =>
    server === 'protected' ? { RATE_LIMIT_PER_SECOND: String(rateLimitPerSecond) } : {};
  for (const server of settings.closed.servers) {
    for (let r = 0; r < repeat; r++)
      record(await closedPoint(bench, server, 'closed', r, envFor(server)));
    if (server === 'naive') rateLimitPerSecond = Math.round(median(points, 'naive'));
  }
  // Capacity: the service's closed-loop throughput with admission off.
  const capacity = median(points, 'service-off');
  log(
    `capacity: ${num(capacity, 0)} claims/s (the service's median closed-loop throughput, admission off)`,
  );

  for (const [server, setup] of Object.entries(SHED_SETUP) as [
    ServerName,
    { env: Record<string, string> },
  ][])
    for (let r = 0; r < repeat; r++) record(await closedPoint(bench, server, 'shed', r, setup.env));

  // Repeats outermost, so a slow drift of the machine spreads over every point alike.
  for (let r = 0; r < repeat; r++)
    for (const multiple of settings.open.multiples)
      for (const server of settings.open.servers)
        record(await openPoint(bench, server, r, multiple, capacity, envFor(server)));

  const shortfall = median(points, 'service') / median(points, 'naive') < 0.9;
  let profile: BenchResults['profile'];
  if (settings.profile === 'always' || (settings.profile === 'auto' && shortfall)) {
    log(
      `profiling the service (node --cpu-prof) under the closed loop${shortfall ? ': it is under 0.9x the naive twin' : ''}`,
    );
    profile = { server: 'service', ...(await profileRun(bench, 'service')) };
  }
  return {
    settings,
    capacity,
    rateLimitPerSecond,
    points,
    ...(profile === undefined ? {} : { profile }),
  };
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
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
    const bench: Bench = { ctx, admin, settings, requests: claimRequests(service) };
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
