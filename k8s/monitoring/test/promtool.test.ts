import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { METRIC_NAMES } from '../src/metrics';
import { parsePromql } from '../src/promql';
import { describeIfExecutables } from '@coupons/testing';
import { PROMTOOL_INSTALL_HINT, runPromtool } from '../src/promtool';
import { GENERATED_FILES, packageDir } from '../src/render';
import { ALERTS, RECORDED_NAMES } from '../src/rules';

const UNIT_TEST_DIR = 'test/promtool';

/** promtool's own checks of the generated rules; skipped without promtool, failed in CI. */
function describePromtool(name: string, fn: (promtool: string) => void): void {
  describeIfExecutables(name, { promtool: PROMTOOL_INSTALL_HINT }, (paths) =>
    fn(paths['promtool']!),
  );
}

describePromtool('promtool', (promtool) => {
  const dir = packageDir();

  it('check rules accepts the generated rules file', async () => {
    const { code, output } = await runPromtool(
      promtool,
      ['check', 'rules', GENERATED_FILES.rules],
      dir,
    );
    if (code !== 0) throw new Error(`promtool check rules failed (exit ${code}):\n${output}`);
    expect(output).toContain('SUCCESS');
  });

  it(`test rules passes every unit test in ${UNIT_TEST_DIR}`, async () => {
    const files = readdirSync(join(dir, UNIT_TEST_DIR))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => `${UNIT_TEST_DIR}/${f}`);
    expect(files.length).toBeGreaterThan(0);
    const { code, output } = await runPromtool(promtool, ['test', 'rules', ...files], dir);
    if (code !== 0) throw new Error(`promtool test rules failed (exit ${code}):\n${output}`);
  });
});

interface UnitTestFile {
  rule_files: string[];
  tests: {
    input_series?: { series: string }[];
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
    promql_expr_test?: { expr: string }[];
  }[];
}

describe('promtool unit tests', () => {
  const dir = join(packageDir(), UNIT_TEST_DIR);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ f, doc: parse(readFileSync(join(dir, f), 'utf8')) as UnitTestFile }));
  const cases = files.flatMap(({ doc }) => doc.tests.flatMap((t) => t.alert_rule_test ?? []));

  it('load the generated rules file', () => {
    for (const { f, doc } of files)
      expect([f, doc.rule_files]).toEqual([f, ['../../generated/coupon-service.rules.yaml']]);
  });

  it.each(ALERTS.map((a) => a.alert))(
    '%s has a case where it fires and one where it does not (yet)',
    (name) => {
      const mine = cases.filter((c) => c.alertname === name);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
    },
  );

  it('test only alerts that exist', () => {
    const names = new Set(ALERTS.map((a) => a.alert));
    expect(cases.map((c) => c.alertname).filter((n) => !names.has(n))).toEqual([]);
  });

  it('check every recording rule', () => {
    const checked = new Set(
      files.flatMap(({ doc }) =>
        doc.tests.flatMap((t) =>
          (t.promql_expr_test ?? []).flatMap((e) => parsePromql(e.expr).metrics),
        ),
      ),
    );
    expect(RECORDED_NAMES.filter((r) => !checked.has(r))).toEqual([]);
  });

  it('feed only series the service and its platform export', () => {
    const names = files.flatMap(({ doc }) =>
      doc.tests.flatMap((t) =>
        (t.input_series ?? []).flatMap((s) => parsePromql(s.series).metrics),
      ),
    );
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !METRIC_NAMES.includes(n))).toEqual([]);
  });
});
