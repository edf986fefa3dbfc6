export interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A linear ramp from the previous rate to targetRate over durationMs (k6 ramping-arrival-rate); durationMs 0 is a step. */
export interface Stage {
  durationMs: number;
  targetRate: number;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * Sends logical request i again after delayMs (the same RequestSpec, so the same Idempotency-Key).
 * Returns false, sending nothing, when that would fall after the end of the schedule.
 */
export type Retry = (delayMs: number) => boolean;

export interface OpenModelOptions {
  baseUrl: string;
  /** requests/s at t=0 (default 0 when stages are given) */
  startRate?: number;
  stages?: Stage[];
  /** or a constant rate for durationMs */
  ratePerSecond?: number;
  durationMs?: number;
  /** default 2000: no answer within it, connection wait included, counts as lost (timeout) */
  timeoutMs?: number;
  /** pool size, default 1000 */
  connections?: number;
  /** i = 0,1,2,... the i-th scheduled request */
  makeRequest: (i: number) => RequestSpec;
  /**
   * Called for each answer within the timeout, e.g. for a scenario's retry logic. `latencyMs` runs
   * from the request's scheduled time (a wait for a connection included), as the report's do.
   */
  onResponse?: (
    i: number,
    status: number,
    headers: ResponseHeaders,
    body: string,
    retry: Retry,
    latencyMs: number,
  ) => void;
  /** Stops scheduling; requests already sent still finish or time out. */
  signal?: AbortSignal;
}

export interface ClosedLoopOptions {
  baseUrl: string;
  concurrency: number;
  durationMs: number;
  /** sent before the measured window; not counted */
  warmupMs?: number;
  /** default 2000 */
  timeoutMs?: number;
  makeRequest: (i: number) => RequestSpec;
}

/** milliseconds */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  mode: 'open' | 'closed';
  /** measured: the schedule's length, or longer when the generator fell behind it */
  durationMs: number;
  /** sent / duration */
  offeredRate: number;
  /** requests scheduled and attempted, follow-ups included */
  sent: number;
  /** 2xx within the timeout = goodput */
  served: number;
  /** 429/503 that carry Retry-After */
  shed: number;
  /** status -> count: everything else (other 4xx, 5xx, 429/503 without Retry-After) */
  otherStatus: Record<string, number>;
  /** connection refused, reset, protocol errors */
  errors: number;
  /** no answer within timeoutMs of the scheduled time */
  timeouts: number;
  /** served / duration */
  goodputPerSecond: number;
  servedLatencyMs: LatencySummary;
  shedLatencyMs: LatencySummary;
  /** how late the generator started each request against its scheduled time */
  schedulerLagMs: LatencySummary;
  /** the generator, not the server, set the pace: do not report this run as the server's figure */
  generatorSaturated: boolean;
  /** event-loop utilisation of the generator during the run, 0..1 */
  generatorUtilization?: number;
  /** CPU time the generator's process used during the run, ms (user + system) */
  generatorCpuMs?: number;
  /** follow-up requests sent through onResponse's retry (included in sent) */
  followUps?: number;
  /** requests that had to wait for a free connection (the pool was the bottleneck for them) */
  waitedForConnection?: number;
  /** connections the generator opened (reconnects after a timeout's abort not included) */
  connectionsOpened?: number;
}

export type ClosedLoopReport = LoadReport & { throughputPerSecond: number };
