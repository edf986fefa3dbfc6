import { Counter, type Registry } from 'prom-client';
import type { ClientMetrics } from './metrics';

export interface PrometheusMetricsOptions {
  /** Metric names start with this. Default 'coupon_client_'. */
  prefix?: string;
}

/**
 * A ClientMetrics sink writing to prom-client counters registered in `registry`. Make one per
 * registry and give it to every client of the process (registering the names twice throws).
 *
 * - `<prefix>calls_total{operation,outcome}`: calls by how they ended ('error' when they threw)
 * - `<prefix>attempts_total{operation,result}`: requests sent, by status or connection / no_answer
 * - `<prefix>local_rejections_total{operation,reason}`: answered here (throttle, bulkhead, sold_out)
 * - `<prefix>retries_total{operation,reason}`: retries sent, by what they retried
 * - `<prefix>retry_budget_exhausted_total{operation}`: retries the budget refused
 */
export function prometheusMetrics(
  registry: Registry,
  options: PrometheusMetricsOptions = {},
): ClientMetrics {
  const prefix = options.prefix ?? 'coupon_client_';
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name: `${prefix}${name}`, help, labelNames, registers: [registry] });
  const calls = counter('calls_total', 'Coupon service calls by outcome', ['operation', 'outcome']);
  const attempts = counter('attempts_total', 'Requests sent to the coupon service by result', [
    'operation',
    'result',
  ]);
  const local = counter(
    'local_rejections_total',
    'Calls answered by the client without a request, by reason',
    ['operation', 'reason'],
  );
  const retries = counter('retries_total', 'Retries sent, by what they retried', [
    'operation',
    'reason',
  ]);
  const exhausted = counter(
    'retry_budget_exhausted_total',
    'Retries refused because the retry budget was spent',
    ['operation'],
  );
  return {
    outcome: (operation, outcome) => calls.inc({ operation, outcome }),
    attempt: (operation, result) => attempts.inc({ operation, result }),
    localRejection: (operation, reason) => local.inc({ operation, reason }),
    retry: (operation, reason) => retries.inc({ operation, reason }),
    retryBudgetExhausted: (operation) => exhausted.inc({ operation }),
  };
}
