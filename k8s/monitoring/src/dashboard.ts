import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DynamicConfigValue,
  type Panel,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { FAULT_OUTCOMES, GOODPUT_OUTCOMES, OVERLOAD_SHED_REASONS } from './metrics';
import { LATENCY_THRESHOLD_SECONDS, RECONCILE_STALE_SECONDS } from './rules';

/**
 * The service's Grafana dashboard. Every query reads the template variables (data source,
 * namespace, job, campaign) and every rate the dashboard's $__rate_interval; each panel's title
 * is the question it answers on call.
 */

export const DASHBOARD_UID = 'coupon-service';

/** The template variables every query may use. */
export const TEMPLATE_VARIABLES = ['datasource', 'namespace', 'job', 'campaign'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

// ---------------------------------------------------------------------------------------------
// PromQL pieces
// ---------------------------------------------------------------------------------------------

const oneOf = (values: readonly string[]): string => values.join('|');

/** A selector of a metric the service's pods export: always this namespace and job. */
function svc(metric: string, ...matchers: string[]): string {
  return `${metric}{${['namespace="$namespace"', 'job="$job"', ...matchers].join(', ')}}`;
}
const CAMPAIGN = 'campaign=~"$campaign"';
/** A per-campaign selector of the service. */
const camp = (metric: string, ...matchers: string[]): string => svc(metric, CAMPAIGN, ...matchers);
const rate = (selector: string): string => `rate(${selector}[$__rate_interval])`;
const increase = (selector: string): string => `increase(${selector}[$__rate_interval])`;
const quantile = (q: number, by: string, bucketSelector: string): string =>
  `histogram_quantile(${q}, sum by (${by}) (${rate(bucketSelector)}))`;

const SERVED = `outcome!~"${oneOf(FAULT_OUTCOMES)}"`;
const OVERLOAD = `reason=~"${oneOf(OVERLOAD_SHED_REASONS)}"`;
/** KEDA names the autoscaler of a ScaledObject keda-hpa-<name>; the ScaledObject is the job's. */
const HPA = 'horizontalpodautoscaler="keda-hpa-$job"';
/** Budget gauges are sampled by every pod: one value per campaign. */
const perCampaign = (metric: string, agg = 'max'): string =>
  `${agg} by (campaign) (${camp(metric)})`;
/** The reconcile CronJob pushes through a Pushgateway: its series carry the campaign, not the service's job. */
const reconcile = (metric: string): string => `${metric}{${CAMPAIGN}}`;

// ---------------------------------------------------------------------------------------------
// Panel helpers: one per kind of panel the dashboard repeats
// ---------------------------------------------------------------------------------------------

interface Target {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  /** Grid columns of 24. */
  width?: number;
  height?: number;
}

let nextPanelId = 1;

function query(target: Target, index: number): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(String.fromCharCode(65 + index))
    .expr(target.expr)
    .legendFormat(target.legend)
    .range();
}

function withTargets<B extends TimeseriesBuilder | StatBuilder>(builder: B, spec: PanelSpec): B {
  builder
    .id(nextPanelId++)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .targets(spec.targets.map(query));
  return builder;
}

const thresholds = (steps: { value: number | null; color: string }[]) =>
  new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);

interface TimeseriesSpec extends PanelSpec {
  min?: number;
  max?: number;
  /** Stack every series but the ones named here (drawn as lines over the stack). */
  stacked?: { except?: string[] };
  /** A dashed line at this value, red above it (an SLO or a limit). */
  limit?: { value: number; color?: string; below?: boolean };
  bars?: boolean;
}

/** A line (or stacked area) chart over time. */
function timeseries(spec: TimeseriesSpec): TimeseriesBuilder {
  const panel = withTargets(new TimeseriesBuilder(), spec)
    .lineWidth(1)
    .fillOpacity(spec.stacked === undefined ? 10 : 40)
    .drawStyle(spec.bars === true ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  if (spec.stacked !== undefined) {
    panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
    const line: DynamicConfigValue[] = [
      { id: 'custom.stacking', value: { mode: common.StackingMode.None, group: 'A' } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'custom.lineWidth', value: 2 },
    ];
    for (const name of spec.stacked.except ?? []) panel.overrideByName(name, line);
  }
  if (spec.limit !== undefined) {
    const { value, color = 'red', below = false } = spec.limit;
    panel
      .thresholds(
        below
          ? thresholds([
              { value: null, color },
              { value, color: 'green' },
            ])
          : thresholds([
              { value: null, color: 'green' },
              { value, color },
            ]),
      )
      .thresholdsStyle(
        new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
      );
  }
  return panel;
}

/** p50 and p99 of a histogram, one pair of lines per value of `by`, against a latency limit. */
function latency(
  spec: Omit<TimeseriesSpec, 'targets' | 'unit'> & {
    bucket: string;
    by: string;
    legend: string;
    limitSeconds?: number;
  },
): TimeseriesBuilder {
  const by = `${spec.by}, le`;
  return timeseries({
    ...spec,
    unit: 's',
    min: 0,
    ...(spec.limitSeconds === undefined ? {} : { limit: { value: spec.limitSeconds } }),
    targets: [0.5, 0.99].map((q) => ({
      expr: quantile(q, by, spec.bucket),
      legend: `p${q * 100} ${spec.legend}`,
    })),
  });
}

interface StatSpec extends PanelSpec {
  mappings?: ValueMapping[];
  steps?: { value: number | null; color: string }[];
}

/** The current value per series, coloured by thresholds or mappings. */
function stat(spec: StatSpec): StatBuilder {
  const panel = withTargets(new StatBuilder(), { width: 6, height: 6, ...spec })
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (spec.steps !== undefined) panel.thresholds(thresholds(spec.steps));
  if (spec.mappings !== undefined) panel.mappings(spec.mappings);
  return panel;
}

/** A 1/0 gauge shown as words: 1 green, 0 red. */
const flag = (good: string, bad: string): ValueMapping[] => [
  {
    type: MappingType.ValueToText,
    options: { '1': { text: good, color: 'green' }, '0': { text: bad, color: 'red' } },
  },
];

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

const received = (...m: string[]) => svc('coupon_requests_received_total', ...m);
const shed = (...m: string[]) => svc('coupon_admission_shed_total', ...m);
const claims = (...m: string[]) => camp('coupon_claims_total', ...m);

function demandRow(): TimeseriesBuilder[] {
  return [
    timeseries({
      title: 'Is demand being served or shed?',
      description:
        'Requests per second reaching the admission gate (demand, counted before any shedding) split into those admitted to the application and those the gate answered itself, by reason. Admitted plus shed stack up to demand. Sold out, user_rate and key_rate are honest answers, and so is what the front door refuses before admission (no key, no such route: not demand); event_loop, token_bucket, concurrency and deadline mean the pods lack capacity; draining is a pod shutting down.',
      unit: 'reqps',
      min: 0,
      stacked: { except: ['demand'] },
      targets: [
        { expr: `sum(${rate(received())})`, legend: 'demand' },
        {
          expr: `sum(${rate(received())}) - (sum(${rate(shed())}) or vector(0))`,
          legend: 'admitted',
        },
        { expr: `sum by (reason) (${rate(shed())})`, legend: 'shed: {{reason}}' },
      ],
    }),
    timeseries({
      title: 'How many claims end with a coupon in hand (goodput)?',
      description:
        'Claims per second: received at the gate, answered with a coupon (issued or replayed: the goodput), refused honestly by the ledger (sold out, limits, campaign window), shed at the gate, and failed with a server fault. Received and shed cover every campaign (the gate counts before it knows the campaign); the ledger outcomes follow the campaign selection.',
      unit: 'reqps',
      min: 0,
      targets: [
        { expr: `sum(${rate(received('priority="claim"'))})`, legend: 'received' },
        {
          expr: `sum(${rate(claims(`outcome=~"${oneOf(GOODPUT_OUTCOMES)}"`))})`,
          legend: 'goodput (coupon in hand)',
        },
        {
          expr: `sum(${rate(claims(`outcome!~"${oneOf([...GOODPUT_OUTCOMES, ...FAULT_OUTCOMES, 'deadline'])}"`))})`,
          legend: 'refused by the ledger',
        },
        { expr: `sum(${rate(shed('priority="claim"'))})`, legend: 'shed at the gate' },
        { expr: `sum(${rate(claims('outcome="deadline"'))})`, legend: 'deadline passed' },
        {
          expr: `sum(${rate(claims(`outcome=~"${oneOf(FAULT_OUTCOMES)}"`))})`,
          legend: 'server fault',
        },
      ],
    }),
    timeseries({
      title: 'When will shed callers come back (Retry-After by class)?',
      description:
        'No metric records the Retry-After values sent, so this shows shed answers per second grouped by the retry class each reason is given; the legend says the spread. Overload answers (event loop, token bucket, concurrency, deadline) say 1-5 s; draining 1-2 s with Connection: close; user and key rate limits the end of their window plus up to 2 s; sold out the next release plus up to SOLD_OUT_RETRY_SPREAD_SECONDS (60 s by default). A tall overload band means the crowd returns within seconds.',
      unit: 'reqps',
      min: 0,
      stacked: {},
      targets: [
        { expr: `sum(${rate(shed(OVERLOAD))})`, legend: 'overload: Retry-After 1-5 s' },
        {
          expr: `sum(${rate(shed('reason="draining"'))})`,
          legend: 'draining: Retry-After 1-2 s',
        },
        {
          expr: `sum(${rate(shed('reason=~"user_rate|key_rate"'))})`,
          legend: 'rate limit: window end + 0-2 s',
        },
        {
          expr: `sum(${rate(shed('reason="sold_out"'))})`,
          legend: 'sold out: next release + 0-60 s',
        },
        {
          expr: `sum by (reason) (${rate(svc('coupon_http_refused_total'))})`,
          legend: 'refused at the front door ({{reason}}): fix the request',
        },
      ],
    }),
    timeseries({
      title: 'Are purchases (redemptions) shed, or only new claims?',
      description:
        'Share of each priority’s requests shed for overload. Redemptions and reads may use every slot and token, claims only ADMISSION_CLAIM_SHARE of them: redemptions should stay near 0 while claims are shed. Redemptions shed means the pods are far past capacity.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      targets: [
        {
          expr: `sum by (priority) (${rate(shed(OVERLOAD))}) / sum by (priority) (${rate(received())})`,
          legend: '{{priority}}',
        },
      ],
    }),
  ];
}

function latencyRow(): TimeseriesBuilder[] {
  const claimBuckets = camp('coupon_claim_duration_seconds_bucket');
  return [
    latency({
      title: 'How long do claims take, by outcome?',
      description:
        'Claim time from admission to answer (p50 and p99) per outcome, against the 100 ms SLO line. Sold-out and limit answers are fast ledger replies; a slow "issued" points at Redis or the event loop; "deadline" shows how long the dropped claims waited.',
      bucket: claimBuckets,
      by: 'outcome',
      legend: '{{outcome}}',
      limitSeconds: Number(LATENCY_THRESHOLD_SECONDS),
    }),
    timeseries({
      title: 'Are 99% of served claims answered within 100 ms?',
      description:
        'The latency SLI: the share of claims the ledger answered without a fault (every outcome but unavailable and error) that took under 100 ms. The SLO is 99%; below the line the latency error budget burns.',
      unit: 'percentunit',
      max: 1,
      limit: { value: 0.99, below: true },
      targets: [
        {
          expr: `sum(${rate(camp('coupon_claim_duration_seconds_bucket', `le="${LATENCY_THRESHOLD_SECONDS}"`, SERVED))}) / sum(${rate(camp('coupon_claim_duration_seconds_count', SERVED))})`,
          legend: 'under 100 ms',
        },
      ],
    }),
    latency({
      title: 'Which routes are slow in express?',
      description:
        'p50 and p99 of the requests express served (after admission), per route pattern. Shed answers never reach express and are not here.',
      bucket: svc('coupon_http_request_duration_seconds_bucket'),
      by: 'method, route',
      legend: '{{method}} {{route}}',
    }),
    timeseries({
      title: 'Which routes answer server errors?',
      description:
        '5xx answers per second served by express, by route and status. 503 on the claim route is a fault the ledger failed closed on or a deadline drop; 500 is a bug (the log line carries its errorId).',
      unit: 'reqps',
      min: 0,
      targets: [
        {
          expr: `sum by (route, status) (${rate(svc('coupon_http_requests_total', 'status=~"5.."'))})`,
          legend: '{{status}} {{route}}',
        },
      ],
    }),
  ];
}

function budgetRow(): (TimeseriesBuilder | StatBuilder)[] {
  const cny = (metric: string) => `${perCampaign(metric)} / 100`;
  return [
    timeseries({
      title: 'Is the budget issued faster than it is released?',
      description:
        'Per campaign, in CNY: budget released so far (the release curve, all days), issued, and remaining (released, not yet issued). Issued hugging released with remaining near 0 means every slice is drained as soon as it is released; the pool is the ceiling of both.',
      unit: 'currencyCNY',
      min: 0,
      targets: [
        { expr: cny('coupon_budget_released_fen'), legend: '{{campaign}} released' },
        { expr: cny('coupon_budget_issued_fen'), legend: '{{campaign}} issued' },
        { expr: cny('coupon_budget_remaining_fen'), legend: '{{campaign}} remaining' },
        { expr: cny('coupon_budget_pool_fen'), legend: '{{campaign}} pool' },
      ],
    }),
    timeseries({
      title: "Is today's tranche burning faster than it is released?",
      description:
        "Per campaign, as shares of today's tranche: how much has been released so far today (a staircase, one step per slice) and how much has been issued; and issued over released today, which CouponBudgetBurningAheadOfRelease watches. Issued meeting released early in each step means demand is above the release rate and claims are answered sold out until the next slice.",
      unit: 'percentunit',
      min: 0,
      max: 1,
      targets: [
        {
          expr: `${perCampaign('coupon_budget_today_released_fen')} / ${perCampaign('coupon_budget_today_tranche_fen')}`,
          legend: '{{campaign}} released today',
        },
        {
          expr: `${perCampaign('coupon_budget_today_issued_fen')} / ${perCampaign('coupon_budget_today_tranche_fen')}`,
          legend: '{{campaign}} issued today',
        },
        {
          expr: `${perCampaign('coupon_budget_today_issued_fen')} / ${perCampaign('coupon_budget_today_released_fen')}`,
          legend: '{{campaign}} issued / released today',
        },
      ],
    }),
    stat({
      title: 'How long until the next release?',
      description:
        'Time until the next slice of budget is released, per campaign. While a campaign is sold out, this is when its claims succeed again.',
      unit: 's',
      width: 12,
      targets: [
        {
          expr: `${perCampaign('coupon_budget_next_release_timestamp_seconds')} - time()`,
          legend: '{{campaign}}',
        },
      ],
    }),
    stat({
      title: "Is every shard's budget known?",
      description:
        "1 when the figures of every shard of the campaign could be read; 0 when a shard's ledger is lost or rolled back. Claims on such a shard fail closed (503) and the campaign's budget gauges are absent until the ledger is restored (runbook: CouponBudgetUnknown).",
      unit: 'none',
      width: 12,
      mappings: flag('known', 'UNKNOWN'),
      targets: [{ expr: perCampaign('coupon_budget_known', 'min'), legend: '{{campaign}}' }],
    }),
  ];
}

function issuanceRow(): TimeseriesBuilder[] {
  return [
    timeseries({
      title: 'How many coupons are issued per minute?',
      description:
        'New coupons per minute per campaign (replays not counted): the rate money leaves the pool.',
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: `sum by (campaign) (${rate(camp('coupon_issued_total'))}) * 60`,
          legend: '{{campaign}}',
        },
      ],
    }),
    timeseries({
      title: 'How much money is issued per minute?',
      description: 'Face value of the coupons issued per minute per campaign, in CNY.',
      unit: 'currencyCNY',
      min: 0,
      targets: [
        {
          expr: `sum by (campaign) (${rate(camp('coupon_issued_value_fen_total'))}) * 60 / 100`,
          legend: '{{campaign}}',
        },
      ],
    }),
    timeseries({
      title: 'How do claims end?',
      description:
        'Claims the ledger answered per second, by outcome, stacked. issued and replayed put a coupon in hand; tranche_exhausted, budget_exhausted, user_limit_* and not_started/ended are honest refusals; deadline is a caller that stopped waiting; unavailable and error are server faults.',
      unit: 'reqps',
      min: 0,
      stacked: {},
      targets: [{ expr: `sum by (outcome) (${rate(claims())})`, legend: '{{outcome}}' }],
    }),
    timeseries({
      title: 'Do redemptions (purchases) succeed?',
      description:
        'Redemptions and reversals per second, by outcome, stacked. unavailable or error here means a purchase in progress could not use its coupon.',
      unit: 'reqps',
      min: 0,
      stacked: {},
      targets: [
        {
          expr: `sum by (outcome) (${rate(camp('coupon_redemptions_total'))})`,
          legend: '{{outcome}}',
        },
      ],
    }),
  ];
}

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

function replicasRow(): TimeseriesBuilder[] {
  const hpa = (metric: string) => `max(${metric}{namespace="$namespace", ${HPA}})`;
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
      description:
        'Time since the last reconcile result per campaign. Red past 3 hours: the CronJob is not running and nobody checks the money (CouponReconcileStale).',
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

function variables() {
  const query = (name: string, label: string, q: string) =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query({ query: q, refId: `${name}-variable` })
      .definition(q)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc);
  return [
    new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    query('namespace', 'Namespace', 'label_values(coupon_requests_received_total, namespace)'),
    query(
      'job',
      'Job',
      'label_values(coupon_requests_received_total{namespace="$namespace"}, job)',
    ),
    // From coupon_budget_known, which stays while a ledger is lost (the fen gauges go absent).
    query(
      'campaign',
      'Campaign',
      'label_values(coupon_budget_known{namespace="$namespace", job="$job"}, campaign)',
    )
      .multi(true)
      .includeAll(true)
      .allValue('.+')
      .current({ selected: true, text: 'All', value: '$__all' }),
  ];
}

/** Builds the dashboard afresh (panel ids from 1), so every call returns the same model. */
export function buildDashboard(): Dashboard {
  nextPanelId = 1;
  const rows: [string, () => { build(): Panel }[]][] = [
    ['Demand, goodput and shedding', demandRow],
    ['Claim latency', latencyRow],
    ['Budget against the release curve', budgetRow],
    ['Issuance', issuanceRow],
    ['Saturation and concurrency', saturationRow],
    ['Event loop and process', eventLoopRow],
    ['Replicas and capacity', replicasRow],
    ['Redis', redisRow],
    ['Ledger faults and reconcile', ledgerRow],
  ];
  const dashboard = new DashboardBuilder('Coupon service')
    .uid(DASHBOARD_UID)
    .description(
      'Coupon issuance: demand and shedding, claim SLIs, budget against the release curve, capacity, Redis and the ledger. Generated by npm run monitoring:generate from k8s/monitoring/src/dashboard.ts.',
    )
    .tags(['coupons', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .variables(variables());
  for (const [title, panels] of rows) {
    dashboard.withRow(new RowBuilder(title).id(nextPanelId++));
    for (const panel of panels()) dashboard.withPanel(panel);
  }
  return dashboard.build();
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
