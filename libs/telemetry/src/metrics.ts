import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: dense below 100 ms (the SLO), sparse up to the 2 s client timeout. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5,
];

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
}

export interface ServiceMetrics {
  registry: Registry;
  http: HttpMetrics;
}

/**
 * Every metric of the service lives in one registry passed in, so tests get a fresh one each
 * and never share prom-client's global default.
 */
export function createServiceMetrics(registry: Registry = new Registry()): ServiceMetrics {
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  return {
    registry,
    http: {
      requests: new Counter({
        name: 'coupon_http_requests_total',
        help: 'HTTP requests served by express, by route pattern and status',
        labelNames,
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'coupon_http_request_duration_seconds',
        help: 'Time from request start to response finish, by route pattern and status',
        labelNames,
        buckets: [...LATENCY_BUCKETS_SECONDS],
        registers: [registry],
      }),
    },
  };
}
