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
import { FAULT_OUTCOMES, OVERLOAD_SHED_REASONS } from './metrics';

/**
 * What the dashboards are built from: the PromQL pieces every query shares (template variables,
 * $__rate_interval) and one helper per kind of panel.
 */

export { StatBuilder, TimeseriesBuilder };

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

// ---------------------------------------------------------------------------------------------
// PromQL pieces
// ---------------------------------------------------------------------------------------------

export const oneOf = (values: readonly string[]): string => values.join('|');

/** A selector of a metric the service's pods export: always this namespace and job. */
export function svc(metric: string, ...matchers: string[]): string {
  return `${metric}{${['namespace="$namespace"', 'job="$job"', ...matchers].join(', ')}}`;
}
export const CAMPAIGN = 'campaign=~"$campaign"';
/** A per-campaign selector of the service. */
export const camp = (metric: string, ...matchers: string[]): string =>
  svc(metric, CAMPAIGN, ...matchers);
export const rate = (selector: string): string => `rate(${selector}[$__rate_interval])`;
export const increase = (selector: string): string => `increase(${selector}[$__rate_interval])`;
export const quantile = (q: number, by: string, bucketSelector: string): string =>
  `histogram_quantile(${q}, sum by (${by}) (${rate(bucketSelector)}))`;

export const SERVED = `outcome!~"${oneOf(FAULT_OUTCOMES)}"`;
export const OVERLOAD = `reason=~"${oneOf(OVERLOAD_SHED_REASONS)}"`;
/** Budget gauges are sampled by every pod: one value per campaign. */
export const perCampaign = (metric: string, agg = 'max'): string =>
  `${agg} by (campaign) (${camp(metric)})`;
/** The reconcile CronJob pushes through a Pushgateway: its series carry the campaign, not the service's job. */
export const reconcile = (metric: string): string => `${metric}{${CAMPAIGN}}`;

// ---------------------------------------------------------------------------------------------
// Panel helpers: one per kind of panel the dashboards repeat
// ---------------------------------------------------------------------------------------------

export interface Target {
  expr: string;
  legend: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  /** Grid columns of 24. */
  width?: number;
  height?: number;
}

let nextPanelId = 1;

/** Panel ids start from 1 again: every build of a dashboard gives the same ids. */
export function resetPanelIds(): void {
  nextPanelId = 1;
}

/** The next panel id (rows take one too). */
export const nextId = (): number => nextPanelId++;

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
    .id(nextId())
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

export interface TimeseriesSpec extends PanelSpec {
  min?: number;
  max?: number;
  /** Stack every series but the ones named here (drawn as lines over the stack). */
  stacked?: { except?: string[] };
  /** A dashed line at this value, red above it (an SLO or a limit). */
  limit?: { value: number; color?: string; below?: boolean };
  bars?: boolean;
}

/** A line (or stacked area) chart over time. */
export function timeseries(spec: TimeseriesSpec): TimeseriesBuilder {
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
export function latency(
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

export interface StatSpec extends PanelSpec {
  mappings?: ValueMapping[];
  steps?: { value: number | null; color: string }[];
}

/** The current value per series, coloured by thresholds or mappings. */
export function stat(spec: StatSpec): StatBuilder {
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
export const flag = (good: string, bad: string): ValueMapping[] => [
  {
    type: MappingType.ValueToText,
    options: { '1': { text: good, color: 'green' }, '0': { text: bad, color: 'red' } },
  },
];

/** A template variable read from Prometheus labels, refreshed with the time range. */
export function queryVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query, refId: `${name}-variable` })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
}

/** The campaign variable: the campaign label of `series`, several at once, all by default. */
export const campaignVariable = (series: string): QueryVariableBuilder =>
  queryVariable('campaign', 'Campaign', `label_values(${series}, campaign)`)
    .multi(true)
    .includeAll(true)
    .allValue('.+')
    .current({ selected: true, text: 'All', value: '$__all' });

/** The data source variable every dashboard starts its variables with. */
export const datasourceVariable = (): DatasourceVariableBuilder =>
  new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');

/**
 * A dashboard's template variables: the data source; the namespace, and the job as variable
 * `job.name`, both read from the labels of `jobSeries`; the campaigns of `campaignSeries` (a
 * selector that may use $namespace and the job variable).
 */
export function templateVariables(spec: {
  jobSeries: string;
  job: { name: string; label: string };
  campaignSeries: string;
}): (DatasourceVariableBuilder | QueryVariableBuilder)[] {
  return [
    datasourceVariable(),
    queryVariable('namespace', 'Namespace', `label_values(${spec.jobSeries}, namespace)`),
    queryVariable(
      spec.job.name,
      spec.job.label,
      `label_values(${spec.jobSeries}{namespace="$namespace"}, job)`,
    ),
    campaignVariable(spec.campaignSeries),
  ];
}

/**
 * A dashboard of these rows, built afresh (panel ids from 1, so every call returns the same
 * model), with the settings both generated dashboards share.
 */
export function assembleDashboard(spec: {
  title: string;
  uid: string;
  description: string;
  variables: (DatasourceVariableBuilder | QueryVariableBuilder)[];
  rows: [string, () => { build(): Panel }[]][];
}): Dashboard {
  resetPanelIds();
  const dashboard = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['coupons', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .variables(spec.variables);
  for (const [title, panels] of spec.rows) {
    dashboard.withRow(new RowBuilder(title).id(nextId()));
    for (const panel of panels()) dashboard.withPanel(panel);
  }
  return dashboard.build();
}
