import type { ShedReason } from '@coupons/admission';
import type { ClaimOutcomeLabel } from '@coupons/telemetry';
/**
 * Every metric the rules and the dashboard read, and where it comes from. This is the one list:
 * a query that names anything else is a typo or a metric nobody exports, and the tests refuse it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Who exports the metric (and so which `job` label it carries when Prometheus stores it). */
export type MetricSource =
  /** the coupon service's `/metrics` (job = the service's scrape job) */
  | 'service'
  /** Node's default metrics, on the same endpoint */
  | 'node'
  /** the reconcile CronJob, through a Pushgateway (job = "coupon-reconcile") */
  | 'pushgateway'
  /** the coupon recorder's `/metrics` (job = "coupon-recorder", services/coupon-recorder) */
  | 'recorder'
  /** kube-state-metrics */
  | 'kube-state-metrics'
  /** Prometheus itself, one per scrape target */
  | 'prometheus'
  /** the KEDA operator (2.18's names; labels `namespace` and `scaledObject` of the ScaledObject) */
  | 'keda'
  /** redis_exporter beside each ledger Redis node (the Redis operator's sidecar) */
  | 'redis-exporter';

export interface MetricFamily {
  /** The family's name as exported (a histogram's series add _bucket, _sum and _count). */
  name: string;
  type: MetricType;
  source: MetricSource;
  /** Labels besides the scrape's target labels (job, namespace, pod, instance). */
  labels: readonly string[];
  help: string;
}

/** The label values are the service's own lists: a rule or panel can only name what it exports. */
export {
  CLAIM_OUTCOMES,
  LEDGER_COMMANDS,
  LEDGER_FAULT_REASONS,
  REDEMPTION_OUTCOMES,
  REFUSAL_REASONS,
} from '@coupons/telemetry';
export { PRIORITIES, SHED_REASONS } from '@coupons/admission';

/** Claim outcomes that are the service's fault: a fault it failed closed on, or a bug. */
export const FAULT_OUTCOMES = [
  'unavailable',
  'error',
] as const satisfies readonly ClaimOutcomeLabel[];

/** Claim outcomes that put a coupon in the caller's hands. */
export const GOODPUT_OUTCOMES = [
  'issued',
  'replayed',
] as const satisfies readonly ClaimOutcomeLabel[];

/** Shed reasons that mean "not enough capacity right now" (more pods would have served them). */
export const OVERLOAD_SHED_REASONS = [
  'event_loop',
  'token_bucket',
  'concurrency',
  'deadline',
] as const satisfies readonly ShedReason[];

const budgetGauge = (name: string, help: string): MetricFamily => ({
  name,
  type: 'gauge',
  source: 'service',
  labels: ['campaign'],
  help,
});

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  // Admission: counted at the gate, before express.
  {
    name: 'coupon_requests_received_total',
    type: 'counter',
    source: 'service',
    labels: ['priority'],
    help: 'requests that reached the admission gate, before any shedding (demand)',
  },
  {
    name: 'coupon_admission_shed_total',
    type: 'counter',
    source: 'service',
    labels: ['reason', 'priority'],
    help: 'requests answered by the gate without reaching the application',
  },
  {
    name: 'coupon_admission_inflight',
    type: 'gauge',
    source: 'service',
    labels: ['priority'],
    help: 'admitted requests not yet answered',
  },
  {
    name: 'coupon_admission_concurrency_limit',
    type: 'gauge',
    source: 'service',
    labels: [],
    help: 'the adaptive concurrency limit of the pod (slots)',
  },
  {
    name: 'coupon_admission_saturation',
    type: 'gauge',
    source: 'service',
    labels: [],
    help: 'use of the pod, 0..1: the larger of in-flight / limit and token-bucket use',
  },
  {
    name: 'coupon_event_loop_active_seconds_total',
    type: 'counter',
    source: 'service',
    labels: [],
    help: 'time the event loop was busy; its rate is the utilisation',
  },
  {
    name: 'coupon_event_loop_utilization',
    type: 'gauge',
    source: 'service',
    labels: [],
    help: "event-loop utilisation over the guard's last 100 ms sample",
  },
  {
    name: 'coupon_admission_limit_checks_pending',
    type: 'gauge',
    source: 'service',
    labels: [],
    help: 'per-user / per-key limit checks waiting on Redis',
  },
  {
    name: 'coupon_admission_limiter_insurance_total',
    type: 'counter',
    source: 'service',
    labels: [],
    help: 'limit answers given by the in-memory insurance limiter because Redis did not answer',
  },
  {
    name: 'coupon_admission_limiter_faults_total',
    type: 'counter',
    source: 'service',
    labels: [],
    help: 'limit checks neither Redis nor the insurance limiter answered (admitted: limits fail open)',
  },
  // The front door: answered before admission, never demand.
  {
    name: 'coupon_http_refused_total',
    type: 'counter',
    source: 'service',
    labels: ['reason'],
    help: 'requests the front door answered itself: target, unauthenticated, forbidden, not_found, method_not_allowed, bad_request',
  },
  // Express: only requests the gate let through.
  {
    name: 'coupon_http_requests_total',
    type: 'counter',
    source: 'service',
    labels: ['method', 'route', 'status'],
    help: 'requests served by express, by route pattern and status',
  },
  {
    name: 'coupon_http_request_duration_seconds',
    type: 'histogram',
    source: 'service',
    labels: ['method', 'route', 'status'],
    help: 'time from request start to response finish in express',
  },
  // Claims and money.
  {
    name: 'coupon_claims_total',
    type: 'counter',
    source: 'service',
    labels: ['campaign', 'outcome'],
    help: 'claims answered by the ledger (or refused by a fault), by outcome',
  },
  {
    name: 'coupon_claim_duration_seconds',
    type: 'histogram',
    source: 'service',
    labels: ['campaign', 'outcome'],
    help: 'time of a claim from admission to answer, by outcome',
  },
  {
    name: 'coupon_redemptions_total',
    type: 'counter',
    source: 'service',
    labels: ['campaign', 'outcome'],
    help: 'redemptions and reversals answered by the ledger (or refused by a fault), by outcome',
  },
  {
    name: 'coupon_issued_total',
    type: 'counter',
    source: 'service',
    labels: ['campaign'],
    help: 'coupons issued (replays not counted)',
  },
  {
    name: 'coupon_issued_value_fen_total',
    type: 'counter',
    source: 'service',
    labels: ['campaign'],
    help: 'face value of the coupons issued, in fen (replays not counted)',
  },
  {
    name: 'coupon_redis_command_duration_seconds',
    type: 'histogram',
    source: 'service',
    labels: ['command'],
    help: 'time of one ledger operation against Redis, failures included',
  },
  {
    name: 'coupon_redis_errors_total',
    type: 'counter',
    source: 'service',
    labels: ['command'],
    help: 'ledger operations that failed because Redis did not answer',
  },
  {
    name: 'coupon_ledger_faults_total',
    type: 'counter',
    source: 'service',
    labels: ['campaign', 'reason'],
    help: 'money operations refused with 503 because the ledger cannot be trusted',
  },
  {
    name: 'coupon_redis_settings_ok',
    type: 'gauge',
    source: 'service',
    labels: [],
    help: '1 while Redis has settings that cannot lose coupons (noeviction; AOF in production), 0 while money is refused for them',
  },
  // Budget, sampled from Redis every few seconds.
  budgetGauge('coupon_budget_pool_fen', "the campaign's whole pool"),
  budgetGauge('coupon_budget_released_fen', 'budget released so far, all days'),
  budgetGauge('coupon_budget_issued_fen', 'budget issued so far, all days'),
  budgetGauge('coupon_budget_remaining_fen', 'released and not yet issued'),
  {
    name: 'coupon_budget_shard_remaining_coupons',
    type: 'gauge',
    source: 'service',
    labels: ['campaign', 'shard'],
    help: 'released to the shard and not yet issued, in coupons: sold out happens shard by shard',
  },
  budgetGauge('coupon_budget_today_tranche_fen', "today's whole tranche"),
  budgetGauge('coupon_budget_today_released_fen', "part of today's tranche released so far"),
  budgetGauge('coupon_budget_today_issued_fen', 'issued today'),
  budgetGauge(
    'coupon_budget_next_release_timestamp_seconds',
    'when the next slice is released (Unix seconds)',
  ),
  budgetGauge(
    'coupon_budget_known',
    "1 when every shard's figures are known; 0 when a shard is lost or rolled back (the fen gauges of the campaign are then absent)",
  ),
  {
    name: 'coupon_build_info',
    type: 'gauge',
    source: 'service',
    labels: ['version', 'node'],
    help: 'always 1; the labels say what runs',
  },
  {
    name: 'coupon_claim_capacity_per_pod',
    type: 'gauge',
    source: 'service',
    labels: [],
    help: 'planned claims per second per pod (what the autoscaler divides demand by)',
  },
  // Node's defaults (only those read here).
  {
    name: 'process_cpu_seconds_total',
    type: 'counter',
    source: 'node',
    labels: [],
    help: 'CPU time of the process',
  },
  {
    name: 'process_resident_memory_bytes',
    type: 'gauge',
    source: 'node',
    labels: [],
    help: 'resident memory of the process',
  },
  {
    name: 'nodejs_eventloop_lag_p99_seconds',
    type: 'gauge',
    source: 'node',
    labels: [],
    help: 'event-loop delay, 99th percentile',
  },
  // Reconcile CronJob, through the Pushgateway.
  {
    name: 'coupon_reconcile_clean',
    type: 'gauge',
    source: 'pushgateway',
    labels: ['campaign'],
    help: 'whether the last reconcile found counters, records and audit stream in agreement (1/0)',
  },
  {
    name: 'coupon_reconcile_problems',
    type: 'gauge',
    source: 'pushgateway',
    labels: ['campaign'],
    help: 'differences the last reconcile found',
  },
  {
    name: 'coupon_reconcile_last_run_timestamp_seconds',
    type: 'gauge',
    source: 'pushgateway',
    labels: ['campaign'],
    help: 'when the last reconcile finished (Unix seconds)',
  },
  // The recorder (services/coupon-recorder): audit streams copied to PostgreSQL.
  {
    name: 'coupon_recorder_events_recorded_total',
    type: 'counter',
    source: 'recorder',
    labels: ['campaign', 'type'],
    help: 'audit events in batches committed to PostgreSQL, by event type',
  },
  {
    name: 'coupon_recorder_duplicate_events_total',
    type: 'counter',
    source: 'recorder',
    labels: ['campaign'],
    help: 'events PostgreSQL already held (redelivered after a crash between commit and ack)',
  },
  {
    name: 'coupon_recorder_batches_total',
    type: 'counter',
    source: 'recorder',
    labels: ['outcome'],
    help: 'batches by outcome: ok (committed and acknowledged) or failed (nothing acknowledged)',
  },
  {
    name: 'coupon_recorder_pending_events',
    type: 'gauge',
    source: 'recorder',
    labels: ['campaign', 'shard'],
    help: 'audit entries not yet recorded: delivered and unacknowledged plus not yet delivered',
  },
  {
    name: 'coupon_recorder_oldest_unrecorded_age_seconds',
    type: 'gauge',
    source: 'recorder',
    labels: ['campaign', 'shard'],
    help: 'age of the oldest audit entry not yet recorded (0 when none)',
  },
  {
    name: 'coupon_recorder_rollbacks_detected_total',
    type: 'counter',
    source: 'recorder',
    labels: ['campaign'],
    help: 'shards found behind what PostgreSQL recorded, and marked rolled back',
  },
  {
    name: 'coupon_recorder_shards_fenced_total',
    type: 'counter',
    source: 'recorder',
    labels: ['campaign'],
    help: 'fenced shards verified against PostgreSQL on a new Redis process and opened',
  },
  {
    name: 'coupon_recorder_shard_blocked',
    type: 'gauge',
    source: 'recorder',
    labels: ['campaign', 'shard'],
    help: '1 while PostgreSQL refuses an event of the shard for its content: its recording stops there',
  },
  {
    name: 'coupon_recorder_ledgers_missing',
    type: 'gauge',
    source: 'recorder',
    labels: ['campaign'],
    help: 'shards of the campaign whose ledger is missing from Redis',
  },
  {
    name: 'coupon_recorder_last_batch_timestamp_seconds',
    type: 'gauge',
    source: 'recorder',
    labels: [],
    help: 'when the last batch was committed and acknowledged (Unix seconds)',
  },
  {
    name: 'coupon_recorder_up',
    type: 'gauge',
    source: 'recorder',
    labels: [],
    help: '1 while the recorder loop runs, 0 while it drains after SIGTERM',
  },
  // Replicas.
  {
    name: 'kube_horizontalpodautoscaler_status_desired_replicas',
    type: 'gauge',
    source: 'kube-state-metrics',
    labels: ['horizontalpodautoscaler'],
    help: 'replicas the autoscaler asks for',
  },
  {
    name: 'kube_horizontalpodautoscaler_status_current_replicas',
    type: 'gauge',
    source: 'kube-state-metrics',
    labels: ['horizontalpodautoscaler'],
    help: 'replicas the autoscaler sees',
  },
  {
    name: 'kube_horizontalpodautoscaler_spec_max_replicas',
    type: 'gauge',
    source: 'kube-state-metrics',
    labels: ['horizontalpodautoscaler'],
    help: 'the ceiling the autoscaler may not pass',
  },
  {
    name: 'kube_deployment_status_replicas_available',
    type: 'gauge',
    source: 'kube-state-metrics',
    labels: ['deployment'],
    help: 'pods of the deployment that are ready',
  },
  // The autoscaler itself (KEDA operator).
  {
    name: 'keda_scaled_object_errors_total',
    type: 'counter',
    source: 'keda',
    labels: ['scaledObject'],
    help: "failed polls of the ScaledObject's triggers",
  },
  {
    name: 'keda_scaler_detail_errors_total',
    type: 'counter',
    source: 'keda',
    labels: ['scaledObject', 'scaler', 'triggerIndex', 'metric', 'type'],
    help: 'failed polls, per trigger',
  },
  {
    name: 'keda_scaler_metrics_value',
    type: 'gauge',
    source: 'keda',
    labels: ['scaledObject', 'scaler', 'triggerIndex', 'metric', 'type'],
    help: "each trigger's last value, as the HPA divides it by its target",
  },
  {
    name: 'keda_scaled_object_paused',
    type: 'gauge',
    source: 'keda',
    labels: ['scaledObject'],
    help: '1 while the ScaledObject is paused (the fleet is not scaled)',
  },
  // The ledger's Redis nodes (redis_exporter).
  {
    name: 'redis_memory_used_bytes',
    type: 'gauge',
    source: 'redis-exporter',
    labels: [],
    help: 'memory the node uses',
  },
  {
    name: 'redis_memory_max_bytes',
    type: 'gauge',
    source: 'redis-exporter',
    labels: [],
    help: 'its maxmemory (0: none)',
  },
  {
    name: 'redis_connected_slaves',
    type: 'gauge',
    source: 'redis-exporter',
    labels: [],
    help: 'replicas connected to the node',
  },
  {
    name: 'redis_master_link_up',
    type: 'gauge',
    source: 'redis-exporter',
    labels: [],
    help: "1 while a replica's link to its master is up",
  },
  {
    name: 'redis_instance_info',
    type: 'gauge',
    source: 'redis-exporter',
    labels: ['role', 'redis_version'],
    help: "the node's role (master, slave) and version; value 1",
  },
  {
    name: 'up',
    type: 'gauge',
    source: 'prometheus',
    labels: [],
    help: '1 when the last scrape of the target succeeded',
  },
];

/** The series names a family stores under (a histogram's three). */
export function seriesNames(family: MetricFamily): string[] {
  if (family.type !== 'histogram') return [family.name];
  return ['_bucket', '_sum', '_count'].map((suffix) => `${family.name}${suffix}`);
}

/**
 * Every series name a query of the rules or the dashboard may name, sorted: the list an
 * integration test checks against a Prometheus that scrapes the real service.
 */
export const METRIC_NAMES: readonly string[] = METRIC_FAMILIES.flatMap(seriesNames).sort();
