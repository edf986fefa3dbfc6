import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCampaigns } from '@coupons/campaign';
import type { IContainer, IService } from 'kubernetes-models/v1' with {
  'resolution-mode': 'import',
};
import { readGeneratedWith, validateModels } from '../src';
import { fieldErrors } from './fieldNames';
import type { IRedisCluster } from './redisOperator';
import {
  admitsEgressToNamespace,
  admitsEgressToPods,
  admitsIngress,
  allContainers,
  policiesSelecting,
  asService,
  containerPort,
  envValue,
  selects,
  workloads,
  type Workload,
} from './objects';
import {
  describeWithKubectl,
  find,
  kustomize,
  parseYamlObjects,
  ROOT,
  type KubeObject,
} from './support';

const CAMPAIGNS_JSON = readFileSync(join(ROOT, 'k8s/base/campaigns.json'), 'utf8');
const PRESCALE = readFileSync(join(ROOT, 'k8s/base/prescale-triggers.yaml'), 'utf8');

const OVERLAYS = [
  { name: 'dev', namespace: 'coupons-dev' },
  { name: 'prod', namespace: 'coupons' },
] as const;

interface ScaledObjectSpec {
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  fallback?: { failureThreshold: number; replicas: number; behavior?: string };
  triggers: {
    type: string;
    name?: string;
    metricType?: string;
    metadata: Record<string, string>;
  }[];
}

/** Kinds that belong to no namespace. */
const CLUSTER_SCOPED = new Set(['PriorityClass']);

const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
/** A peer in namespace `name`, to ask a policy whether it admits it. */
const from = (name: string) => ({ namespaceLabels: nsLabels(name) });

function api(objects: readonly KubeObject[]): { workload: Workload; container: IContainer } {
  const workload = workloads(objects).find(
    (w) => w.object.kind === 'Deployment' && w.object.metadata.name === 'coupon-service',
  );
  if (workload === undefined) throw new Error('no Deployment coupon-service');
  const container = workload.pod.containers.find((c) => c.name === 'coupon-service');
  if (container === undefined) throw new Error('no container coupon-service');
  return { workload, container };
}

/** The RedisCluster whose operator-made Service (<name>-leader or -follower) this is. */
function redisClusterOf(objects: readonly KubeObject[], serviceName: string) {
  const cluster = objects.find(
    (o) =>
      o.kind === 'RedisCluster' &&
      [`${o.metadata.name}-leader`, `${o.metadata.name}-follower`].includes(serviceName),
  );
  return cluster as unknown as IRedisCluster | undefined;
}

function configMapData(objects: readonly KubeObject[], name: string): Record<string, string> {
  return (find(objects, 'ConfigMap', name)['data'] ?? {}) as Record<string, string>;
}

/** The variables a container gets from its ConfigMaps (envFrom), by name. */
function envFromConfigMaps(objects: readonly KubeObject[], container: IContainer) {
  const values: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef?.name === undefined) continue;
    Object.assign(values, configMapData(objects, source.configMapRef.name));
  }
  return values;
}

describe('offline schema validation', () => {
  it('rejects an object that breaks its schema, and a kind it has no schema for', () => {
    const [broken, unknown, valid] = validateModels([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { spec: { containers: [{ name: 'x', ports: [{ containerPort: 'http' }] }] } },
        },
      },
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } },
    ]);
    expect(broken?.error).toMatch(/containerPort/);
    expect(unknown?.error).toMatch(/unknown kind Widget/);
    expect(valid).toEqual({});
  });
});

describeWithKubectl('field names', () => {
  it('are all known to their kinds, in every object of every overlay', () => {
    const objects = OVERLAYS.flatMap(({ name }) => kustomize(join(ROOT, 'k8s/overlays', name)));
    expect(fieldErrors(objects)).toEqual([]);
  });

  it('are checked: a misspelt one is named', () => {
    const deployment = structuredClone(
      kustomize(join(ROOT, 'k8s/overlays/dev')).find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'coupon-service',
      )!,
    );
    const container = (
      deployment['spec'] as { template: { spec: { containers: Record<string, unknown>[] } } }
    ).template.spec.containers[0]!;
    container['readinesProbe'] = container['readinessProbe'];
    expect(fieldErrors([deployment])).toEqual([
      expect.stringMatching(/Deployment\/coupon-service: .*'"readinesProbe"' does not exist/),
    ]);
  });
});

describeWithKubectl('kustomize overlays', () => {
  describe.each(OVERLAYS)('$name', ({ name, namespace }) => {
    let objects: KubeObject[];
    beforeAll(() => {
      objects = kustomize(join(ROOT, 'k8s/overlays', name));
    });

    it('builds, every object in the overlay namespace', () => {
      expect(objects.length).toBeGreaterThan(8);
      for (const object of objects) {
        if (object.kind === 'Namespace') expect(object.metadata.name).toBe(namespace);
        else if (CLUSTER_SCOPED.has(object.kind)) expect(object.metadata.namespace).toBeUndefined();
        else
          expect(`${object.kind}/${object.metadata.name} ${object.metadata.namespace}`).toBe(
            `${object.kind}/${object.metadata.name} ${namespace}`,
          );
      }
    });

    it('validates object by object against the Kubernetes, KEDA and prometheus-operator schemas', () => {
      const answers = validateModels(objects);
      const failures = answers.flatMap((answer, i) =>
        answer.error === undefined
          ? []
          : [`${objects[i]!.kind}/${objects[i]!.metadata.name}: ${answer.error}`],
      );
      expect(failures).toEqual([]);
    });

    it('runs every container of every workload as the restricted profile demands', () => {
      const problems: string[] = [];
      const all = workloads(objects);
      expect(all.length).toBeGreaterThanOrEqual(3);
      for (const { object, pod } of all) {
        const podContext = pod.securityContext ?? {};
        if (pod.automountServiceAccountToken !== false)
          problems.push(
            `${object.kind}/${object.metadata.name}: a service account token is mounted`,
          );
        for (const c of allContainers(pod)) {
          const at = `${object.kind}/${object.metadata.name} container ${c.name}`;
          const sc = c.securityContext ?? {};
          const runAsNonRoot = sc.runAsNonRoot ?? podContext.runAsNonRoot;
          const runAsUser = sc.runAsUser ?? podContext.runAsUser;
          const seccomp = sc.seccompProfile?.type ?? podContext.seccompProfile?.type;
          if (runAsNonRoot !== true) problems.push(`${at}: runAsNonRoot is not true`);
          if (runAsUser === undefined || runAsUser === 0)
            problems.push(`${at}: no non-root runAsUser`);
          if (c.image?.includes('coupon-service') === true && runAsUser !== 10001)
            problems.push(`${at}: runs as ${runAsUser}, not the image's user 10001`);
          if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: root file system writable`);
          if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: privilege escalation`);
          if (!(sc.capabilities?.drop ?? []).includes('ALL'))
            problems.push(`${at}: capabilities not dropped`);
          if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${at}: capabilities added`);
          if (seccomp !== 'RuntimeDefault') problems.push(`${at}: seccomp is ${seccomp}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('points each Service at named ports of pods that exist, and the API Service at API pods only', () => {
      const pods = workloads(objects);
      for (const object of objects.filter((o) => o.kind === 'Service')) {
        const service = asService(object);
        const selected = pods.filter((w) => selects(service.spec?.selector, w.labels));
        expect(`${object.metadata.name}: ${selected.length > 0}`).toBe(
          `${object.metadata.name}: true`,
        );
        for (const port of service.spec?.ports ?? []) {
          for (const { pod, object: owner } of selected) {
            const target = port.targetPort ?? port.port;
            const found = pod.containers.some((c) => containerPort(c, target) !== undefined);
            expect(
              `${object.metadata.name}:${port.name} -> ${owner.kind}/${owner.metadata.name}: ${found}`,
            ).toBe(
              `${object.metadata.name}:${port.name} -> ${owner.kind}/${owner.metadata.name}: true`,
            );
          }
        }
      }
      const apiService = asService(find(objects, 'Service', 'coupon-service'));
      const selected = pods.filter((w) => selects(apiService.spec?.selector, w.labels));
      expect(selected.map((w) => `${w.object.kind}/${w.object.metadata.name}`)).toEqual([
        'Deployment/coupon-service',
      ]);
    });

    it('gives the PodDisruptionBudgets and NetworkPolicies pods to select', () => {
      const pods = workloads(objects);
      for (const object of objects.filter((o) =>
        ['PodDisruptionBudget', 'NetworkPolicy'].includes(o.kind),
      )) {
        const spec = object['spec'] as {
          selector?: { matchLabels?: Record<string, string> };
          podSelector?: { matchLabels?: Record<string, string> };
        };
        const selector = (spec.selector ?? spec.podSelector)?.matchLabels;
        const count =
          pods.filter((w) => selects(selector, w.labels)).length +
          // The pods a RedisCluster's operator makes carry the resource's labels.
          objects.filter(
            (o) => o.kind === 'RedisCluster' && selects(selector, o.metadata.labels ?? {}),
          ).length;
        expect(`${object.kind}/${object.metadata.name} selects ${count > 0}`).toBe(
          `${object.kind}/${object.metadata.name} selects true`,
        );
      }
      const pdb = find(objects, 'PodDisruptionBudget', 'coupon-service');
      const pdbSelector = (pdb['spec'] as { selector: { matchLabels: Record<string, string> } })
        .selector.matchLabels;
      expect(selects(pdbSelector, api(objects).workload.labels)).toBe(true);
    });

    it('lets the kubelet kill an API pod only after the preStop pause and the drain', () => {
      const { workload, container } = api(objects);
      const graceSeconds = workload.pod.terminationGracePeriodSeconds ?? 30;
      const drainMs = Number(envValue(container, 'SHUTDOWN_GRACE_MS') ?? 10_000);
      const pause = container.lifecycle?.preStop?.sleep?.seconds;
      expect(pause).toBeGreaterThanOrEqual(3);
      expect(graceSeconds).toBeGreaterThan(drainMs / 1000 + pause!);
    });

    it('serves the API and metrics on the ports the probes, Service and env agree on', () => {
      const { container } = api(objects);
      expect(Number(envValue(container, 'PORT'))).toBe(containerPort(container, 'http'));
      expect(Number(envValue(container, 'METRICS_PORT'))).toBe(containerPort(container, 'metrics'));
      expect(envValue(container, 'HOST')).toBe('0.0.0.0');
      expect(envValue(container, 'METRICS_HOST')).toBe('0.0.0.0');
      expect(envValue(container, 'NODE_ENV')).toBe('production');
      expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
      expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
      expect(container.startupProbe?.httpGet?.port).toBe('http');
      expect(Number(envValue(container, 'CLAIM_CAPACITY_PER_POD'))).toBeGreaterThan(0);
      expect(container.resources?.limits?.['memory']).toBe(
        container.resources?.requests?.['memory'],
      );
    });

    it('mounts the campaigns file where CAMPAIGNS_FILE says, and it is the deployment campaigns file', () => {
      for (const { object, pod } of workloads(objects).filter((w) =>
        w.pod.containers.some((c) => envValue(c, 'CAMPAIGNS_FILE') !== undefined),
      )) {
        for (const c of pod.containers) {
          const path = envValue(c, 'CAMPAIGNS_FILE')!;
          const mount = c.volumeMounts?.find((m) => m.mountPath === path);
          expect(`${object.metadata.name}: ${mount?.subPath}`).toBe(
            `${object.metadata.name}: campaigns.json`,
          );
          const volume = pod.volumes?.find((v) => v.name === mount!.name);
          const data = configMapData(objects, volume!.configMap!.name!);
          expect(data['campaigns.json']).toBe(CAMPAIGNS_JSON);
          expect(parseCampaigns(JSON.parse(data['campaigns.json']!)).length).toBeGreaterThan(0);
        }
      }
    });

    it('reads the API keys from the coupon-api-keys Secret, which the build never contains', () => {
      const { workload, container } = api(objects);
      const path = envValue(container, 'COUPON_API_KEYS_FILE')!;
      const mount = container.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`))!;
      const volume = workload.pod.volumes!.find((v) => v.name === mount.name)!;
      expect(volume.secret?.secretName).toBe('coupon-api-keys');
      const item = volume.secret!.items!.find((i) => `${mount.mountPath}/${i.path}` === path);
      expect(item?.key).toBe('api-keys.json');
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    });

    it('tells every workload of the service where Redis is, and that Redis is in the overlay', () => {
      const pods = workloads(objects);
      const users = pods.filter(
        (w) => w.object.metadata.labels?.['app.kubernetes.io/name'] === 'coupon-service',
      );
      expect(users.map((w) => `${w.object.kind}/${w.object.metadata.name}`).sort()).toEqual([
        'CronJob/coupon-reconcile',
        'Deployment/coupon-recorder',
        'Deployment/coupon-service',
      ]);
      for (const { pod, object, labels } of users) {
        const env = envFromConfigMaps(objects, pod.containers[0]!);
        const hosts =
          env['REDIS_URL'] !== undefined
            ? [new URL(env['REDIS_URL']).host]
            : (env['REDIS_CLUSTER_NODES'] ?? '').split(',');
        expect(
          `${object.kind}: ${[env['REDIS_URL'], env['REDIS_CLUSTER_NODES']].filter(Boolean).length}`,
        ).toBe(`${object.kind}: 1`);
        for (const hostPort of hosts) {
          const [host, port] = hostPort.split(':') as [string, string];
          // `svc` or `pod.svc` (a StatefulSet pod behind its headless Service).
          const [first, second] = host.split('.') as [string, string | undefined];
          const serviceName = second ?? first;
          const operated = redisClusterOf(objects, serviceName);
          if (operated !== undefined) {
            // The operator's Services (<name>-leader, <name>-follower) select its pods, which carry
            // the RedisCluster's labels: the policies must let the traffic reach those.
            expect(Number(port)).toBe(operated.spec.port ?? 6379);
            const redisLabels = operated.metadata.labels ?? {};
            expect(Object.keys(redisLabels).length).toBeGreaterThan(0);
            const own = policiesSelecting(objects, labels);
            expect(own.length).toBeGreaterThan(0);
            for (const np of own)
              expect(admitsEgressToPods(np, redisLabels, Number(port))).toBe(true);
            continue;
          }
          const service = asService(find(objects, 'Service', serviceName));
          const redisPods = pods.filter((w) => selects(service.spec?.selector, w.labels));
          expect(redisPods.length).toBeGreaterThan(0);
          expect(service.spec?.ports?.some((p) => p.port === Number(port))).toBe(true);
          if (second !== undefined) {
            const statefulSet = redisPods.find((w) => w.object.kind === 'StatefulSet')!;
            const spec = statefulSet.object['spec'] as { serviceName: string; replicas: number };
            expect(spec.serviceName).toBe(serviceName);
            const ordinal = Number(/-(\d+)$/.exec(first)?.[1]);
            expect(ordinal).toBeLessThan(spec.replicas);
            expect(first).toBe(`${statefulSet.object.metadata.name}-${ordinal}`);
          }
          // ...and the policies on both sides let the traffic through.
          for (const np of policiesSelecting(objects, redisPods[0]!.labels)) {
            expect(
              admitsIngress(
                np,
                redisPods[0]!.pod.containers[0]!,
                {
                  namespaceLabels: nsLabels(namespace),
                  podLabels: { ...labels },
                  sameNamespace: true,
                },
                6379,
              ),
            ).toBe(true);
          }
          const own = policiesSelecting(objects, labels);
          expect(own.length).toBeGreaterThan(0);
          for (const np of own)
            expect(admitsEgressToPods(np, redisPods[0]!.labels, Number(port))).toBe(true);
        }
      }
    });

    it('admits the API port from the chat backend and the ingress controller, metrics only from monitoring', () => {
      const { workload, container } = api(objects);
      const policies = policiesSelecting(objects, workload.labels);
      expect(policies).toHaveLength(1);
      const np = policies[0]!;
      const http = containerPort(container, 'http')!;
      const metrics = containerPort(container, 'metrics')!;
      expect(admitsIngress(np, container, from('chat-backend'), http)).toBe(true);
      expect(admitsIngress(np, container, from('ingress-nginx'), http)).toBe(true);
      expect(admitsIngress(np, container, from('monitoring'), metrics)).toBe(true);
      expect(admitsIngress(np, container, from('chat-backend'), metrics)).toBe(false);
      expect(admitsIngress(np, container, from('monitoring'), http)).toBe(false);
      expect(admitsIngress(np, container, from('default'), http)).toBe(false);
      expect(admitsEgressToNamespace(np, nsLabels('kube-system'), 53, 'UDP')).toBe(true);
      expect(admitsEgressToNamespace(np, nsLabels('kube-system'), 53, 'TCP')).toBe(true);
      expect(admitsEgressToNamespace(np, nsLabels('monitoring'), 9091)).toBe(false);
    });

    it('runs the recorder with its schema migrated first, DATABASE_URL from a Secret the build never contains, metrics from monitoring only', () => {
      const recorder = workloads([find(objects, 'Deployment', 'coupon-recorder')])[0]!;
      const container = recorder.pod.containers[0]!;
      // `args`: the image's entrypoint (tini) stays PID 1.
      expect(container.command).toBeUndefined();
      expect(container.args).toEqual(['node', 'services/coupon-recorder/dist/src/main.js']);
      expect(container.image).toBe(api(objects).container.image);
      const migrate = recorder.pod.initContainers?.[0];
      expect(migrate?.command).toBeUndefined();
      expect(migrate?.args).toEqual(['node', 'libs/ledger-record/dist/src/cli/migrate.js']);
      // The URL as a file from a Secret, never in the environment; the migration has its own
      // (DDL) credential, the recorder one that only writes rows.
      const secretFile = (c: IContainer): string | undefined => {
        expect(c.env?.some((e) => e.name === 'DATABASE_URL')).toBe(false);
        const path = envValue(c, 'DATABASE_URL_FILE')!;
        const mount = c.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
        const volume = recorder.pod.volumes?.find((v) => v.name === mount?.name);
        const item = volume?.secret?.items?.find((i) => `${mount!.mountPath}/${i.path}` === path);
        expect(item?.key).toBe('url');
        return volume?.secret?.secretName;
      };
      expect(secretFile(container)).toBe('coupon-recorder-database');
      expect(secretFile(migrate!)).toBe('coupon-recorder-migrate');
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      expect(Number(envValue(container, 'RECORDER_METRICS_PORT'))).toBe(
        containerPort(container, 'metrics'),
      );
      expect(container.env?.find((e) => e.name === 'RECORDER_CONSUMER_NAME')?.valueFrom).toEqual({
        fieldRef: { fieldPath: 'metadata.name' },
      });
      const policies = policiesSelecting(objects, recorder.labels);
      expect(policies).toHaveLength(1);
      const np = policies[0]!;
      const metrics = containerPort(container, 'metrics')!;
      expect(admitsIngress(np, container, from('monitoring'), metrics)).toBe(true);
      expect(admitsIngress(np, container, from('chat-backend'), metrics)).toBe(false);
      expect(admitsEgressToNamespace(np, nsLabels('kube-system'), 53, 'UDP')).toBe(true);
      // PostgreSQL at one address (an ipBlock the overlay sets), never any address on 5432.
      const database = (np.spec?.egress ?? []).filter((rule) =>
        (rule.ports ?? []).some((p) => p.port === 5432),
      );
      expect(database).toHaveLength(1);
      const to = database[0]!.to ?? [];
      expect(to.length).toBeGreaterThan(0);
      for (const peer of to) {
        expect(peer.ipBlock?.cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/(2[4-9]|3[0-2])$/);
        expect(peer.ipBlock?.cidr).not.toMatch(/^0\.0\.0\.0\/(?!32)/);
      }
      // Not an API pod: neither the API Service nor its PodDisruptionBudget selects it.
      const apiService = asService(find(objects, 'Service', 'coupon-service'));
      expect(selects(apiService.spec?.selector, recorder.labels)).toBe(false);
      const service = asService(find(objects, 'Service', 'coupon-recorder'));
      expect(selects(service.spec?.selector, recorder.labels)).toBe(true);
    });

    it('reconciles every 15 minutes, one run at a time, a campaign of the campaigns file, reporting to the Pushgateway', () => {
      const cronJob = find(objects, 'CronJob', 'coupon-reconcile');
      const spec = cronJob['spec'] as { schedule: string; concurrencyPolicy: string };
      expect(spec.schedule).toBe('*/15 * * * *');
      expect(spec.concurrencyPolicy).toBe('Forbid');
      const workload = workloads([cronJob])[0]!;
      const container = workload.pod.containers[0]!;
      const argv = [...(container.command ?? []), ...(container.args ?? [])];
      expect(argv.slice(0, 2)).toEqual([
        'node',
        'services/coupon-service/dist/src/cli/reconcile.js',
      ]);
      const campaignId = argv[argv.indexOf('--campaign') + 1];
      const ids = parseCampaigns(JSON.parse(CAMPAIGNS_JSON)).map((c) => c.id);
      expect(ids).toContain(campaignId);
      expect(container.image).toBe(api(objects).container.image);
      const pushgateway = new URL(envValue(container, 'PUSHGATEWAY_URL')!);
      expect(pushgateway.hostname).toBe('pushgateway.monitoring.svc');
      const policies = policiesSelecting(objects, workload.labels);
      expect(policies).toHaveLength(1);
      expect(
        admitsEgressToNamespace(policies[0]!, nsLabels('monitoring'), Number(pushgateway.port)),
      ).toBe(true);
      expect(policies[0]!.spec?.policyTypes).toContain('Ingress');
      expect(policies[0]!.spec?.ingress ?? []).toEqual([]);
    });
  });

  describe('dev', () => {
    let objects: KubeObject[];
    beforeAll(() => {
      objects = kustomize(join(ROOT, 'k8s/overlays/dev'));
    });

    it('runs one pod of the locally built image, without KEDA or the Prometheus operator', () => {
      const deployment = find(objects, 'Deployment', 'coupon-service');
      expect((deployment['spec'] as { replicas: number }).replicas).toBe(1);
      expect(api(objects).container.image).toBe('coupon-service:dev');
      expect(objects.filter((o) => ['ScaledObject', 'ServiceMonitor'].includes(o.kind))).toEqual(
        [],
      );
    });

    it('keeps one Redis on a volume with the AOF fsynced every second and no eviction', () => {
      const redis = workloads(objects).find((w) => w.object.kind === 'StatefulSet')!;
      const spec = redis.object['spec'] as { replicas: number; volumeClaimTemplates: unknown[] };
      expect(spec.replicas).toBe(1);
      expect(spec.volumeClaimTemplates).toHaveLength(1);
      const args = redis.pod.containers[0]!.args!.join(' ');
      expect(redis.pod.containers[0]!.image).toBe('redis:7');
      expect(args).toContain('--appendonly yes');
      expect(args).toContain('--appendfsync everysec');
      expect(args).toContain('--maxmemory-policy noeviction');
    });
  });

  describe('prod', () => {
    let objects: KubeObject[];
    let scaledObject: ScaledObjectSpec;
    beforeAll(() => {
      objects = kustomize(join(ROOT, 'k8s/overlays/prod'));
      scaledObject = find(objects, 'ScaledObject', 'coupon-service')['spec'] as ScaledObjectSpec;
    });

    it('leaves the replica count to KEDA, scaling the Deployment between at least 2 and a ceiling', () => {
      const deployment = find(objects, 'Deployment', 'coupon-service');
      expect((deployment['spec'] as { replicas?: number }).replicas).toBeUndefined();
      expect(scaledObject.scaleTargetRef).toMatchObject({
        kind: 'Deployment',
        name: 'coupon-service',
      });
      expect(scaledObject.minReplicaCount).toBeGreaterThanOrEqual(2);
      expect(scaledObject.maxReplicaCount).toBeGreaterThan(scaledObject.minReplicaCount!);
      expect(scaledObject.fallback?.failureThreshold).toBe(3);
      expect(scaledObject.fallback?.replicas).toBeGreaterThanOrEqual(scaledObject.minReplicaCount!);
      expect(scaledObject.fallback?.replicas).toBeLessThanOrEqual(scaledObject.maxReplicaCount!);
    });

    it('asks Prometheus for pods needed: this namespace’s claims offered over the planned claims per pod', () => {
      const demand = scaledObject.triggers.find((t) => t.name === 'demand')!;
      expect(demand.type).toBe('prometheus');
      expect(demand.metricType).toBe('AverageValue');
      const query = demand.metadata['query']!;
      const [numerator, denominator] = query.split(' / ') as [string, string];
      expect(numerator).toMatch(
        /^sum\(rate\(coupon_requests_received_total\{[^}]*priority="claim"/,
      );
      expect(denominator).toMatch(/coupon_claim_capacity_per_pod/);
      expect(Number(demand.metadata['threshold'])).toBeGreaterThan(0);
      expect(Number(demand.metadata['threshold'])).toBeLessThan(1);
      expect(demand.metadata['ignoreNullValues']).toBe('false');
      const saturation = scaledObject.triggers.find((t) => t.name === 'saturation')!;
      expect(saturation.metadata['query']).toMatch(/^avg\(coupon_admission_saturation\{/);
      for (const trigger of [demand, saturation]) {
        const namespaces = [...trigger.metadata['query']!.matchAll(/namespace="([^"]*)"/g)].map(
          (m) => m[1],
        );
        expect(namespaces.length).toBeGreaterThan(0);
        expect(new Set(namespaces)).toEqual(new Set(['coupons']));
        expect(trigger.metadata['serverAddress']).toBe(
          'http://prometheus-operated.monitoring.svc:9090',
        );
      }
    });

    it('carries the generated pre-scaling windows, within the ceiling', () => {
      const cron = scaledObject.triggers.filter((t) => t.type === 'cron');
      const generated = (
        parseYamlObjects(PRESCALE, 'prescale-triggers.yaml')[0] as unknown as {
          op: string;
          value: unknown;
        }[]
      )
        .filter((op) => op.op === 'add')
        .map((op) => op.value);
      expect(cron).toEqual(generated);
      expect(readGeneratedWith(PRESCALE)).toBeDefined();
      for (const trigger of cron)
        expect(Number(trigger.metadata['desiredReplicas'])).toBeLessThanOrEqual(
          scaledObject.maxReplicaCount!,
        );
    });

    it('is scraped by Prometheus on a port the Service exposes and the NetworkPolicy admits', () => {
      const monitor = find(objects, 'ServiceMonitor', 'coupon-service')['spec'] as {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string; interval: string }[];
      };
      const services = objects
        .filter((o) => o.kind === 'Service')
        .filter((o) => selects(monitor.selector.matchLabels, o.metadata.labels ?? {}));
      expect(services.map((s) => s.metadata.name)).toEqual(['coupon-service']);
      const service = services[0] as unknown as IService;
      const endpoint = monitor.endpoints[0]!;
      expect(endpoint).toMatchObject({ path: '/metrics', interval: '15s' });
      const port = service.spec!.ports!.find((p) => p.name === endpoint.port)!;
      const { workload, container } = api(objects);
      const targetPort = containerPort(container, port.targetPort!)!;
      expect(targetPort).toBe(Number(envValue(container, 'METRICS_PORT')));
      const np = policiesSelecting(objects, workload.labels)[0]!;
      expect(admitsIngress(np, container, from('monitoring'), targetPort)).toBe(true);
    });

    it('runs the ledger on a RedisCluster of the operator: 3 masters, 2 replicas each, password and TLS from Secrets, that will not lose or evict money', () => {
      const cluster = find(objects, 'RedisCluster', 'coupon-redis') as unknown as IRedisCluster;
      const { spec } = cluster;
      expect(spec.clusterSize).toBe(3);
      expect(spec.redisLeader?.replicas).toBe(spec.clusterSize);
      const perMaster = (spec.redisFollower?.replicas ?? 0) / spec.clusterSize;
      expect(perMaster).toBe(2);
      // The password and the certificates are the Secrets', which the build never contains.
      expect(spec.kubernetesConfig.redisSecret).toEqual({
        name: 'coupon-redis-password',
        key: 'password',
      });
      expect(spec.TLS?.secret.secretName).toBe('coupon-redis-tls');
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      // An exact version, never a floating tag like redis:7 (the pipeline pins digests).
      for (const image of [spec.kubernetesConfig.image, spec.redisExporter?.image])
        expect(image).toMatch(/:v?\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/);
      expect(spec.redisExporter?.enabled).toBe(true);
      expect(spec.storage?.nodeConfVolume).toBe(true);
      // Every node reads the settings the service's check wants.
      const config = configMapData(objects, spec.redisLeader!.redisConfig!.additionalRedisConfig!);
      expect(spec.redisFollower?.redisConfig?.additionalRedisConfig).toBe(
        spec.redisLeader?.redisConfig?.additionalRedisConfig,
      );
      const settings = new Map(
        Object.values(config)
          .join('\n')
          .split('\n')
          .filter((line) => line.trim() !== '' && !line.startsWith('#'))
          .map((line) => line.trim().split(/\s+/) as [string, string]),
      );
      expect(settings.get('appendonly')).toBe('yes');
      expect(settings.get('appendfsync')).toBe('everysec');
      expect(settings.get('maxmemory-policy')).toBe('noeviction');
      expect(settings.get('cluster-require-full-coverage')).toBe('no');
      // A coupon waits for WAIT_REPLICAS replicas and a master refuses writes with fewer than
      // min-replicas-to-write: both below the replicas a master has, so draining one (the PDB
      // lets one follower go at a time) refuses nothing.
      const env = envFromConfigMaps(objects, api(objects).container);
      const wait = Number(env['REDIS_WAIT_REPLICAS']);
      const minToWrite = Number(settings.get('min-replicas-to-write'));
      expect(wait).toBe(1);
      expect(minToWrite).toBeGreaterThanOrEqual(wait);
      expect(minToWrite).toBeLessThan(perMaster);
      expect(spec.redisFollower?.pdb).toEqual({ enabled: true, maxUnavailable: 1 });
      expect(spec.redisLeader?.pdb).toEqual({ enabled: true, maxUnavailable: 1 });
      // The service is told where the operator's Services are, and how to authenticate.
      expect(env['REDIS_CLUSTER_NODES']!.split(',').sort()).toEqual([
        'coupon-redis-follower:6379',
        'coupon-redis-leader:6379',
      ]);
      for (const w of workloads(objects).filter(
        (w) => w.object.metadata.labels?.['app.kubernetes.io/name'] === 'coupon-service',
      )) {
        const c = w.pod.containers[0]!;
        const mounted = (path: string) => {
          const mount = c.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
          const volume = w.pod.volumes?.find((v) => v.name === mount?.name);
          return `${w.object.metadata.name}: ${volume?.secret?.secretName}`;
        };
        expect(mounted(env['REDIS_PASSWORD_FILE']!)).toBe(
          `${w.object.metadata.name}: coupon-redis-password`,
        );
        expect(mounted(env['REDIS_TLS_CA_FILE']!)).toBe(
          `${w.object.metadata.name}: coupon-redis-tls`,
        );
      }
    });

    it('gives the API and the recorder a priority, a readiness delay and a rollout deadline', () => {
      const priority = find(objects, 'PriorityClass', 'coupon-critical') as unknown as {
        value: number;
        globalDefault?: boolean;
      };
      expect(priority.value).toBeGreaterThan(0);
      expect(priority.value).toBeLessThan(1_000_000_000);
      expect(priority.globalDefault).not.toBe(true);
      for (const name of ['coupon-service', 'coupon-recorder']) {
        const deployment = find(objects, 'Deployment', name);
        const spec = deployment['spec'] as {
          minReadySeconds?: number;
          progressDeadlineSeconds?: number;
        };
        expect(spec.minReadySeconds).toBeGreaterThan(0);
        expect(spec.progressDeadlineSeconds).toBeGreaterThan(spec.minReadySeconds!);
        expect(workloads([deployment])[0]!.pod.priorityClassName).toBe('coupon-critical');
      }
      expect(
        (find(objects, 'RedisCluster', 'coupon-redis') as unknown as IRedisCluster).spec
          .priorityClassName,
      ).toBe('coupon-critical');
    });

    it('falls back, when blind, to the larger of its fallback size and the fleet running', () => {
      expect(scaledObject.fallback?.behavior).toBe('currentReplicasIfHigher');
    });
  });
});
