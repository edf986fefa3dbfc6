import { buildPlatformDashboard, PLATFORM_TEMPLATE_VARIABLES } from '../src/platformDashboard';
import { panelsOf } from '../src/dashboard';
import { METRIC_FAMILIES, METRIC_NAMES, seriesNames } from '../src/metrics';
import { parsePromql, RANGE_FUNCTIONS } from '../src/promql';

const dashboard = buildPlatformDashboard();
const panels = panelsOf(dashboard);
const queries = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => [p.title ?? '', (t as unknown as { expr: string }).expr] as const),
);
const familyOf = (series: string) => METRIC_FAMILIES.find((f) => seriesNames(f).includes(series));

describe('platform dashboard', () => {
  it('has rows for the recorder, the autoscaler and the Redis nodes, and its variables', () => {
    const rows = (dashboard.panels ?? []).filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Recorder (book of record)', 'Autoscaler (KEDA)', 'Ledger Redis nodes']);
    expect((dashboard.templating?.list ?? []).map((v) => v.name)).toEqual([
      ...PLATFORM_TEMPLATE_VARIABLES,
    ]);
    for (const panel of panels) {
      expect(panel.title).toMatch(/\?$/);
      expect((panel.description ?? '').length).toBeGreaterThan(40);
    }
  });

  it.each(queries)(
    '%s: %s names exported metrics, the namespace chosen and $__rate_interval',
    (_t, expr) => {
      const { metrics, ranges, functions, selectors } = parsePromql(expr);
      expect(metrics.filter((m) => !METRIC_NAMES.includes(m))).toEqual([]);
      expect(ranges.filter((r) => r !== '$__rate_interval')).toEqual([]);
      expect(functions.filter((f) => RANGE_FUNCTIONS.has(f))).toHaveLength(ranges.length);
      for (const { metric, matchers } of selectors) {
        expect([metric, matchers]).toEqual([
          metric,
          expect.stringContaining('namespace="$namespace"'),
        ]);
        const family = familyOf(metric)!;
        if (family.source === 'recorder') expect(matchers).toContain('job="$recorder"');
        if (family.labels.includes('campaign')) expect(matchers).toContain('campaign=~"$campaign"');
      }
    },
  );
});
