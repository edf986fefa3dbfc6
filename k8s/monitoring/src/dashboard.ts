import { type Dashboard, type Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  assembleDashboard,
  camp,
  flag,
  increase,
  latency,
  rate,
  reconcile,
  stat,
  svc,
  templateVariables,
  timeseries,
  type StatBuilder,
  type TimeseriesBuilder,
} from './dashboardKit';
import { budgetRow, demandRow, issuanceRow, latencyRow, received } from './dashboardRows';
import { DEFAULT_RULE_OPTIONS, RECONCILE_STALE_SECONDS, type RuleOptions } from './rules';

/**
 * The service's Grafana dashboard. Every query reads the template variables (data source,
 * namespace, job, campaign) and every rate the dashboard's $__rate_interval; each panel's title
 * is the question it answers on call.
 */

export const DASHBOARD_UID = 'coupon-service';

/** The template variables every query may use. */
export const TEMPLATE_VARIABLES = ['datasource', 'namespace', 'job', 'campaign'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

function saturationRow(): TimeseriesBuilder[] {
  return [
    timeseries({
      title: 'How full is each pod?',
      description:
        'Admission saturation per pod: the larger of in-flight / concurrency limit and token-bucket use. Pinned at 1 while demand keeps rising means the fleet is too small (the autoscaler sizes by demand, not by this).',
      unit: 'percentunit',
      min: 0,
      max: 1,
      limit: { value: 0.9, color: 'orange' },
      targets: [
        { expr: `max by (pod) (${svc('coupon_admission_saturation')})`, legend: '{{pod}}' },
      ],
    }),
    timeseries({
      title: 'Is the concurrency limit squeezing in-flight work?',
      description:
        'Fleet-wide adaptive concurrency limit (slots) against requests in flight by priority. The limit shrinks while admitted requests take longer than ADMISSION_LATENCY_TARGET_MS; claims may use only ADMISSION_CLAIM_SHARE of it.',
      unit: 'short',
      min: 0,
      stacked: { except: ['limit'] },
      targets: [
        { expr: `sum(${svc('coupon_admission_concurrency_limit')})`, legend: 'limit' },
        {
          expr: `sum by (priority) (${svc('coupon_admission_inflight')})`,
          legend: 'in flight: {{priority}}',
        },
      ],
    }),
    timeseries({
      title: 'Are per-user limit checks waiting on Redis?',
      description:
        'Limit checks waiting on Redis right now, and limit answers per second the in-memory insurance limiter gave because Redis did not answer. Insurance answers are per pod, so a user may get up to a pod count times the limit while they last.',
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: `sum(${svc('coupon_admission_limit_checks_pending')})`,
          legend: 'checks pending',
        },
        {
          expr: `sum(${rate(svc('coupon_admission_limiter_insurance_total'))})`,
          legend: 'insurance answers/s',
        },
      ],
    }),
  ];
}

function eventLoopRow(): TimeseriesBuilder[] {
  return [
    timeseries({
      title: 'Is the event loop busy?',
      description:
        'Event-loop utilisation per pod (the rate of busy seconds). Near 1 the pod has no CPU left for the gate to shed with: requests wait in socket buffers before anyone sees them.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      limit: { value: 0.9, color: 'orange' },
      targets: [{ expr: rate(svc('coupon_event_loop_active_seconds_total')), legend: '{{pod}}' }],
    }),
    timeseries({
      title: 'Is the event loop lagging?',
      description:
        'Event-loop delay p99 per pod. Sustained over ADMISSION_EVENT_LOOP_DELAY_MS (200 ms by default, the dashed line) the gate sheds claims with reason event_loop.',
      unit: 's',
      min: 0,
      limit: { value: 0.2 },
      targets: [
        { expr: `max by (pod) (${svc('nodejs_eventloop_lag_p99_seconds')})`, legend: '{{pod}}' },
      ],
    }),
    timeseries({
      title: 'Is a pod CPU-bound?',
      description:
        'CPU cores used per pod. A Node process uses one core for JavaScript: near 1 it is CPU-bound whatever its limit says.',
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: `sum by (pod) (${rate(svc('process_cpu_seconds_total'))})`,
          legend: '{{pod}}',
        },
      ],
    }),
    timeseries({
      title: "Is a pod's memory growing?",
      description:
        'Resident memory per pod. A steady climb over hours is a leak; a jump during a flash crowd that falls back is buffers and in-flight requests.',
      unit: 'bytes',
      min: 0,
      targets: [
        {
          expr: `max by (pod) (${svc('process_resident_memory_bytes')})`,
          legend: '{{pod}}',
        },
      ],
    }),
  ];
}

/** The autoscaler's series (kube-state-metrics), by the name the generator is given. */
function replicasRow(o: RuleOptions): TimeseriesBuilder[] {
  const hpa = (metric: string) =>
    `max(${metric}{namespace="$namespace", horizontalpodautoscaler="${o.autoscaler}"})`;
  return [
    timeseries({
      title: 'Can the autoscaler still add pods?',
      description:
        'Replicas the autoscaler (keda-hpa-<job>) asks for, has, and may not exceed, the pods of the deployment that are ready, and the pods Prometheus scrapes. Desired at max while requests are shed for overload pages (CouponShedAtMaxReplicas).',
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: hpa('kube_horizontalpodautoscaler_status_desired_replicas'),
          legend: 'desired',
        },
        {
          expr: hpa('kube_horizontalpodautoscaler_status_current_replicas'),
          legend: 'current',
        },
        { expr: hpa('kube_horizontalpodautoscaler_spec_max_replicas'), legend: 'max' },
        {
          expr: 'max(kube_deployment_status_replicas_available{namespace="$namespace", deployment="$job"})',
          legend: 'available',
        },
        { expr: `sum(${svc('up')})`, legend: 'scraped' },
      ],
    }),
    timeseries({
      title: 'Does the planned capacity cover claim demand?',
      description:
        'Claims per second received against the planned claim capacity of the pods running (coupon_claim_capacity_per_pod summed over pods, the figure the autoscaler divides demand by). Demand above capacity is shed until new pods are ready.',
      unit: 'reqps',
      min: 0,
      targets: [
        { expr: `sum(${rate(received('priority="claim"'))})`, legend: 'claim demand' },
        {
          expr: `sum(${svc('coupon_claim_capacity_per_pod')})`,
          legend: 'planned capacity',
        },
      ],
    }),
    timeseries({
      title: 'Which versions are running?',
      description:
        'Pods per build version and Node version. Two versions side by side is a rollout in progress; if it stays, the rollout is stuck.',
      unit: 'short',
      min: 0,
      stacked: {},
      targets: [
        {
          expr: `count by (version, node) (${svc('coupon_build_info')})`,
          legend: '{{version}} (node {{node}})',
        },
      ],
    }),
  ];
}

function redisRow(): TimeseriesBuilder[] {
  return [
    latency({
      title: 'How long do ledger calls to Redis take?',
      description:
        'p50 and p99 of one ledger operation against Redis per command (issue, redeem, reverse, read, budget), failures included. A healthy Lua call takes 0.1-1 ms; calls reaching REDIS_COMMAND_TIMEOUT_MS (500 ms) fail closed.',
      bucket: svc('coupon_redis_command_duration_seconds_bucket'),
      by: 'command',
      legend: '{{command}}',
    }),
    timeseries({
      title: 'Are Redis calls failing?',
      description:
        'Ledger calls per second that failed because Redis did not answer (down, timed out, cluster not ready), per command. Each was answered 503 and nothing was issued or redeemed for it.',
      unit: 'reqps',
      min: 0,
      bars: true,
      targets: [
        {
          expr: `sum by (command) (${rate(svc('coupon_redis_errors_total'))})`,
          legend: '{{command}}',
        },
      ],
    }),
  ];
}

function ledgerRow(): (TimeseriesBuilder | StatBuilder)[] {
  return [
    timeseries({
      title: 'Has a ledger failed closed?',
      description:
        'Money operations refused with 503 because the ledger cannot be trusted, per campaign and reason (ledger_missing, config_mismatch, clock, code_collision, rolled_back, redis_settings). Any bar is an incident: see the CouponLedgerFault runbook.',
      unit: 'short',
      min: 0,
      bars: true,
      targets: [
        {
          expr: `sum by (campaign, reason) (${increase(camp('coupon_ledger_faults_total'))})`,
          legend: '{{campaign}} {{reason}}',
        },
      ],
      width: 24,
    }),
    stat({
      title: 'Does reconcile find the ledger clean?',
      description:
        'Result of the last reconcile run per campaign (pushed by the reconcile CronJob through the Pushgateway): clean when counters, coupon records and the audit stream agree.',
      unit: 'none',
      width: 8,
      mappings: flag('clean', 'MISMATCH'),
      targets: [
        {
          expr: `min by (campaign) (${reconcile('coupon_reconcile_clean')})`,
          legend: '{{campaign}}',
        },
      ],
    }),
    stat({
      title: 'How many differences did reconcile find?',
      description:
        'Differences the last reconcile listed per campaign; `npm run reconcile -- --campaign ID` prints each one.',
      unit: 'none',
      width: 8,
      steps: [
        { value: null, color: 'green' },
        { value: 1, color: 'red' },
      ],
      targets: [
        {
          expr: `max by (campaign) (${reconcile('coupon_reconcile_problems')})`,
          legend: '{{campaign}}',
        },
      ],
    }),
    stat({
      title: 'When did reconcile last run?',
      description: `Time since the last reconcile result per campaign. Red past ${RECONCILE_STALE_SECONDS / 60} minutes (four runs missed): the CronJob is not running and nobody checks the money (CouponReconcileStale).`,
      unit: 's',
      width: 8,
      steps: [
        { value: null, color: 'green' },
        { value: RECONCILE_STALE_SECONDS, color: 'red' },
      ],
      targets: [
        {
          expr: `time() - max by (campaign) (${reconcile('coupon_reconcile_last_run_timestamp_seconds')})`,
          legend: '{{campaign}}',
        },
      ],
    }),
  ];
}

/** Builds the dashboard afresh (panel ids from 1), so every call returns the same model. */
export function buildDashboard(o: RuleOptions = DEFAULT_RULE_OPTIONS): Dashboard {
  return assembleDashboard({
    title: 'Coupon service',
    uid: DASHBOARD_UID,
    description:
      'Coupon issuance: demand and shedding, claim SLIs, budget against the release curve, capacity, Redis and the ledger. Generated by npm run monitoring:generate from k8s/monitoring/src/dashboard.ts.',
    variables: templateVariables({
      jobSeries: 'coupon_requests_received_total',
      job: { name: 'job', label: 'Job' },
      // From coupon_budget_known, which stays while a ledger is lost (the fen gauges go absent).
      campaignSeries: 'coupon_budget_known{namespace="$namespace", job="$job"}',
    }),
    rows: [
      ['Demand, goodput and shedding', demandRow],
      ['Claim latency', latencyRow],
      ['Budget against the release curve', budgetRow],
      ['Issuance', issuanceRow],
      ['Saturation and concurrency', saturationRow],
      ['Event loop and process', eventLoopRow],
      ['Replicas and capacity', () => replicasRow(o)],
      ['Redis', redisRow],
      ['Ledger faults and reconcile', ledgerRow],
    ],
  });
}

export interface DashboardQuery {
  /** A panel's target, or the series selector a template variable lists label values of. */
  kind: 'panel' | 'variable';
  /** The panel's title, or the variable's name. */
  panel: string;
  refId: string;
  /** PromQL: a panel's expression, or the variable's series selector. */
  expr: string;
}

const LABEL_VALUES = /^label_values\((.*),\s*(\w+)\)$/s;

/**
 * Every query of the dashboard (panels and template variables), with the given template
 * variables substituted (`$name`, `${name}`, `${name:format}`); `__rate_interval` may be given
 * too. Variables not given stay as they are.
 */
export function listDashboardQueries(
  values: Partial<Record<TemplateVariable | '__rate_interval', string>> = {},
): DashboardQuery[] {
  const dashboard = buildDashboard();
  const substitute = (expr: string): string =>
    expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (match, braced?: string, bare?: string) => {
      const name = (braced ?? bare) as keyof typeof values;
      return values[name] ?? match;
    });
  const queries: DashboardQuery[] = [];
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const { query } = variable.query as { query: string };
    const selector = LABEL_VALUES.exec(query)?.[1];
    if (selector === undefined)
      throw new Error(`variable ${variable.name}: not label_values(): ${query}`);
    queries.push({
      kind: 'variable',
      panel: variable.name,
      refId: variable.name,
      expr: substitute(selector),
    });
  }
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      const { expr, refId } = target as { expr?: string; refId?: string };
      if (expr !== undefined)
        queries.push({
          kind: 'panel',
          panel: panel.title ?? '',
          refId: refId ?? '',
          expr: substitute(expr),
        });
    }
  }
  return queries;
}

/** The panels of a dashboard, rows left out (and collapsed rows' panels included). */
export function panelsOf(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((p): Panel[] =>
    p.type === 'row' ? ((p as { panels?: Panel[] }).panels ?? []) : [p as Panel],
  );
}
