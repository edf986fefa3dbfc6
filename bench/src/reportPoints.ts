import type { ServerName } from './catalog';
import { num } from './format';
import {
  MAX_GENERATOR_LAG_MS,
  notAMeasurement,
  serverCoreContention,
  type BenchResults,
  type Phase,
  type PointResult,
} from './results';
import { ratio, spread, type Spread } from './stats';

/* The bench's points picked by server and phase, and the figures the report reads of them. */

export function pointsOf(r: BenchResults, server: ServerName, phase: Phase, multiple?: number) {
  return r.points.filter(
    (p) =>
      p.server === server &&
      p.phase === phase &&
      (multiple === undefined || p.multiple === multiple),
  );
}

export function spreadOf(
  points: readonly PointResult[],
  figure: (p: PointResult) => number | undefined,
) {
  return spread(points.map(figure));
}

export const goodput = (p: PointResult) => p.report.goodputPerSecond;
/** open model: goodput over the hold, the ramp being warm-up */
export const holdGoodput = (p: PointResult) => p.holdGoodputPerSecond ?? p.report.goodputPerSecond;
/** Above this share of the server's core used by others, a point is flagged. */
export const CONTENTION_FLAG = 0.05;

/** Points whose figure is not the server's alone: the load generator or a neighbour set the pace. */
export function flags(ps: readonly PointResult[]): string {
  const saturated = ps.filter((p) => p.report.generatorSaturated).length;
  const lagging = ps.filter((p) => notAMeasurement(p.report) !== undefined).length;
  const contention = Math.max(0, ...ps.map(serverCoreContention));
  return [
    lagging === 0
      ? ''
      : `**not a measurement** (${lagging}/${ps.length}): generator lag p99 > ${MAX_GENERATOR_LAG_MS} ms`,
    saturated === 0 ? '' : `**generator saturated** (${saturated}/${ps.length})`,
    contention <= CONTENTION_FLAG
      ? ''
      : `**server core shared**: up to ${num(contention * 100, 0)}% used by others`,
  ]
    .filter(Boolean)
    .join('; ');
}
export const perSecond = (n: number, p: PointResult) => n / (p.report.durationMs / 1000);

/** Per-repeat ratios of one figure between two servers (repeat i against repeat i). */
export function pairedRatio(
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

/** A server's own median closed-loop throughput: the twins are faster or slower than the service. */
export function ownCapacity(
  r: BenchResults,
  server: ServerName,
  phase: Phase = 'closed',
): number | undefined {
  return spreadOf(pointsOf(r, server, phase), goodput)?.median;
}

/** The capacity an open-model phase's multiples are of: the whole core's, or the capped one's. */
export function capacityOf(r: BenchResults, phase: 'open' | 'overload'): number | undefined {
  if (phase === 'open') return r.capacity;
  return r.overload !== undefined && 'capacity' in r.overload ? r.overload.capacity : undefined;
}

/** The phase's own closed loop: a twin's own capacity, capped or not like the phase. */
export function ownPhase(phase: 'open' | 'overload'): Phase {
  return phase === 'open' ? 'closed' : 'capped';
}

/** Shed answers (429/503 with Retry-After) as a share of the claims sent. */
export const shedOfSent = (p: PointResult) =>
  p.report.sent === 0 ? undefined : (100 * p.report.shed) / p.report.sent;
export const servedP99 = (p: PointResult) =>
  p.report.served > 0 ? p.report.servedLatencyMs.p99 : undefined;
/** The same two over the hold (requests scheduled after the ramp, as goodput): the warm server. */
export const holdShedOfSent = (p: PointResult) =>
  p.hold === undefined || p.hold.sent === 0 ? undefined : (100 * p.hold.shed) / p.hold.sent;
export const holdServedP99 = (p: PointResult) =>
  p.hold === undefined || p.hold.servedLatencyMs.count === 0
    ? undefined
    : p.hold.servedLatencyMs.p99;
