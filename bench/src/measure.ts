import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import {
  isShedAnswer,
  newLatencyHistogram,
  recordMs,
  runClosedLoop,
  runOpenModel,
  summarize,
  type LoadReport,
  type RequestSpec,
} from '@coupons/runner';
import {
  CLAIMS,
  isService,
  LABELS,
  launchFor,
  SERVER_CORE,
  type LaunchContext,
  type ServerName,
} from './catalog';
import { makeCpuCap, type CgroupRoot } from './cgroup';
import { startServer, TASKSET, type RunningServer } from './processes';
import { coreTimes, cpuSeconds, peakRssMiB, resetPeakRss } from './procfs';
import { summariseProfile, type CpuProfile, type ProfileSummary } from './profile';
import { redisBefore, scriptCalls, snapshot } from './redisStats';
import type { Phase, PointResult } from './results';
import type { BenchSettings } from './settings';

export interface Bench {
  ctx: LaunchContext;
  /** the bench's own connection to its private Redis */
  admin: Redis;
  settings: BenchSettings;
  requests: (tag: string) => (i: number) => RequestSpec;
  /** where CPU caps are made (the overload section), or why this machine has none */
  cgroup?: CgroupRoot | { why: string };
}

let runs = 0;
/** Every runner call gets new userIds and Idempotency-Keys. */
export const nextTag = () => (runs++).toString(36);

export interface ServerOptions {
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** the shed-cost point: the first answer may already be shed */
  expectShed?: boolean;
  /** cap the server to this share of one core (a cgroup), once it has started */
  capShare?: number;
}

/** A fresh server on an empty Redis for every point, so no point inherits another's backlog. */
export async function withServer<T>(
  bench: Bench,
  name: ServerName,
  options: ServerOptions,
  use: (server: RunningServer) => Promise<T>,
): Promise<T> {
  await bench.admin.flushall(); // the private Redis; the service's dev start-up re-creates its ledger
  const server = await startServer(launchFor(name, bench.ctx, options));
  let cap: ReturnType<typeof makeCpuCap> | undefined;
  try {
    if (options.capShare !== undefined) {
      const { cgroup } = bench;
      if (cgroup === undefined || 'why' in cgroup)
        throw new Error(`cannot cap the server's CPU: ${cgroup?.why ?? 'no cgroup looked for'}`);
      // Started uncapped (start-up is not measured), capped before its first claim.
      cap = makeCpuCap(cgroup, options.capShare);
      cap.add(server.pid);
    }
    await checkAnswers(bench, name, server, options.expectShed === true);
    return await use(server);
  } finally {
    await server.stop();
    cap?.remove();
  }
}

/** One claim by hand before the load: a misconfigured server fails here, not as a fast 401 "capacity". */
async function checkAnswers(
  bench: Bench,
  name: ServerName,
  server: RunningServer,
  expectShed: boolean,
): Promise<void> {
  if (isService(name)) await waitReady(`${server.baseUrl}/readyz`);
  const spec = bench.requests('check')(0);
  const res = await fetch(`${server.baseUrl}${spec.path}`, {
    method: spec.method,
    headers: { ...spec.headers, connection: 'close' },
    body: spec.body,
  });
  const text = await res.text();
  const expected = CLAIMS[name] ? 201 : 200;
  // Sold out (409 with Retry-After) is the answer the sold-out point measures.
  const shed = res.status === 429 || res.status === 503 || res.status === 409;
  if (res.status !== expected && !(expectShed && shed))
    throw new Error(`${LABELS[name]} answered ${res.status} to a claim: ${text.slice(0, 500)}`);
}

async function waitReady(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url, { headers: { connection: 'close' } }).then(
      async (res) => (await res.text(), res.status),
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs the load and reads the server's CPU, peak RSS and Redis's CPU around it. */
async function measure(
  bench: Bench,
  name: ServerName,
  server: RunningServer,
  load: () => Promise<LoadReport & { throughputPerSecond?: number }>,
): Promise<Omit<PointResult, 'server' | 'phase' | 'repeat'>> {
  const claims = CLAIMS[name];
  if (!resetPeakRss(server.pid)) throw new Error('cannot reset VmHWM (/proc/<pid>/clear_refs)');
  const redis0 = claims ? await redisBefore(bench.admin) : undefined;
  const core0 = TASKSET === undefined ? undefined : coreTimes(SERVER_CORE);
  const cpu0 = cpuSeconds(server.pid);
  const started = performance.now();
  const report = await load();
  const wallMs = performance.now() - started;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const core1 = core0 === undefined ? undefined : coreTimes(SERVER_CORE);
  const peak = peakRssMiB(server.pid);
  // Another process on the server's core (or the hypervisor) would lower the server's figures.
  const serverCore =
    core0 === undefined || core1 === undefined
      ? {}
      : {
          serverCoreOtherSeconds: Math.max(0, core1.busy - core0.busy - cpu),
          serverCoreStealSeconds: core1.steal - core0.steal,
          serverCoreInterruptSeconds: core1.interrupts - core0.interrupts,
        };
  if (redis0 === undefined)
    return { report, wallMs, cpuSeconds: cpu, peakRssMiB: peak, ...serverCore };
  const redis1 = await snapshot(bench.admin);
  const scripts = await scriptCalls(bench.admin);
  return {
    report,
    wallMs,
    cpuSeconds: cpu,
    peakRssMiB: peak,
    ...serverCore,
    redisCpuSeconds: redis1.cpuSeconds - redis0.cpuSeconds,
    redisMemoryBytes: redis1.memoryBytes - redis0.memoryBytes,
    scriptCalls: scripts.calls,
    scriptUsec: scripts.usec,
  };
}

function closedLoop(bench: Bench, server: RunningServer, durationMs: number) {
  return runClosedLoop({
    baseUrl: server.baseUrl,
    concurrency: bench.settings.concurrency,
    durationMs,
    warmupMs: 0,
    timeoutMs: bench.settings.timeoutMs,
    makeRequest: bench.requests(nextTag()),
  });
}

/**
 * Closed loop: a warm-up run (discarded), then the measured run, so CPU and requests cover the
 * same window. 'shed' is the same against a server set up to shed nearly everything.
 */
export function closedPoint(
  bench: Bench,
  name: ServerName,
  phase: Extract<Phase, 'closed' | 'shed' | 'capped'>,
  repeat: number,
  env: Record<string, string> = {},
): Promise<PointResult> {
  const { warmupMs, durationMs } = phase === 'shed' ? bench.settings.shed : bench.settings.closed;
  const capShare = phase === 'capped' ? { capShare: bench.settings.overload.share } : {};
  return withServer(
    bench,
    name,
    { env, expectShed: phase === 'shed', ...capShare },
    async (server) => {
      if (warmupMs > 0) await closedLoop(bench, server, warmupMs);
      const measured = await measure(bench, name, server, () =>
        closedLoop(bench, server, durationMs),
      );
      return { server: name, phase, repeat, ...measured };
    },
  );
}

/**
 * Open model: arrivals on a fixed timeline at multiple x capacity after a linear ramp from 0. The
 * ramp is warm-up (a fresh server's first seconds: JIT, heap, connections): goodput, and the
 * hold's own served latency and shed share, count requests scheduled after it; the report's
 * latency, CPU and RSS cover the whole point.
 */
export function openPoint(
  bench: Bench,
  name: ServerName,
  phase: Extract<Phase, 'open' | 'overload'>,
  repeat: number,
  multiple: number,
  capacity: number,
  env: Record<string, string> = {},
): Promise<PointResult> {
  const { rampMs, holdMs } = phase === 'open' ? bench.settings.open : bench.settings.overload;
  const capShare = phase === 'overload' ? { capShare: bench.settings.overload.share } : {};
  const targetRate = Math.max(1, Math.round(multiple * capacity));
  // The runner's schedule: arrival k comes when the area under the rate reaches k.
  const firstHoldArrival = Math.ceil((targetRate * rampMs) / 1000 / 2);
  let holdServed = 0;
  let holdSent = 0;
  let holdShed = 0;
  const holdLatency = newLatencyHistogram();
  const makeRequest = bench.requests(nextTag());
  // 2xx per second of the hold, by when each request was scheduled: a collapse shows as a dip.
  const holdSeconds = Math.max(1, Math.floor(holdMs / 1000));
  const perHoldSecond = new Array<number>(holdSeconds).fill(0);
  return withServer(bench, name, { env, ...capShare }, async (server) => {
    const measured = await measure(bench, name, server, () =>
      runOpenModel({
        baseUrl: server.baseUrl,
        startRate: 0,
        stages: [
          { durationMs: rampMs, targetRate },
          { durationMs: holdMs, targetRate },
        ],
        timeoutMs: bench.settings.timeoutMs,
        makeRequest: (i) => {
          if (i >= firstHoldArrival) holdSent += 1;
          return makeRequest(i);
        },
        onResponse: (i, status, headers, _body, _retry, latencyMs) => {
          if (i < firstHoldArrival) return;
          if (isShedAnswer(status, headers['retry-after'] !== undefined)) holdShed += 1;
          if (status < 200 || status >= 300) return;
          holdServed += 1;
          recordMs(holdLatency, latencyMs);
          const second = Math.floor((i - firstHoldArrival) / targetRate);
          if (second < holdSeconds) perHoldSecond[second] = (perHoldSecond[second] ?? 0) + 1;
        },
      }),
    );
    const holdGoodputPerSecond = holdServed / (holdMs / 1000);
    return {
      server: name,
      phase,
      repeat,
      multiple,
      targetRate,
      holdGoodputPerSecond,
      holdWorstSecondGoodput: Math.min(...perHoldSecond),
      hold: { sent: holdSent, shed: holdShed, servedLatencyMs: summarize(holdLatency) },
      ...measured,
    };
  });
}

/** A closed-loop run under node --cpu-prof; the profile is written when the server exits. */
export async function profileRun(
  bench: Bench,
  name: ServerName,
): Promise<{ file: string; summary: ProfileSummary }> {
  const dir = join(bench.ctx.dir, `cpuprofile-${name}`);
  mkdirSync(dir, { recursive: true });
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const { warmupMs, durationMs } = bench.settings.closed;
  await withServer(bench, name, { nodeArgs }, async (server) => {
    await closedLoop(bench, server, warmupMs + durationMs);
  });
  const written = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (written === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
  const file = join(dir, written);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  return { file, summary: summariseProfile(profile) };
}
