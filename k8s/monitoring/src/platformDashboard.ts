import { type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  assembleDashboard,
  CAMPAIGN,
  flag,
  rate,
  stat,
  templateVariables,
  timeseries,
  type StatBuilder,
  type TimeseriesBuilder,
} from './dashboardKit';
import { DEFAULT_RULE_OPTIONS, RECORDER_OLDEST_AGE_SECONDS, type RuleOptions } from './rules';

/**
 * What the service stands on, in a dashboard of its own: the recorder (the book of record), the
 * autoscaler (KEDA) and the ledger's Redis nodes. Apart from the service dashboard because these
 * series come from other processes (the recorder, the KEDA operator, redis_exporter): the service
 * dashboard's queries must all answer from the service alone.
 */

export const PLATFORM_DASHBOARD_UID = 'coupon-platform';

/** The template variables every query of this dashboard may use. */
export const PLATFORM_TEMPLATE_VARIABLES = [
  'datasource',
  'namespace',
  'recorder',
  'campaign',
] as const;

/** A selector of the recorder's series: this namespace, the recorder's job, the campaigns chosen. */
const recorder = (metric: string, ...matchers: string[]): string =>
  `${metric}{${['namespace="$namespace"', 'job="$recorder"', ...matchers].join(', ')}}`;

function recorderRow(): (TimeseriesBuilder | StatBuilder)[] {
  return [
    stat({
      title: 'Is a recorder running?',
      description:
        'Recorder pods whose loop runs (coupon_recorder_up 1), and pods scraped. None running: audit events are not copied to PostgreSQL, the streams are not trimmed and a rolled-back shard goes unnoticed (CouponRecorderDown).',
      unit: 'none',
      width: 6,
      steps: [
        { value: null, color: 'red' },
        { value: 1, color: 'green' },
      ],
      targets: [
        { expr: `sum(${recorder('coupon_recorder_up')})`, legend: 'running' },
        { expr: `sum(${recorder('up')})`, legend: 'scraped' },
      ],
    }),
    timeseries({
      title: 'How many audit events wait for PostgreSQL, per shard?',
      description:
        'Entries of each shard’s audit stream not yet recorded (pending or not yet delivered), per campaign and shard. A shard that grows while the others stay flat is stuck; all growing means PostgreSQL is slow or refusing batches (CouponRecorderLagHigh).',
      unit: 'short',
      min: 0,
      width: 18,
      targets: [
        {
          expr: `max by (campaign, shard) (${recorder('coupon_recorder_pending_events', CAMPAIGN)})`,
          legend: '{{campaign}} shard {{shard}}',
        },
      ],
    }),
    timeseries({
      title: 'How old is the oldest unrecorded event, per shard?',
      description: `Age of the oldest audit entry of each shard not yet in PostgreSQL. Past ${RECORDER_OLDEST_AGE_SECONDS / 60} minutes it pages (CouponRecorderOldestUnrecordedAge): that history would be lost with Redis.`,
      unit: 's',
      min: 0,
      limit: { value: RECORDER_OLDEST_AGE_SECONDS },
      targets: [
        {
          expr: `max by (campaign, shard) (${recorder('coupon_recorder_oldest_unrecorded_age_seconds', CAMPAIGN)})`,
          legend: '{{campaign}} shard {{shard}}',
        },
      ],
    }),
    timeseries({
      title: 'Are batches committed, or failing?',
      description:
        'Batches per second by outcome: ok (committed to PostgreSQL and acknowledged in Redis) or failed (nothing acknowledged; the entries are taken again). Events recorded per second beside them. Failures with no ok means PostgreSQL refuses every batch.',
      unit: 'ops',
      min: 0,
      targets: [
        {
          expr: `sum by (outcome) (${rate(recorder('coupon_recorder_batches_total'))})`,
          legend: 'batches {{outcome}}',
        },
        {
          expr: `sum(${rate(recorder('coupon_recorder_events_recorded_total', CAMPAIGN))})`,
          legend: 'events recorded',
        },
      ],
    }),
  ];
}

function autoscalerRow(o: RuleOptions): (TimeseriesBuilder | StatBuilder)[] {
  const keda = (metric: string) =>
    `${metric}{namespace="$namespace", scaledObject="${o.scaledObject}"}`;
  return [
    timeseries({
      title: 'What does each trigger of the autoscaler read?',
      description:
        'The last value KEDA read for each trigger of the ScaledObject (demand: pods needed at plan; saturation: 0..1; cron: the pre-scaled size while its window is open). The HPA divides each by its target and takes the largest: the trigger on top sizes the fleet.',
      unit: 'short',
      min: 0,
      width: 12,
      targets: [
        {
          expr: `max by (scaler, triggerIndex, metric) (${keda('keda_scaler_metrics_value')})`,
          legend: '#{{triggerIndex}} {{metric}}',
        },
      ],
    }),
    timeseries({
      title: 'Is KEDA failing to read its triggers (fallback)?',
      description:
        'Failed polls per second, per trigger and for the ScaledObject as a whole. Past failureThreshold (3) in a row KEDA falls back: the fleet holds fallback.replicas or the running count, whichever is higher, and no longer follows demand (CouponAutoscalerBlind).',
      unit: 'ops',
      min: 0,
      width: 8,
      bars: true,
      targets: [
        {
          expr: `sum by (scaler, triggerIndex) (${rate(keda('keda_scaler_detail_errors_total'))})`,
          legend: '#{{triggerIndex}} {{scaler}}',
        },
        {
          expr: `sum(${rate(keda('keda_scaled_object_errors_total'))})`,
          legend: 'ScaledObject',
        },
      ],
    }),
    stat({
      title: 'Is the autoscaler paused?',
      description:
        'Whether the ScaledObject is paused (the autoscaling.keda.sh/paused annotation): while paused nothing scales the fleet, whatever the crowd.',
      unit: 'none',
      width: 4,
      mappings: flag('paused', 'scaling'),
      targets: [{ expr: `max(${keda('keda_scaled_object_paused')})`, legend: 'paused' }],
    }),
  ];
}

function redisRow(o: RuleOptions): TimeseriesBuilder[] {
  const node = (metric: string, ...m: string[]) =>
    `${metric}{${['namespace="$namespace"', `job=~"${o.redisJob}"`, ...m].join(', ')}}`;
  const masters = (metric: string) =>
    `${node(metric)} and on (instance) ${node('redis_instance_info', 'role="master"')}`;
  return [
    timeseries({
      title: 'How full is each Redis node?',
      description:
        'Memory used over maxmemory per node. With noeviction a full node refuses writes: the claims of its shards answer 503 (CouponRedisMemoryHigh pages at 85%).',
      unit: 'percentunit',
      min: 0,
      max: 1,
      limit: { value: 0.85 },
      targets: [
        {
          expr: `max by (instance) (${node('redis_memory_used_bytes')}) / max by (instance) (${node('redis_memory_max_bytes')} > 0)`,
          legend: '{{instance}}',
        },
      ],
    }),
    timeseries({
      title: 'Does every master have its replicas?',
      description: `Connected replicas per master (${o.redisReplicasPerMaster} built). One missing still writes (min-replicas-to-write 1); none refuses writes on the master's shards (CouponRedisMasterWithoutReplica). Replicas whose link to their master is down are shown too.`,
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: `max by (instance) (${masters('redis_connected_slaves')})`,
          legend: 'master {{instance}}',
        },
        {
          expr: `count(${node('redis_master_link_up')} == 0) or vector(0)`,
          legend: 'replicas without their master',
        },
      ],
    }),
  ];
}

/** Builds the platform dashboard afresh (panel ids from 1). */
export function buildPlatformDashboard(o: RuleOptions = DEFAULT_RULE_OPTIONS): Dashboard {
  return assembleDashboard({
    title: 'Coupon platform: recorder, autoscaler, Redis',
    uid: PLATFORM_DASHBOARD_UID,
    description:
      'What the coupon service stands on: the recorder copying the audit streams to PostgreSQL, KEDA sizing the fleet, the Redis nodes holding the ledger. Generated by npm run monitoring:generate from k8s/monitoring/src/platformDashboard.ts.',
    variables: templateVariables({
      jobSeries: 'coupon_recorder_up',
      job: { name: 'recorder', label: 'Recorder job' },
      campaignSeries: 'coupon_recorder_pending_events{namespace="$namespace", job="$recorder"}',
    }),
    rows: [
      ['Recorder (book of record)', recorderRow],
      ['Autoscaler (KEDA)', () => autoscalerRow(o)],
      ['Ledger Redis nodes', () => redisRow(o)],
    ],
  });
}
