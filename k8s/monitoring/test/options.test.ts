import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDashboard } from '../src/dashboard';
import { parseGenerateArgs } from '../src/generate';
import { buildPlatformDashboard } from '../src/platformDashboard';
import { packageDir } from '../src/render';
import {
  ALERTS,
  DEFAULT_RULE_OPTIONS,
  RECONCILE_EVERY_SECONDS,
  RECONCILE_STALE_SECONDS,
  ruleGroups,
  SERVICE_HPA,
} from '../src/rules';

const K8S = join(packageDir(), '..');
const manifest = (path: string) => parse(readFileSync(join(K8S, path), 'utf8')) as never;

describe("the generator's parameters", () => {
  it('default to the names in the manifests: the base ScaledObject, its KEDA autoscaler, the prod RedisCluster', () => {
    const scaled = manifest('base/scaledobject.yaml') as { metadata: { name: string } };
    const redis = manifest('overlays/prod/redis-cluster.yaml') as {
      metadata: { name: string };
      spec: { clusterSize: number; redisFollower: { replicas: number } };
    };
    expect(DEFAULT_RULE_OPTIONS.scaledObject).toBe(scaled.metadata.name);
    const name = (file: string) => (manifest(file) as { metadata: { name: string } }).metadata.name;
    expect(DEFAULT_RULE_OPTIONS.serviceJob).toBe(name('base/service.yaml'));
    expect(DEFAULT_RULE_OPTIONS.recorderJob).toBe(name('base/recorder-service.yaml'));
    expect(SERVICE_HPA).toBe(`keda-hpa-${scaled.metadata.name}`);
    expect(DEFAULT_RULE_OPTIONS.redisJob).toBe(`${redis.metadata.name}-(leader|follower)`);
    expect(DEFAULT_RULE_OPTIONS.redisReplicasPerMaster).toBe(
      redis.spec.redisFollower.replicas / redis.spec.clusterSize,
    );
  });

  it("with the plain HPA alternative's name, the capacity page and the replica panels read that autoscaler", () => {
    const hpa = manifest('alternatives/hpa/horizontalpodautoscaler.yaml') as {
      metadata: { name: string };
    };
    const { options } = parseGenerateArgs(['--autoscaler', hpa.metadata.name]);
    const shedAtMax = ruleGroups(options)
      .flatMap((g) => g.rules)
      .find((r) => 'alert' in r && r.alert === 'CouponShedAtMaxReplicas')!;
    expect(shedAtMax.expr).toContain(`horizontalpodautoscaler="${hpa.metadata.name}"`);
    expect(shedAtMax.expr).not.toContain(SERVICE_HPA);
    const dashboard = JSON.stringify(buildDashboard(options));
    expect(dashboard).toContain(`horizontalpodautoscaler=\\"${hpa.metadata.name}\\"`);
    expect(dashboard).not.toContain(SERVICE_HPA);
  });

  it('write every runbook link from the base URL given, and refuse what is not one', () => {
    const { options } = parseGenerateArgs(['--runbook-base-url', 'https://wiki.example/runbooks']);
    const alerts = ruleGroups(options).flatMap((g) => g.rules.filter((r) => 'alert' in r));
    expect(alerts).toHaveLength(ALERTS.length);
    for (const a of alerts)
      expect('annotations' in a && a.annotations.runbook_url).toMatch(
        /^https:\/\/wiki\.example\/runbooks#coupon[a-z]+$/,
      );
    expect(() => parseGenerateArgs(['--runbook-base-url', 'runbooks.md'])).toThrow(/http/);
    expect(() => parseGenerateArgs(['--redis-replicas', '0x2'])).toThrow(/positive integer/);
    expect(() => parseGenerateArgs(['--autoscaler'])).toThrow();
  });

  it('name the scrape jobs the scrape alerts read', () => {
    const { options } = parseGenerateArgs(['--service-job', 'svc', '--recorder-job', 'rec']);
    const text = JSON.stringify(ruleGroups(options));
    expect(text).toContain('up{job=\\"svc\\"}');
    expect(text).toContain('up{job=\\"rec\\"}');
  });

  it('name the ScaledObject and the Redis job in the platform alerts and dashboard', () => {
    const { options } = parseGenerateArgs(['--scaled-object', 'other', '--redis-job', 'r']);
    const text =
      JSON.stringify(ruleGroups(options)) + JSON.stringify(buildPlatformDashboard(options));
    expect(text).toContain('scaledObject=\\"other\\"');
    expect(text).toContain('job=~\\"r\\"');
    expect(text).not.toContain(`scaledObject=\\"${DEFAULT_RULE_OPTIONS.scaledObject}\\"`);
  });
});

describe('the reconcile staleness', () => {
  it("counts runs of the CronJob's own schedule", () => {
    const cron = manifest('base/reconcile-cronjob.yaml') as { spec: { schedule: string } };
    const every = /^\*\/(\d+) \* \* \* \*$/.exec(cron.spec.schedule)?.[1];
    expect(Number(every) * 60).toBe(RECONCILE_EVERY_SECONDS);
    expect(RECONCILE_STALE_SECONDS / RECONCILE_EVERY_SECONDS).toBe(4);
  });
});
