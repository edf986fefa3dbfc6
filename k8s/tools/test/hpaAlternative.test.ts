import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2' with {
  'resolution-mode': 'import',
};
import { parse } from 'yaml';
import { validateModels } from '../src';
import { describeWithKubectl, find, kustomize, ROOT, tempDir, type KubeObject } from './support';

interface AdapterRule {
  seriesQuery: string;
  resources: { overrides: Record<string, { resource: string }> };
  name: { matches: string; as: string };
  metricsQuery: string;
}

const ADAPTER = parse(
  readFileSync(join(ROOT, 'k8s/alternatives/hpa/prometheus-adapter-values.yaml'), 'utf8'),
) as { rules: { external: AdapterRule[] } };

/** Kubernetes quantities as the HPA writes them here: "700m" or "2". */
function quantity(text: string | number | undefined): number {
  if (typeof text === 'number') return text;
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(text ?? '');
  if (match === null) throw new Error(`not a quantity this test reads: ${text}`);
  return Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
}

describeWithKubectl('the HPA alternative (a component on top of an overlay)', () => {
  let objects: KubeObject[];
  let hpa: IHorizontalPodAutoscaler;
  let remove: () => void;

  beforeAll(() => {
    const temp = tempDir('hpa-overlay-');
    remove = temp.remove;
    // What docs/deploy.md tells: an overlay of its own on top of prod, with the component.
    writeFileSync(
      join(temp.dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'namespace: coupons',
        'resources:',
        `  - ${relative(temp.dir, join(ROOT, 'k8s/overlays/prod'))}`,
        'components:',
        `  - ${relative(temp.dir, join(ROOT, 'k8s/alternatives/hpa'))}`,
        '',
      ].join('\n'),
    );
    objects = kustomize(temp.dir, ['--load-restrictor', 'LoadRestrictionsNone']);
    hpa = find(
      objects,
      'HorizontalPodAutoscaler',
      'coupon-service',
    ) as unknown as IHorizontalPodAutoscaler;
  });
  afterAll(() => remove());

  it('replaces the ScaledObject with an HPA on the Deployment, both valid', () => {
    expect(objects.filter((o) => o.kind === 'ScaledObject')).toEqual([]);
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'coupon-service',
    });
    find(objects, 'Deployment', 'coupon-service');
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    const failures = validateModels(objects).flatMap((a, i) =>
      a.error === undefined ? [] : [`${objects[i]!.kind}/${objects[i]!.metadata.name}: ${a.error}`],
    );
    expect(failures).toEqual([]);
  });

  it('reads metrics the adapter serves: pods needed (demand over planned capacity) and saturation', () => {
    const served = new Map(ADAPTER.rules.external.map((rule) => [rule.name.as, rule]));
    const metrics = hpa.spec?.metrics ?? [];
    expect(metrics.length).toBe(2);
    for (const metric of metrics) {
      expect(metric.type).toBe('External');
      const rule = served.get(metric.external!.metric.name);
      expect(rule).toBeDefined();
      // The HPA's namespace reaches the query through the namespace override.
      expect(rule!.resources.overrides['namespace']).toEqual({ resource: 'namespace' });
      expect(rule!.metricsQuery).toContain('<<.LabelMatchers>>');
      expect(new RegExp(rule!.name.matches).test(rule!.seriesQuery.split('{')[0]!)).toBe(true);
    }
    const demand = metrics.find((m) => m.external!.metric.name === 'coupon_claim_pods_needed')!;
    const demandRule = served.get('coupon_claim_pods_needed')!;
    const [numerator, denominator] = demandRule.metricsQuery.split(' / ') as [string, string];
    expect(numerator).toMatch(/^sum\(rate\(<<\.Series>>\{[^}]*priority="claim"/);
    expect(demandRule.seriesQuery).toMatch(/^coupon_requests_received_total\{/);
    expect(denominator).toMatch(/coupon_claim_capacity_per_pod\{<<\.LabelMatchers>>\}/);
    expect(demand.external!.target.type).toBe('AverageValue');
  });

  it('keeps the ScaledObject’s targets, so switching does not change how big the fleet gets', () => {
    const base = kustomize(join(ROOT, 'k8s/base'));
    const triggers = (
      find(base, 'ScaledObject', 'coupon-service')['spec'] as {
        triggers: { name?: string; metricType?: string; metadata: Record<string, string> }[];
      }
    ).triggers;
    const byName = (name: string) => triggers.find((t) => t.name === name)!;
    const metric = (name: string) =>
      hpa.spec!.metrics!.find((m) => m.external!.metric.name === name)!;
    expect(quantity(metric('coupon_claim_pods_needed').external!.target.averageValue)).toBe(
      Number(byName('demand').metadata['threshold']),
    );
    expect(metric('coupon_admission_saturation_avg').external!.target.type).toBe(
      byName('saturation').metricType,
    );
    expect(quantity(metric('coupon_admission_saturation_avg').external!.target.value)).toBe(
      Number(byName('saturation').metadata['threshold']),
    );
  });
});
