import {
  buildDashboard,
  DASHBOARD_UID,
  listDashboardQueries,
  panelsOf,
  TEMPLATE_VARIABLES,
} from '../src/dashboard';
import { METRIC_FAMILIES, METRIC_NAMES, seriesNames } from '../src/metrics';
import { parsePromql, RANGE_FUNCTIONS } from '../src/promql';

const dashboard = buildDashboard();
const panels = panelsOf(dashboard);
const panelQueries = listDashboardQueries().filter((q) => q.kind === 'panel');

/** The family a series name belongs to. */
const familyOf = (series: string) => METRIC_FAMILIES.find((f) => seriesNames(f).includes(series));

describe('dashboard', () => {
  it('has a stable uid and its nine rows, in order', () => {
    expect(dashboard.uid).toBe(DASHBOARD_UID);
    expect(panels.length).toBeGreaterThanOrEqual(25);
    const rows = (dashboard.panels ?? []).filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual([
      'Demand, goodput and shedding',
      'Claim latency',
      'Budget against the release curve',
      'Issuance',
      'Saturation and concurrency',
      'Event loop and process',
      'Replicas and capacity',
      'Redis',
      'Ledger faults and reconcile',
    ]);
  });

  it('builds the same model every time', () => {
    expect(JSON.stringify(buildDashboard())).toBe(JSON.stringify(dashboard));
  });

  it('gives every panel a unique id, a question for a title and a description', () => {
    const ids = (dashboard.panels ?? []).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.title).toMatch(/\?$/);
      expect((panel.description ?? '').length).toBeGreaterThan(40);
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
      for (const target of panel.targets ?? [])
        expect((target as { datasource?: unknown }).datasource).toEqual(panel.datasource);
    }
  });

  it('has the template variables datasource, namespace, job and campaign', () => {
    const list = dashboard.templating?.list ?? [];
    expect(list.map((v) => v.name)).toEqual([...TEMPLATE_VARIABLES]);
    expect(list[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const campaign = list.find((v) => v.name === 'campaign');
    expect(campaign).toMatchObject({ multi: true, includeAll: true });
    expect((campaign?.query as { query: string }).query).toMatch(/^label_values\(.*, campaign\)$/);
  });
});

describe('dashboard queries', () => {
  it.each(panelQueries.map((q) => [`${q.panel} ${q.refId}`, q.expr] as const))(
    '%s names only metrics of the exported list',
    (_name, expr) => {
      const { metrics } = parsePromql(expr);
      expect(metrics.length).toBeGreaterThan(0);
      expect(metrics.filter((m) => !METRIC_NAMES.includes(m))).toEqual([]);
    },
  );

  it.each(panelQueries.map((q) => [`${q.panel} ${q.refId}`, q.expr] as const))(
    '%s gives every rate and increase the window $__rate_interval',
    (_name, expr) => {
      const { ranges, functions } = parsePromql(expr);
      expect(ranges.filter((r) => r !== '$__rate_interval')).toEqual([]);
      expect(functions.filter((f) => RANGE_FUNCTIONS.has(f))).toHaveLength(ranges.length);
    },
  );

  it.each(panelQueries.map((q) => [`${q.panel} ${q.refId}`, q.expr] as const))(
    '%s selects by the template variables, never a hard-coded job or campaign',
    (_name, expr) => {
      for (const { metric, matchers } of parsePromql(expr).selectors) {
        const family = familyOf(metric);
        expect(family).toBeDefined();
        if (family === undefined) continue;
        const has = (m: string) =>
          expect([metric, matchers]).toEqual([metric, expect.stringContaining(m)]);
        if (
          family.source === 'service' ||
          family.source === 'node' ||
          family.source === 'prometheus'
        ) {
          has('namespace="$namespace"');
          has('job="$job"');
        }
        if (family.source === 'kube-state-metrics') has('namespace="$namespace"');
        if (family.labels.includes('campaign')) has('campaign=~"$campaign"');
        expect(matchers).not.toMatch(/\bjob=~?"(?!\$job")/);
        expect(matchers).not.toMatch(/\bcampaign=~?"(?!\$campaign")/);
        expect(matchers).not.toMatch(/\bnamespace=~?"(?!\$namespace")/);
      }
    },
  );

  it('every panel target is listed once, variables too', () => {
    const targets = panels.flatMap((p) => p.targets ?? []);
    expect(panelQueries).toHaveLength(targets.length);
    const variables = listDashboardQueries().filter((q) => q.kind === 'variable');
    expect(variables.map((v) => v.panel)).toEqual(['namespace', 'job', 'campaign']);
    expect(variables.find((v) => v.panel === 'campaign')?.expr).toBe(
      'coupon_budget_known{namespace="$namespace", job="$job"}',
    );
  });

  it('substitutes the template variables it is given, and only those', () => {
    const values = {
      namespace: 'coupons-prod',
      job: 'coupon-service',
      campaign: 'spring-festival-2027',
      __rate_interval: '2m',
    };
    const all = listDashboardQueries(values);
    for (const { expr } of all) {
      expect(expr).not.toMatch(/\$(namespace|job|campaign|__rate_interval)\b/);
      expect(expr).not.toContain('${');
    }
    const demand = all.find(
      (q) => q.panel === 'Is demand being served or shed?' && q.refId === 'A',
    );
    expect(demand?.expr).toBe(
      'sum(rate(coupon_requests_received_total{namespace="coupons-prod", job="coupon-service"}[2m]))',
    );
    const partial = listDashboardQueries({ namespace: 'n' });
    expect(partial.some((q) => q.expr.includes('$job'))).toBe(true);
    expect(partial.some((q) => q.expr.includes('$namespace'))).toBe(false);
  });
});
