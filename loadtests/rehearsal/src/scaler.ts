import { decide, emptyHpaState, fallbackReading, type HpaState, type MetricReading } from './hpa';
import type { ScaledObjectSpec } from './manifest';

/**
 * KEDA and the HPA together, on a real Prometheus: every polling interval each trigger of the
 * ScaledObject is evaluated through Prometheus's HTTP API (its own query, as the overlay built
 * it), a trigger failing more than failureThreshold polls in a row is replaced by KEDA's fallback
 * metric, and the HPA's arithmetic decides the replicas.
 */

export interface ScalerDecision {
  atMs: number;
  desired: number;
  readings: Record<string, number | 'error' | 'fallback'>;
  reason: string;
}

export interface ScalerOptions {
  spec: ScaledObjectSpec;
  /** Prometheus's base URL now (a restarted Prometheus may have moved) */
  prometheusUrl: () => string;
  /**
   * whether the `index`th cron (pre-scaling) trigger is in its window now; undefined: cron
   * triggers ignored
   */
  cronActive?: (nowMs: number, index: number) => boolean;
  initialReplicas: number;
  /** ready pods of the manifest, for the Value fallback */
  ready: () => number;
  apply: (replicas: number) => void;
}

/** One instant query; a number, or an error for anything else (ignoreNullValues: false). */
export async function queryValue(baseUrl: string, query: string): Promise<number> {
  const response = await fetch(`${baseUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }),
    signal: AbortSignal.timeout(3000),
  });
  const body = (await response.json()) as {
    status: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== 'success' || body.data === undefined)
    throw new Error(`query failed: ${query}`);
  const { resultType, result } = body.data;
  const raw =
    resultType === 'scalar'
      ? (result as [number, string])[1]
      : resultType === 'vector' && (result as unknown[]).length > 0
        ? (result as { value: [number, string] }[])[0]!.value[1]
        : undefined;
  const value = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new Error(`no number for ${query}`);
  return value;
}

export class Scaler {
  replicas: number;
  readonly decisions: ScalerDecision[] = [];
  private readonly failures = new Map<string, number>();
  private readonly state: HpaState = emptyHpaState();
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: ScalerOptions) {
    this.replicas = options.initialReplicas;
  }

  start(): void {
    const every = this.options.spec.pollingIntervalSeconds * 1000;
    this.timer = setInterval(() => void this.poll(), every);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One poll: read every trigger, decide, apply. */
  async poll(nowMs = Date.now()): Promise<ScalerDecision> {
    const { spec } = this.options;
    const readings: MetricReading[] = [];
    const shown: ScalerDecision['readings'] = {};
    let cronIndex = 0;
    for (const trigger of spec.triggers) {
      if (trigger.type === 'cron') {
        if (this.options.cronActive === undefined) continue;
        const value = this.options.cronActive(nowMs, cronIndex++) ? trigger.desiredReplicas : 0;
        readings.push({ kind: 'AverageValue', value, target: 1 });
        shown[trigger.name] = value;
        continue;
      }
      try {
        const value = await queryValue(this.options.prometheusUrl(), trigger.query);
        this.failures.set(trigger.name, 0);
        readings.push({ kind: trigger.metricType, value, target: trigger.threshold });
        shown[trigger.name] = value;
      } catch {
        const failed = (this.failures.get(trigger.name) ?? 0) + 1;
        this.failures.set(trigger.name, failed);
        if (failed > spec.fallback.failureThreshold) {
          readings.push(
            fallbackReading(
              trigger.metricType,
              trigger.threshold,
              spec.fallback,
              this.replicas,
              this.options.ready(),
            ),
          );
          shown[trigger.name] = 'fallback';
        } else {
          readings.push({ kind: 'invalid' });
          shown[trigger.name] = 'error';
        }
      }
    }
    const decision = decide(
      {
        nowMs,
        current: this.replicas,
        ready: this.options.ready(),
        readings,
        minReplicas: spec.minReplicas,
        maxReplicas: spec.maxReplicas,
        behavior: spec.behavior,
      },
      this.state,
    );
    this.replicas = decision.desired;
    this.options.apply(decision.desired);
    const record = {
      atMs: nowMs,
      desired: decision.desired,
      readings: shown,
      reason: decision.reason,
    };
    this.decisions.push(record);
    return record;
  }
}
