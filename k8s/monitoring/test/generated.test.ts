import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDashboard } from '../src/dashboard';
import {
  DASHBOARD_CONFIGMAP_NAME,
  GENERATED_FILES,
  packageDir,
  PLATFORM_DASHBOARD_CONFIGMAP_NAME,
  PROMETHEUS_RULE_NAME,
  renderAll,
} from '../src/render';
import { RULE_GROUPS } from '../src/rules';

const committed = (file: string): string => readFileSync(join(packageDir(), file), 'utf8');

/** The first line where two texts differ, for a message a person can act on. */
function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const line = left.findIndex((text, i) => text !== right[i]);
  const at = line < 0 ? left.length : line;
  return `line ${at + 1}:\n  committed: ${left[at] ?? '(end of file)'}\n  generated: ${right[at] ?? '(end of file)'}`;
}

describe('generated files', () => {
  let rendered: Record<string, string>;

  beforeAll(async () => {
    rendered = await renderAll();
  });

  it.each(Object.values(GENERATED_FILES))(
    '%s is what npm run monitoring:generate writes from src',
    (file) => {
      const now = rendered[file];
      expect(now).toBeDefined();
      const text = committed(file);
      if (text !== now)
        throw new Error(
          `${file} is stale: run \`npm run monitoring:generate\` and commit the result (first difference at ${firstDifference(text, now ?? '')})`,
        );
    },
  );

  it('the PrometheusRule carries the same groups as the plain rules file', () => {
    const rules = parse(committed(GENERATED_FILES.rules)) as { groups: unknown[] };
    const resource = parse(committed(GENERATED_FILES.prometheusRule)) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { groups: unknown[] };
    };
    expect(resource.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.metadata.name).toBe(PROMETHEUS_RULE_NAME);
    expect(resource.spec.groups).toEqual(rules.groups);
    expect(rules.groups).toHaveLength(RULE_GROUPS.length);
  });

  it('the rules file holds every rule of src/rules.ts, and no TS-only field', () => {
    const { groups } = parse(committed(GENERATED_FILES.rules)) as {
      groups: { name: string; rules: Record<string, unknown>[] }[];
    };
    expect(groups.map((g) => g.name)).toEqual(RULE_GROUPS.map((g) => g.name));
    groups.forEach((group, g) => {
      expect(group.rules.map((r) => r['alert'] ?? r['record'])).toEqual(
        RULE_GROUPS[g]?.rules.map((r) => ('alert' in r ? r.alert : r.record)),
      );
      for (const rule of group.rules) expect(rule).not.toHaveProperty('why');
    });
  });

  it("each alert's reason for its threshold is written above it in the YAML", () => {
    const text = committed(GENERATED_FILES.rules);
    for (const group of RULE_GROUPS)
      for (const rule of group.rules)
        if ('alert' in rule)
          expect(text).toContain(`# ${rule.why}\n      - alert: ${rule.alert}\n`);
  });

  it('the kustomization deploys the PrometheusRule and the dashboard ConfigMap for the Grafana sidecar', () => {
    const kustomization = parse(committed(GENERATED_FILES.kustomization)) as {
      kind: string;
      resources: string[];
      configMapGenerator: {
        name: string;
        files: string[];
        options: { labels: Record<string, string>; disableNameSuffixHash: boolean };
      }[];
    };
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.resources).toEqual([GENERATED_FILES.prometheusRule]);
    expect(kustomization.configMapGenerator).toEqual(
      [
        [DASHBOARD_CONFIGMAP_NAME, GENERATED_FILES.dashboard],
        [PLATFORM_DASHBOARD_CONFIGMAP_NAME, GENERATED_FILES.platformDashboard],
      ].map(([name, file]) => ({
        name,
        files: [file],
        options: { labels: { grafana_dashboard: '1' }, disableNameSuffixHash: true },
      })),
    );
  });

  it('the committed dashboard JSON is the model src/dashboard.ts builds', () => {
    expect(JSON.parse(committed(GENERATED_FILES.dashboard))).toEqual(
      JSON.parse(JSON.stringify(buildDashboard())),
    );
  });
});
