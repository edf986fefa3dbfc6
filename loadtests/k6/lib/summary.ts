/**
 * handleSummary(): a JSON file per scenario (`$RESULTS_DIR/<scenario>-summary.json`, default
 * loadtests/results/, ignored by git) and a short text report on stdout. The formatter is local
 * on purpose: no remote jslib import, since the network of many CI runners (and this project's
 * machines) is closed.
 *
 * k6 does not create the results directory: `mkdir -p loadtests/results` first (the README says
 * so); if it is missing, k6 logs the failed write and stdout still has the report.
 */

import type { Config } from './config.ts';

/** The object k6 passes to handleSummary() (its "legacy" summary format, k6's default in v1). */
export interface SummaryData {
  metrics: Record<string, MetricData | undefined>;
  root_group: GroupData;
  state: { testRunDurationMs: number; isStdOutTTY?: boolean; isStdErrTTY?: boolean };
  options: { summaryTrendStats?: string[]; summaryTimeUnit?: string; noColor?: boolean };
  setup_data?: unknown;
}

export interface MetricData {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  contains: 'default' | 'time' | 'data';
  values: Record<string, number | undefined>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface GroupData {
  name: string;
  path: string;
  groups: GroupData[];
  checks: { name: string; path: string; passes: number; fails: number }[];
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  ok: boolean;
  /** The statistic the expression tests, e.g. p(99) or count; undefined if not found. */
  value: number | undefined;
}

/** A statistic of a metric or sub-metric, e.g. stat(data, 'claim_shed', 'count'). */
export function stat(data: SummaryData, metric: string, name: string): number | undefined {
  const value = data.metrics[metric]?.values[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export const count = (data: SummaryData, metric: string): number =>
  stat(data, metric, 'count') ?? 0;

/** Statistics of the sub-metrics tagged `tag:value`, e.g. tagged(data, 'window', 'w1').count('claim_shed'). */
export function tagged(data: SummaryData, tag: string, value: string) {
  const subMetric = (metric: string) => `${metric}{${tag}:${value}}`;
  return {
    stat: (metric: string, name: string) => stat(data, subMetric(metric), name),
    count: (metric: string) => count(data, subMetric(metric)),
  };
}

export function thresholdResults(data: SummaryData): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const metric of Object.keys(data.metrics).sort()) {
    const thresholds = data.metrics[metric]?.thresholds;
    if (thresholds === undefined) continue;
    for (const [expression, { ok }] of Object.entries(thresholds)) {
      const statName = /^\s*([a-z]+(?:\([\d.]+\))?)/.exec(expression)?.[1];
      const value = statName === undefined ? undefined : stat(data, metric, statName);
      results.push({ metric, expression, ok, value });
    }
  }
  return results;
}

export function ms(value: number | undefined): string {
  if (value === undefined) return '-';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

export function pct(value: number | undefined): string {
  return value === undefined ? '-' : `${(value * 100).toFixed(2)} %`;
}

export function perSecond(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(1)}/s`;
}

function formatValue(data: SummaryData, result: ThresholdResult): string {
  if (result.value === undefined) return '';
  const metric = data.metrics[result.metric];
  if (metric?.contains === 'time' && !result.expression.startsWith('count'))
    return ms(result.value);
  if (metric?.type === 'rate') return pct(result.value);
  return String(Math.round(result.value * 1000) / 1000);
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function allChecks(group: GroupData): GroupData['checks'] {
  return [...group.checks, ...group.groups.flatMap(allChecks)];
}

/** The figures of claims every scenario reports (see lib/metrics.ts for what each one counts). */
export function claimFigures(data: SummaryData) {
  const seconds = data.state.testRunDurationMs / 1000;
  const goodput = count(data, 'claim_goodput');
  return {
    testRunSeconds: seconds,
    goodput,
    goodputPerSecond: seconds > 0 ? goodput / seconds : 0,
    issued: count(data, 'claim_issued'),
    replayed: count(data, 'claim_replayed'),
    shed: count(data, 'claim_shed'),
    soldOut: count(data, 'claim_sold_out'),
    refused: count(data, 'claim_refused'),
    lost: count(data, 'claim_lost'),
    unexpected: count(data, 'claim_unexpected'),
    logicalClaims:
      (stat(data, 'claim_success', 'passes') ?? 0) + (stat(data, 'claim_success', 'fails') ?? 0),
    claimSuccessRate: stat(data, 'claim_success', 'rate'),
    attemptsAvg: stat(data, 'claim_attempts', 'avg'),
    servedP99Ms: stat(data, 'claim_served_duration', 'p(99)'),
    servedMedMs: stat(data, 'claim_served_duration', 'med'),
    shedP99Ms: stat(data, 'claim_shed_duration', 'p(99)'),
    soldOutP99Ms: stat(data, 'claim_sold_out_duration', 'p(99)'),
    httpRequests: count(data, 'http_reqs'),
    httpFailedRate: stat(data, 'http_req_failed', 'rate'),
    checksRate: stat(data, 'checks', 'rate'),
    droppedIterations: count(data, 'dropped_iterations'),
  };
}

export interface ScenarioReport {
  /** Scenario-specific figures for the JSON file. */
  figures?: Record<string, unknown>;
  /** Scenario-specific lines for the text report. */
  lines?: string[];
}

/** The return value of handleSummary(): the text report on stdout and the JSON file. */
export function summaryOutputs(
  config: Config,
  scenario: string,
  data: SummaryData,
  report: ScenarioReport = {},
): Record<string, string> {
  const thresholds = thresholdResults(data);
  const failed = thresholds.filter((t) => !t.ok);
  const claims = claimFigures(data);
  const checks = allChecks(data.root_group);
  const jsonPath = `${config.resultsDir}/${scenario}-summary.json`;

  const lines: string[] = [
    '',
    `k6 ${scenario} against ${config.baseUrl}, campaign ${config.campaignId}, CAPACITY ${config.capacity}/s: ` +
      `${claims.testRunSeconds.toFixed(1)} s, thresholds ` +
      (failed.length === 0 ? 'PASSED' : `FAILED (${failed.length} of ${thresholds.length})`),
    '',
    'thresholds (the SLOs)',
    ...thresholds.map(
      (t) =>
        `  ${t.ok ? 'ok  ' : 'FAIL'} ${pad(t.metric, 44)} ${pad(t.expression, 16)} ${formatValue(data, t)}`,
    ),
    '',
    'claims',
    `  coupons received (goodput)  ${claims.goodput} (${perSecond(claims.goodputPerSecond)} over the run)` +
      `, issued ${claims.issued}, replayed ${claims.replayed}`,
    `  shed (429/503)              ${claims.shed}, p99 ${ms(claims.shedP99Ms)}`,
    `  sold out (409/410)          ${claims.soldOut}, p99 ${ms(claims.soldOutP99Ms)}`,
    `  other refusals (409/410)    ${claims.refused}`,
    `  lost (no answer in ${config.requestTimeoutMs} ms) ${claims.lost}`,
    `  unexpected statuses         ${claims.unexpected}`,
    `  served latency              med ${ms(claims.servedMedMs)}, p99 ${ms(claims.servedP99Ms)}`,
    `  logical claims              ${claims.logicalClaims}, ended with a coupon ${pct(claims.claimSuccessRate)}` +
      `, attempts avg ${claims.attemptsAvg?.toFixed(2) ?? '-'}`,
    `  http requests               ${claims.httpRequests}, failed ${pct(claims.httpFailedRate)}` +
      `, dropped iterations ${claims.droppedIterations}`,
    `  checks                      ${pct(claims.checksRate)}`,
    ...checks
      .filter((c) => c.fails > 0)
      .map((c) => `    failed ${c.fails} of ${c.passes + c.fails}: ${c.name}`),
    ...(report.lines === undefined || report.lines.length === 0 ? [] : ['', ...report.lines]),
    '',
    `JSON: ${jsonPath}`,
    '',
  ];

  const json = {
    scenario,
    generatedAt: new Date().toISOString(),
    target: {
      baseUrl: config.baseUrl,
      campaignId: config.campaignId,
      capacity: config.capacity,
      users: config.users,
      requestTimeoutMs: config.requestTimeoutMs,
    },
    passed: failed.length === 0,
    thresholds,
    claims,
    checks,
    ...report.figures,
    k6: data,
  };
  return { stdout: lines.join('\n'), [jsonPath]: `${JSON.stringify(json, null, 2)}\n` };
}
