import { RUNTIME_ENV_DOCS, envReference, envTable, type EnvDocs } from '@coupons/runtime';
import { serviceEnvSchema } from './env';

/** What each variable means, for docs/configuration.md (generated: npm run docs:config). */
export const SERVICE_ENV_DOCS: EnvDocs<typeof serviceEnvSchema.shape> = {
  ...RUNTIME_ENV_DOCS,
  PORT: { meaning: 'API port' },
  METRICS_PORT: { meaning: 'Prometheus `GET /metrics` (not on the API port)' },
  BODY_TIMEOUT_MS: {
    meaning: 'how long a body may take to arrive once its route accepted the request (408 after)',
  },
  HTTP_MAX_CONNECTIONS: {
    meaning: 'open API connections at most; past it a new connection is closed at once',
  },
  HTTP_LISTEN_BACKLOG: { meaning: "the kernel's queue of API connections not yet accepted" },
  HTTP_REQUEST_TIMEOUT_MS: {
    meaning: "a client's time to send its headers, and its whole request (both ports)",
  },
  COUPON_API_KEYS: { meaning: 'JSON list of `{"id","sha256","scopes"}`' },
  COUPON_API_KEYS_FILE: { meaning: 'the same list in a file (a mounted secret)' },
  LEDGER_AUTO_INIT: {
    meaning:
      '`true`: at start-up, create the ledgers of campaigns with no trace in Redis (refused in production)',
  },
  REDIS_SETTINGS_CHECK: {
    meaning:
      '`enforce`: no claims or redemptions on a Redis that may evict keys (or, in production, has no AOF); `warn`: log it and serve; `skip`: do not read `CONFIG` (a managed Redis without it, whose settings the provider confirms)',
  },
  TRANSFER_SWEEP_MS: {
    meaning:
      'how often rebalancing transfers a crashed pod left half-done are completed or written off',
  },
  REDIS_WAIT_REPLICAS: {
    meaning:
      'a claim, redemption or reversal answers its 2xx only once this many replicas hold it (`WAIT` on the master that ran the script; writes answered in the same event-loop turn share one `WAIT`); when they do not in time the answer is 503 `UNAVAILABLE` with Retry-After and the retry with the same Idempotency-Key or orderId returns what the master kept. In production the settings check then also wants `min-replicas-to-write` at least this',
    default: '`0` (off)',
  },
  REDIS_WAIT_TIMEOUT_MS: { meaning: 'how long a write waits for its replicas before that 503' },
  DATABASE_URL: {
    meaning:
      'the book of record (PostgreSQL), for the operator commands only (`npm run reconcile` compares with it, `npm run ledger:init -- --from-record` rebuilds from it); the service never connects to it: no request waits on PostgreSQL',
  },
  CLAIM_CAPACITY_PER_POD: {
    meaning:
      'claims/s one pod is planned for (from `npm run bench`): the autoscaler divides demand by it',
  },
  BUDGET_SAMPLE_MS: { meaning: 'how often the budget gauges are read from Redis' },
  PUSHGATEWAY_URL: {
    meaning:
      'where `npm run reconcile` pushes its result (a Prometheus Pushgateway); none when unset',
  },
  ADMISSION: {
    meaning: '`off` bypasses the gate entirely (to measure capacity, or in an emergency)',
    group: 'admission',
  },
  OVERLOAD_ACTIONS: {
    meaning:
      '`on` turns on the actions below HTTP (pausing, closing keep-alive and refusing connections when most requests are shed for capacity; `coupon_overload_level`). Off by default: measured, they made a shed answer cost 2.7x as much, since a caller whose connection is closed reconnects at once, and lifted no capped goodput (docs/capacity.md)',
    group: 'admission',
  },
  ADMISSION_RATE: {
    meaning: 'per-pod token bucket, requests/s; off when unset',
    group: 'admission',
  },
  ADMISSION_BURST: {
    meaning: "the bucket's size (one second of tokens by default); needs `ADMISSION_RATE`",
    default: 'rate',
    group: 'admission',
  },
  ADMISSION_CONCURRENCY_MIN: {
    meaning: 'the adaptive concurrency limit never goes below this',
    group: 'admission',
  },
  ADMISSION_CONCURRENCY_MAX: { meaning: '... nor above this', group: 'admission' },
  ADMISSION_CLAIM_SHARE: {
    meaning:
      'share of the limit (and of the bucket) new claims may use; redemptions and reads use all',
    group: 'admission',
  },
  ADMISSION_LATENCY_TARGET_MS: {
    meaning: 'the limit shrinks while admitted requests take longer than this',
    group: 'admission',
  },
  ADMISSION_EVENT_LOOP_DELAY_MS: {
    meaning: 'event-loop delay p99 that, sustained 100 ms, throttles claims',
    group: 'admission',
  },
  ADMISSION_EVENT_LOOP_UTILIZATION: {
    meaning:
      'the same for utilisation (0..1), only while claims arrive 25% faster than they complete; off (see below)',
    group: 'admission',
  },
  REQUEST_TIMEOUT_DEFAULT_MS: {
    meaning: "a request's deadline when it sends no `X-Request-Timeout-Ms` (capped at 10000)",
    group: 'admission',
  },
  USER_RATE_LIMIT: {
    meaning: 'claims per user: N requests per S seconds, fleet-wide in Redis; `off` to disable',
    group: 'admission',
  },
  API_KEY_RATE_LIMIT: {
    meaning: 'requests per API key, `N/S`; off because one chat backend key may carry all traffic',
    group: 'admission',
  },
  SOLD_OUT_RETRY_SPREAD_SECONDS: {
    meaning: "TRANCHE_EXHAUSTED's Retry-After points up to this many seconds past the next release",
    group: 'admission',
  },
  SOLD_OUT_PROBE_MS: {
    meaning: 'a shard known sold out lets one claim per interval through to Redis (rebalancing)',
    group: 'admission',
  },
};

/** The tables of docs/configuration.md, by section name: the service's and admission's. */
export function serviceEnvTables(): Record<'env:service' | 'env:admission', string> {
  const rows = envReference(serviceEnvSchema, SERVICE_ENV_DOCS);
  return {
    'env:service': envTable(rows.filter((row) => row.group === undefined)),
    'env:admission': envTable(rows.filter((row) => row.group === 'admission')),
  };
}
