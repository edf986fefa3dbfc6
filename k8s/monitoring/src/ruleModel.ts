import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * What every rule group is made of, and the names the generator takes as parameters: the
 * autoscaler the capacity alerts read, the ScaledObject KEDA reports on, the runbook's address
 * and the Redis exporter's scrape job.
 */

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export type Severity = 'page' | 'ticket';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
  /** Why this threshold: written above the alert in the generated files. */
  why: string;
}

export type Rule = RecordingRule | AlertRule;

export interface RuleGroup {
  name: string;
  rules: readonly Rule[];
}

export const isAlert = (rule: Rule): rule is AlertRule => 'alert' in rule;

export interface RuleOptions {
  /** The scrape job of the service's pods (its Service's name, as the ServiceMonitor names it). */
  serviceJob: string;
  /** The scrape job of the recorder (its Service's name). */
  recorderJob: string;
  /** The HorizontalPodAutoscaler that sizes the service (KEDA's, or the plain HPA alternative's). */
  autoscaler: string;
  /** The ScaledObject KEDA's own metrics name (`scaledObject` label). */
  scaledObject: string;
  /** Where the runbook lives; an alert's runbook_url is this plus `#` and its anchor. */
  runbookBaseUrl: string;
  /** The scrape job(s) of the Redis exporter next to the ledger's Redis nodes, as a regex. */
  redisJob: string;
  /** Replicas each Redis master is built with (the prod overlay's RedisCluster). */
  redisReplicasPerMaster: number;
}

/** The runbook of this repository's main branch. */
export const DEFAULT_RUNBOOK_BASE_URL =
  'https://github.com/coupons/coupon-service/blob/main/docs/runbooks.md';

/** This package's k8s/ directory (from src/ under jest, from dist/src/ when built). */
function k8sDir(): string {
  const up = __dirname.includes(`${join('dist', 'src')}`) ? ['..', '..', '..'] : ['..', '..'];
  return join(__dirname, ...up);
}

interface ScaledObjectManifest {
  metadata: { name: string };
  spec: { advanced?: { horizontalPodAutoscalerConfig?: { name?: string } } };
}
interface RedisClusterManifest {
  kind: string;
  metadata: { name: string };
  spec: { clusterSize: number; redisFollower?: { replicas?: number } };
}

/**
 * The defaults, read from the manifests the rules watch: the Services' names (the scrape jobs the
 * ServiceMonitors give), the base ScaledObject's name and the
 * autoscaler KEDA makes for it (`keda-hpa-<name>` unless the ScaledObject names it), the prod
 * overlay's RedisCluster (its exporter's jobs and its replicas per master).
 */
export function defaultRuleOptions(): RuleOptions {
  const dir = k8sDir();
  const scaled = parse(
    readFileSync(join(dir, 'base', 'scaledobject.yaml'), 'utf8'),
  ) as ScaledObjectManifest;
  const name = scaled.metadata.name;
  const redis = parse(
    readFileSync(join(dir, 'overlays', 'prod', 'redis-cluster.yaml'), 'utf8'),
  ) as RedisClusterManifest;
  const followers = redis.spec.redisFollower?.replicas ?? redis.spec.clusterSize;
  const serviceName = (file: string) =>
    (parse(readFileSync(join(dir, 'base', file), 'utf8')) as { metadata: { name: string } })
      .metadata.name;
  return {
    serviceJob: serviceName('service.yaml'),
    recorderJob: serviceName('recorder-service.yaml'),
    autoscaler: scaled.spec.advanced?.horizontalPodAutoscalerConfig?.name ?? `keda-hpa-${name}`,
    scaledObject: name,
    runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
    // The operator names the exporter's Services <name>-leader and <name>-follower.
    redisJob: `${redis.metadata.name}-(leader|follower)`,
    redisReplicasPerMaster: Math.floor(followers / redis.spec.clusterSize),
  };
}

/** The anchor of an alert's runbook section: its name as a GitHub heading slug. */
export const runbookAnchor = (alert: string): string => alert.toLowerCase();

/** An alert with its runbook link made from the options' base URL. */
export function alertRule(
  o: RuleOptions,
  rule: Omit<AlertRule, 'annotations'> & { summary: string; description: string },
): AlertRule {
  const { summary, description, ...rest } = rule;
  return {
    ...rest,
    annotations: {
      summary,
      description,
      runbook_url: `${o.runbookBaseUrl}#${runbookAnchor(rule.alert)}`,
    },
  };
}

export const alternatives = (values: readonly string[]): string => values.join('|');
export const byJob = 'namespace, job';
export const where = '{{ $labels.namespace }}/{{ $labels.job }}';
