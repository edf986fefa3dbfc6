import { alertRule, type RuleGroup, type RuleOptions } from './ruleModel';

/**
 * Alerts on what the service stands on: the autoscaler (KEDA's own metrics) and the ledger's
 * Redis (redis_exporter beside each node, which the Redis operator runs).
 */

/**
 * KEDA falls back once a trigger has failed more than `failureThreshold` polls in a row (the 4th
 * failure with 3, 45 s after the first at a 15 s poll). Errors in every 2-minute window for 3
 * minutes are failures over 5 minutes, 20 polls: the fleet is sized by the fallback, not demand.
 * KEDA 2.18 exports no metric of the fallback itself (it is a condition of the ScaledObject).
 */
export const KEDA_BLIND_WINDOW = '2m';
/** Memory used over maxmemory at which a Redis node with noeviction is about to refuse writes. */
export const REDIS_MEMORY_RATIO = 0.85;

const scaledObject = (o: RuleOptions) => `scaledObject="${o.scaledObject}"`;
const redis = (o: RuleOptions, metric: string, ...matchers: string[]) =>
  `${metric}{${[`job=~"${o.redisJob}"`, ...matchers].join(', ')}}`;
/** A redis_exporter series of the nodes that are masters now (the role changes on failover). */
const onMasters = (o: RuleOptions, metric: string) =>
  `(\n  ${redis(o, metric)}\nand on (namespace, instance)\n  ${redis(o, 'redis_instance_info', 'role="master"')}\n)`;

const autoscalerAlerts = (o: RuleOptions): RuleGroup => ({
  name: 'coupon-service.autoscaler',
  rules: [
    alertRule(o, {
      alert: 'CouponAutoscalerBlind',
      why: `polls of the ScaledObject failing in every ${KEDA_BLIND_WINDOW} window for 3 minutes is far past failureThreshold (3 in a row): KEDA holds the fallback size (or the current one, if higher) and no longer follows demand`,
      expr: `sum by (namespace, scaledObject) (rate(keda_scaled_object_errors_total{${scaledObject(o)}}[${KEDA_BLIND_WINDOW}])) > 0
`,
      for: '3m',
      labels: { severity: 'page' },
      summary: `KEDA cannot read the autoscaler's metrics: the fleet is held at its fallback size ({{ $labels.namespace }}/{{ $labels.scaledObject }})`,
      description:
        "KEDA's queries for the ScaledObject {{ $labels.scaledObject }} have kept failing for minutes, far past its failureThreshold: KEDA falls back to fallback.replicas (or the current count, if higher) and a crowd arriving now is not scaled for. Prometheus is down or unreachable, or a query returns nothing.",
    }),
    alertRule(o, {
      alert: 'CouponAutoscalerScalerErrors',
      why: 'some polls of a trigger failing for 15 minutes is not yet a fallback but a trigger that drops out of the decision now and then; a failover or a slow Prometheus, for working hours',
      expr: `sum by (namespace, scaledObject, scaler, triggerIndex) (increase(keda_scaler_detail_errors_total{${scaledObject(o)}}[15m])) > 0
`,
      for: '15m',
      labels: { severity: 'ticket' },
      summary: `A trigger of the autoscaler keeps failing ({{ $labels.namespace }}/{{ $labels.scaledObject }} {{ $labels.scaler }} #{{ $labels.triggerIndex }})`,
      description:
        'Trigger {{ $labels.triggerIndex }} ({{ $labels.scaler }}) of the ScaledObject {{ $labels.scaledObject }} failed {{ $value | humanize }} times in 15 minutes. While it fails it is left out of the scaling decision (the other trigger decides alone); past failureThreshold in a row the fleet falls back.',
    }),
  ],
});

const redisAlerts = (o: RuleOptions): RuleGroup => ({
  name: 'coupon-service.redis',
  rules: [
    alertRule(o, {
      alert: 'CouponRedisMemoryHigh',
      why: `with noeviction a node at maxmemory refuses every write, so every claim of its shards fails closed; ${REDIS_MEMORY_RATIO * 100}% for 10 minutes is growth, not a burst, and leaves time to act`,
      expr: `max by (namespace, instance) (${redis(o, 'redis_memory_used_bytes')})
/
max by (namespace, instance) (${redis(o, 'redis_memory_max_bytes')} > 0)
> ${REDIS_MEMORY_RATIO}
`,
      for: '10m',
      labels: { severity: 'page' },
      summary: 'Redis node {{ $labels.instance }} is near its maxmemory: writes will be refused',
      description:
        'Redis node {{ $labels.instance }} ({{ $labels.namespace }}) uses {{ $value | humanizePercentage }} of maxmemory. With noeviction it refuses writes when full: claims and redemptions on its shards answer 503. The audit streams grow while the recorder lags (CouponRecorderLagHigh).',
    }),
    alertRule(o, {
      alert: 'CouponRedisMasterWithoutReplica',
      why: 'a master with no replica refuses writes (min-replicas-to-write) and a coupon acknowledged there waits for a WAIT that cannot succeed: its shards answer 503; 2 minutes rides out a replica restart',
      expr: `${onMasters(o, 'redis_connected_slaves')}
== 0
`,
      for: '2m',
      labels: { severity: 'page' },
      summary: 'Redis master {{ $labels.instance }} has no replica: its shards refuse claims',
      description:
        'Redis master {{ $labels.instance }} ({{ $labels.namespace }}) has had no connected replica for 2 minutes. With min-replicas-to-write 1 it refuses writes, so claims and redemptions on its hash slots answer 503 until a replica reconnects.',
    }),
    alertRule(o, {
      alert: 'CouponRedisReplicaMissing',
      why: `each master is built with ${o.redisReplicasPerMaster} replicas so one drain or one crash refuses nothing; one missing for 15 minutes means the next one lost stops its shards`,
      expr: `${onMasters(o, 'redis_connected_slaves')}
< ${o.redisReplicasPerMaster}
`,
      for: '15m',
      labels: { severity: 'ticket' },
      summary:
        'Redis master {{ $labels.instance }} has {{ $value }} replica(s) of ' +
        String(o.redisReplicasPerMaster),
      description: `Redis master {{ $labels.instance }} ({{ $labels.namespace }}) has had {{ $value }} connected replica(s) for 15 minutes instead of ${o.redisReplicasPerMaster}. Writes still succeed, but one more replica lost (a drain, a crash) leaves the master refusing them.`,
    }),
    alertRule(o, {
      alert: 'CouponRedisReplicationBroken',
      why: 'a replica that lost its master link holds stale data: a failover to it would roll the ledger back (the recorder then refuses the shard); 5 minutes outlasts a resync',
      expr: `${redis(o, 'redis_master_link_up')} == 0
`,
      for: '5m',
      labels: { severity: 'ticket' },
      summary: 'Redis replica {{ $labels.instance }} has lost its master',
      description:
        'Redis replica {{ $labels.instance }} ({{ $labels.namespace }}) has had its link to its master down for 5 minutes: it does not receive writes. A failover to it would bring back an older ledger.',
    }),
  ],
});

export const platformAlerts = (o: RuleOptions): RuleGroup[] => [
  autoscalerAlerts(o),
  redisAlerts(o),
];
