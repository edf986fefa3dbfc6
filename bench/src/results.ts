import type { LatencySummary, LoadReport } from '@coupons/runner';
import type { ServerName } from './catalog';
import type { CpuQuota } from './cgroup';
import type { ClientsMode, ModeSummary, PodShed } from './clientsBook';
import type { ProfileSummary } from './profile';
import type { BenchSettings } from './settings';

/**
 * closed, shed and open run on a whole core; capped (closed loop) and overload (open model) run
 * with the server capped to a share of one core by a cgroup.
 */
export type Phase = 'closed' | 'shed' | 'open' | 'capped' | 'overload';

/** One measured run against one freshly started server: the runner's report and what we read around it. */
export interface PointResult {
  server: ServerName;
  phase: Phase;
  repeat: number;
  /** open model: offered load as a multiple of the service's capacity, and the rate that is */
  multiple?: number;
  targetRate?: number;
  /** open model: 2xx within the timeout per second, for requests scheduled after the ramp */
  holdGoodputPerSecond?: number;
  /** open model: the fewest 2xx of any one second of the hold (requests scheduled in it) */
  holdWorstSecondGoodput?: number;
  /** open model: the requests scheduled in the hold, those shed, and the served ones' latency */
  hold?: { sent: number; shed: number; servedLatencyMs: LatencySummary };
  report: LoadReport & { throughputPerSecond?: number };
  /** wall time of the measured run, ms */
  wallMs: number;
  /** CPU seconds (user + system) of the server process during the measured run */
  cpuSeconds: number;
  peakRssMiB: number;
  /** CPU seconds other processes used on the server's core during the run, and steal time */
  serverCoreOtherSeconds?: number;
  serverCoreStealSeconds?: number;
  /** interrupt time on the server's core (loopback networking lands here too; not flagged) */
  serverCoreInterruptSeconds?: number;
  /** Redis CPU seconds during the run, and the scripts it ran (claim servers only) */
  redisCpuSeconds?: number;
  /** growth of Redis used_memory during the run, bytes */
  redisMemoryBytes?: number;
  scriptCalls?: number;
  scriptUsec?: number;
}

/** One point of the clients section: many simulated chat backends against one fresh pod. */
export interface ClientsPoint {
  mode: ClientsMode;
  round: number;
  /** offered load as a multiple of the section's capacity, and the arrivals/s that is */
  multiple: number;
  targetRate: number;
  /** simulated chat-backend instances (one client, or one connection pool, each) */
  backends: number;
  summary: ModeSummary;
  /**
   * the measured window, ms: from the first arrival until the deadline of the last one has
   * passed (ramp + hold + deadline when the generator keeps up); the pod's CPU, its counters
   * and the generator's figures cover it
   */
  wallMs: number;
  /** until every arrival had settled on the generator's side (a deep queue drains after it) */
  settledMs: number;
  /** CPU seconds (user + system) of the service process over the window, from /proc */
  cpuSeconds: number;
  /** the pod's own counters over the window, and the CPU attributed to shed answers */
  pod: PodShed;
  /** the bench process (the load generator) over the window */
  generator: { utilization: number; cpuSeconds: number };
  serverCoreOtherSeconds?: number;
  serverCoreStealSeconds?: number;
  /** the first error a call threw, if any (the count is in summary.fates.error) */
  firstError?: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  settings: BenchSettings;
  machine: {
    cpuModel: string;
    cpus: number;
    node: string;
    redis: string;
    kernel: string;
    /** taskset found: servers on core 0, this process and Redis on core 1 */
    pinned: boolean;
    /** share of each core busy during the second before the run (other work on the machine) */
    busyBefore: number[];
  };
  /** the service's median closed-loop claim throughput in this run, claims/s */
  capacity: number;
  /** express-rate-limit's per-IP limit in the protected twin: the naive twin's capacity */
  rateLimitPerSecond: number;
  points: PointResult[];
  /** the clients section, when it ran */
  clients?: {
    /** claims/s of one pod that the loads are multiples of, and where it came from */
    capacity: number;
    capacitySource: string;
    points: ClientsPoint[];
  };
  profile?: {
    server: ServerName;
    file: string;
    summary: ProfileSummary;
    /** the same profile as a speedscope file (a flame graph at https://www.speedscope.app) */
    speedscopeFile?: string;
  };
  /** the overload section: the cap and the capped capacity, or why it did not run */
  overload?:
    | {
        share: number;
        quota: CpuQuota;
        cgroup: 'v1' | 'v2';
        /** the service's median capped closed-loop claims/s with ADMISSION=off */
        capacity: number;
      }
    | { skipped: string };
}

/**
 * Past this much scheduling lag (p99: how late the generator sent a request against its
 * timeline) the offered load was not what the point says: the generator, not the server, set the
 * pace, and the point is not a measurement of the server.
 */
export const MAX_GENERATOR_LAG_MS = 20;

/** Why a point is not a measurement of the server, or undefined when it is one. */
export function notAMeasurement(report: Pick<LoadReport, 'schedulerLagMs'>): string | undefined {
  const lag = report.schedulerLagMs;
  if (lag.count === 0 || lag.p99 <= MAX_GENERATOR_LAG_MS) return undefined;
  return `generator lag p99 ${lag.p99.toFixed(0)} ms > ${MAX_GENERATOR_LAG_MS} ms`;
}

/** Requests the server answered in any way (its CPU was spent on them). */
export function answered(report: LoadReport): number {
  const other = Object.values(report.otherStatus).reduce((sum, n) => sum + n, 0);
  return report.served + report.shed + other;
}

export function cpuPerAnswerUs(point: PointResult): number | undefined {
  const n = answered(point.report);
  return n === 0 ? undefined : (point.cpuSeconds * 1e6) / n;
}

export function redisCpuPerClaimUs(point: PointResult): number | undefined {
  if (point.redisCpuSeconds === undefined || point.report.served === 0) return undefined;
  return (point.redisCpuSeconds * 1e6) / point.report.served;
}

export function redisBytesPerClaim(point: PointResult): number | undefined {
  if (point.redisMemoryBytes === undefined || point.report.served === 0) return undefined;
  return point.redisMemoryBytes / point.report.served;
}

export function scriptUsecPerCall(point: PointResult): number | undefined {
  if (point.scriptCalls === undefined || point.scriptUsec === undefined || point.scriptCalls === 0)
    return undefined;
  return point.scriptUsec / point.scriptCalls;
}

/**
 * Share of the answers that refused work: shed (429/503 with Retry-After), or sold out (409, the
 * sold-out point's answer).
 */
export function shedShare(report: LoadReport): number {
  const n = answered(report);
  return n === 0 ? 0 : (report.shed + (report.otherStatus['409'] ?? 0)) / n;
}

/** Share of the server's core taken by anything else (other processes, the hypervisor). */
export function serverCoreContention(
  point: Pick<PointResult, 'serverCoreOtherSeconds' | 'serverCoreStealSeconds' | 'wallMs'>,
): number {
  const other = (point.serverCoreOtherSeconds ?? 0) + (point.serverCoreStealSeconds ?? 0);
  return other / (point.wallMs / 1000);
}
