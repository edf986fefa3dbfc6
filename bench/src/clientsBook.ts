/**
 * The clients section's accounting, kept free of timers and sockets so it can be unit-tested:
 * what became of each arrival, per mode, and how much of the pod's CPU went on shed answers.
 */

import { alternatingOrder } from './order';

/** raw: one request per arrival, no retries, no throttle; client: one client.claim per arrival. */
export type ClientsMode = 'raw' | 'client';
export const CLIENTS_MODES: readonly ClientsMode[] = ['raw', 'client'];

/** What one arrival ended in, from the caller's side. */
export type Fate =
  /** a coupon (201, or the client's issued/replayed) within the deadline: goodput */
  | 'served'
  /** a coupon, but after the deadline: the caller had given up */
  | 'served_late'
  /** the pod's shed answer (429/503 with Retry-After) was the last word */
  | 'shed'
  /** the client refused it here (throttle, bulkhead): no request left the process */
  | 'refused_locally'
  /** no answer within the deadline (timeout, reset, no connection) */
  | 'lost'
  /** any other answer (4xx, 5xx without Retry-After, an outcome other than a coupon) */
  | 'other'
  /** the call threw (a fault of the client or of the bench) */
  | 'error';

export const FATES: readonly Fate[] = [
  'served',
  'served_late',
  'shed',
  'refused_locally',
  'lost',
  'other',
  'error',
];

/** A send later than this counts as late (the runner's rule, loadtests/runner tally.ts). */
export const LATE_ARRIVAL_MS = 10;
/** The generator fell behind when its p99 lag passes this... */
export const BEHIND_P99_LAG_MS = 50;
/** ...or when more than this share of arrivals was handled late. */
export const BEHIND_LATE_SHARE = 0.05;

/** raw mode: the HTTP answer to the one request of an arrival (after the deadline, too late). */
export function fateOfAnswer(
  status: number,
  hasRetryAfter: boolean,
  latencyMs: number,
  deadlineMs: number,
): Fate {
  const ok = status >= 200 && status < 300;
  if (latencyMs > deadlineMs) return ok ? 'served_late' : 'lost';
  if (ok) return 'served';
  if (hasRetryAfter && (status === 429 || status === 503)) return 'shed';
  return 'other';
}

/** client mode: the outcome of a client.claim call (kind, and source/cause where it has them). */
export function fateOfOutcome(
  outcome: { kind: string; source?: string; cause?: string },
  latencyMs: number,
  deadlineMs: number,
): Fate {
  const late = latencyMs > deadlineMs;
  switch (outcome.kind) {
    case 'issued':
    case 'replayed':
      return late ? 'served_late' : 'served';
    case 'overloaded':
      return outcome.source === 'service' ? 'shed' : 'refused_locally';
    case 'unavailable':
      // The service's own 503 UNAVAILABLE is an answer; no connection or no answer is lost.
      return outcome.cause === 'service' ? 'other' : 'lost';
    default:
      return 'other';
  }
}

/** Nearest-rank percentile of unsorted values (copied and sorted here); 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export interface ModeSummary {
  /** arrivals scheduled in the hold (the ramp is warm-up); every count below is of those */
  arrivals: number;
  fates: Record<Fate, number>;
  /** requests sent for those arrivals (the client's attempts; raw: 1, or 0 when never sent) */
  requests: number;
  /** served within the deadline per second of the hold */
  goodputPerSecond: number;
  /** from the arrival's scheduled time to its coupon, served within the deadline */
  servedLatencyMs: { p50: number; p99: number; max: number };
  /** requests / served; undefined when nothing was served */
  requestsPerServed?: number;
  /** how late the generator handled each arrival (every arrival, ramp included) */
  lagMs: { p50: number; p99: number; max: number };
  /** share of arrivals handled more than LATE_ARRIVAL_MS late */
  lateShare: number;
  /** the generator set the pace: this point measures the generator, not the pod */
  generatorBehind: boolean;
}

/** Counts what became of every arrival of one point, hold and ramp apart. */
export class ClientsBook {
  private readonly fates = Object.fromEntries(FATES.map((f) => [f, 0])) as Record<Fate, number>;
  private readonly servedLatencies: number[] = [];
  private readonly lags: number[] = [];
  private arrivals = 0;
  private requests = 0;
  private lateArrivals = 0;
  private settledCount = 0;

  constructor(
    /** arrivals with a smaller index were scheduled during the ramp */
    private readonly firstHoldArrival: number,
  ) {}

  /** The generator handled arrival i lagMs after its scheduled time. */
  arrived(lagMs: number): void {
    this.lags.push(lagMs);
    if (lagMs > LATE_ARRIVAL_MS) this.lateArrivals += 1;
  }

  /** Arrival i ended: its fate, from its scheduled time, and the requests it sent. */
  settle(i: number, fate: Fate, latencyMs: number, requests: number): void {
    this.settledCount += 1;
    if (i < this.firstHoldArrival) return;
    this.arrivals += 1;
    this.fates[fate] += 1;
    this.requests += requests;
    if (fate === 'served') this.servedLatencies.push(latencyMs);
  }

  /** arrivals settled so far, ramp included */
  get settled(): number {
    return this.settledCount;
  }

  summary(holdMs: number): ModeSummary {
    const served = this.fates.served;
    const lagP99 = percentile(this.lags, 99);
    const lateShare = this.lags.length === 0 ? 0 : this.lateArrivals / this.lags.length;
    return {
      arrivals: this.arrivals,
      fates: { ...this.fates },
      requests: this.requests,
      goodputPerSecond: holdMs > 0 ? served / (holdMs / 1000) : 0,
      servedLatencyMs: {
        p50: percentile(this.servedLatencies, 50),
        p99: percentile(this.servedLatencies, 99),
        max: percentile(this.servedLatencies, 100),
      },
      ...(served > 0 ? { requestsPerServed: this.requests / served } : {}),
      lagMs: {
        p50: percentile(this.lags, 50),
        p99: lagP99,
        max: percentile(this.lags, 100),
      },
      lateShare,
      generatorBehind: lagP99 > BEHIND_P99_LAG_MS || lateShare > BEHIND_LATE_SHARE,
    };
  }
}

/** The pod's own counters for claims, read from its /metrics (cumulative since its start). */
export interface PodCounters {
  /** claims that reached the admission gate (coupon_requests_received_total{priority="claim"}) */
  received: number;
  /** claims the gate shed, every reason (coupon_admission_shed_total{priority="claim"}) */
  shed: number;
  /** claims the ledger answered with a coupon (coupon_claims_total{outcome="issued"|"replayed"}) */
  issued: number;
}

/** Reads PodCounters out of a Prometheus text exposition. */
export function parsePodCounters(text: string): PodCounters {
  const counters: PodCounters = { received: 0, shed: 0, issued: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name, labels = '', raw] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    const label = (key: string) => new RegExp(`${key}="([^"]*)"`).exec(labels)?.[1];
    if (name === 'coupon_requests_received_total' && label('priority') === 'claim')
      counters.received += value;
    else if (name === 'coupon_admission_shed_total' && label('priority') === 'claim')
      counters.shed += value;
    else if (name === 'coupon_claims_total') {
      const outcome = label('outcome');
      if (outcome === 'issued' || outcome === 'replayed') counters.issued += value;
    }
  }
  return counters;
}

/** The pod's CPU over a point, and the part of it attributed to shed answers. */
export interface PodShed {
  /** counter deltas over the point */
  received: number;
  shed: number;
  issued: number;
  /** shed / received (0 when nothing was received) */
  shedShare: number;
  /**
   * pod CPU seconds x shedShare: the CPU attributed to shed answers by their share of the
   * claims the pod received (each request weighs the same, so this is an upper bound where a
   * shed answer costs less than a claim)
   */
  shedCpuSeconds: number;
}

export function podShed(cpuSeconds: number, before: PodCounters, after: PodCounters): PodShed {
  const received = Math.max(0, after.received - before.received);
  const shed = Math.max(0, after.shed - before.shed);
  const issued = Math.max(0, after.issued - before.issued);
  const shedShare = received === 0 ? 0 : Math.min(1, shed / received);
  return { received, shed, issued, shedShare, shedCpuSeconds: cpuSeconds * shedShare };
}

/**
 * The same CPU with each shed answer weighing `weight` of an admitted claim (the shed-cost
 * section's CPU per shed answer / per served claim, when it ran in the same run):
 * cpu x shed.w / (shed.w + received - shed).
 */
export function weightedShedCpuSeconds(
  cpuSeconds: number,
  pod: Pick<PodShed, 'received' | 'shed'>,
  weight: number,
): number {
  const admitted = Math.max(0, pod.received - pod.shed);
  const shedWork = pod.shed * weight;
  return shedWork + admitted === 0 ? 0 : (cpuSeconds * shedWork) / (shedWork + admitted);
}

/**
 * The order of a section's points: rounds outermost, each round every load with raw then
 * client, so the two modes alternate throughout and no point repeats back to back.
 */
export function clientsOrder(
  rounds: number,
  multiples: readonly number[],
): { round: number; multiple: number; mode: ClientsMode }[] {
  const loads = multiples.flatMap((multiple) => CLIENTS_MODES.map((mode) => ({ multiple, mode })));
  return alternatingOrder(loads, rounds).map(({ item, round }) => ({ round, ...item }));
}
