import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import {
  GENERATED_FILES,
  listDashboardQueries,
  packageDir,
  PROMETHEUS_INSTALL_HINT,
  PromQueryError,
  PUSHGATEWAY_INSTALL_HINT,
  RECORDED_NAMES,
  SERVICE_HPA,
  SERVICE_JOB,
  startLocalPrometheus,
  startLocalPushgateway,
  type LocalPrometheus,
  type LocalServer,
} from '@coupons/monitoring';
import { claimRequests, runOpenModel, type LoadReport } from '@coupons/runner';
import { describeIfExecutables } from '@coupons/testing';
import { campaignsFile, cli } from './cli';
import {
  crowdCampaign,
  KEYS,
  liveCampaign,
  standaloneRedisUrl,
  uniqueId,
  type TestService,
  QUIET_GUARD_ENV,
  startReadyService,
} from './support';

const REPO_ROOT = resolve(__dirname, '../../..');
/** The namespace label the ServiceMonitor would add; the overlays' queries select it. */
const NAMESPACE = 'coupons';
/** Planned claims/s per pod: small, so two loads a test can offer ask for clearly different fleets. */
const CAPACITY = 3;
/** The two loads (claims/s), three times apart, each held this long. */
const LOW = 30;
const HIGH = 90;
/** The pod's token bucket: above the low load, below the high one (which it partly sheds). */
const ADMISSION_RATE = 60;
const LEVEL_MS = 7_000;
/**
 * The demand query's window. The ScaledObject uses [1m] against a 15 s scrape; here Prometheus
 * scrapes every second and a level lasts 7 s, so the same query is evaluated over 4 s that lie
 * inside one level (the first second and the last half-second left out).
 */
const WINDOW = '4s';

interface Trigger {
  name: string;
  metricType: string;
  metadata: { query: string; threshold: string };
}

/** The ScaledObject's Prometheus triggers as the base ships them, for this namespace and window. */
function scaledObjectTriggers(): Map<string, Trigger> {
  const object = parse(readFileSync(join(REPO_ROOT, 'k8s/base/scaledobject.yaml'), 'utf8')) as {
    spec: { triggers: Trigger[] };
  };
  return new Map(
    object.spec.triggers.map((trigger) => [
      trigger.name,
      {
        ...trigger,
        metadata: {
          ...trigger.metadata,
          query: trigger.metadata.query
            .replaceAll('namespace="SET-BY-OVERLAY"', `namespace="${NAMESPACE}"`)
            .replaceAll('[1m]', `[${WINDOW}]`),
        },
      },
    ]),
  );
}

/**
 * kube-state-metrics' replica series as a cluster would export them for this fleet. No cluster
 * runs here, so these few lines stand in for it: they let the replica panels' queries be run
 * against real series of the same names and labels.
 */
function kubeStateMetricsText(): string {
  const hpa = `namespace="${NAMESPACE}",horizontalpodautoscaler="${SERVICE_HPA}"`;
  return [
    `kube_horizontalpodautoscaler_status_desired_replicas{${hpa}} 2`,
    `kube_horizontalpodautoscaler_status_current_replicas{${hpa}} 2`,
    `kube_horizontalpodautoscaler_spec_max_replicas{${hpa}} 20`,
    `kube_deployment_status_replicas_available{namespace="${NAMESPACE}",deployment="${SERVICE_JOB}"} 2`,
    '',
  ].join('\n');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const value = async (prometheus: LocalPrometheus, expr: string, at: number): Promise<number> => {
  const { samples } = await prometheus.query(expr, at);
  if (samples.length !== 1) throw new Error(`${expr} at ${at}: ${JSON.stringify(samples)}`);
  return samples[0]!.value;
};

/**
 * The service as the cluster runs it, watched by a real Prometheus: it scrapes the service's
 * metrics port (and a real Pushgateway the reconcile CLI pushed to) with the generated rules
 * loaded, while the load runner offers claims at two levels. Then, through Prometheus's HTTP API:
 * the autoscaler's queries, every dashboard query and every recording rule.
 */
describeIfExecutables(
  'a real Prometheus scraping the service under load',
  { prometheus: PROMETHEUS_INSTALL_HINT, 'prometheus-pushgateway': PUSHGATEWAY_INSTALL_HINT },
  () => {
    const campaign = liveCampaign(uniqueId('prom'), crowdCampaign(100_000));
    let service: TestService;
    let pushgateway: LocalServer;
    let kubeStateMetrics: Server;
    let prometheus: LocalPrometheus;
    const levels: { rate: number; report: LoadReport; fromS: number; toS: number }[] = [];

    beforeAll(async () => {
      service = await startReadyService({
        clock: 'redis',
        campaigns: [campaign],
        env: {
          CLAIM_CAPACITY_PER_POD: String(CAPACITY),
          BUDGET_SAMPLE_MS: '500',
          USER_RATE_LIMIT: 'off',
          ADMISSION_RATE: String(ADMISSION_RATE),
          // A burst of 30 (24 usable by claims): a generator late by a few tens of ms on a busy
          // machine refills ~2 tokens, 0.07 of the gauge here, where it was 0.2 of a burst of 10.
          ADMISSION_BURST: '30',
          ...QUIET_GUARD_ENV,
          REDIS_COMMAND_TIMEOUT_MS: '2000',
        },
      });

      pushgateway = await startLocalPushgateway();
      const reconcile = await cli('reconcile', ['--campaign', campaign.id], {
        REDIS_URL: standaloneRedisUrl(),
        CAMPAIGNS_FILE: campaignsFile([campaign]),
        PUSHGATEWAY_URL: pushgateway.url,
      });
      if (reconcile.code !== 0) throw new Error(`reconcile: ${reconcile.stderr}`);

      kubeStateMetrics = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(kubeStateMetricsText());
      });
      const kubeStateMetricsAddress = await listen(kubeStateMetrics);

      prometheus = await startLocalPrometheus({
        ruleFiles: [join(packageDir(), GENERATED_FILES.rules)],
        jobs: [
          {
            job: SERVICE_JOB,
            targets: [
              {
                address: new URL(service.metricsBase).host,
                labels: { namespace: NAMESPACE, pod: 'coupon-service-0' },
              },
            ],
          },
          {
            job: 'pushgateway',
            honorLabels: true,
            targets: [{ address: new URL(pushgateway.url).host }],
          },
          {
            job: 'kube-state-metrics',
            honorLabels: true,
            targets: [{ address: kubeStateMetricsAddress }],
          },
        ],
      });
      await prometheus.waitForTargets();

      for (const rate of [LOW, HIGH]) {
        const fromS = Date.now() / 1000;
        const report = await runOpenModel({
          baseUrl: service.base,
          ratePerSecond: rate,
          durationMs: LEVEL_MS,
          timeoutMs: 5_000,
          makeRequest: claimRequests({
            campaign: campaign.id,
            apiKey: KEYS.all,
            runId: randomBytes(4).toString('hex'),
          }),
        });
        levels.push({ rate, report, fromS, toS: Date.now() / 1000 });
      }
      // Two more scrapes and rule evaluations, so the end of the high level is stored.
      await new Promise((done) => setTimeout(done, 2_500));
    }, 90_000);

    afterAll(async () => {
      await prometheus?.stop();
      await pushgateway?.stop();
      await new Promise((done) => (kubeStateMetrics ? kubeStateMetrics.close(done) : done(null)));
      await service?.stop();
    });

    it('offered both loads (the figures below compare with what was really sent)', () => {
      for (const { rate, report } of levels) {
        // A generator that fell behind sent less: the comparisons use what it sent, so a busy
        // machine narrows the gap between the levels but does not fake a result.
        expect(report.errors + report.timeouts).toBe(0);
        expect(report.offeredRate).toBeGreaterThan(0.8 * rate);
        expect(report.otherStatus).toEqual({});
      }
    });

    it("the ScaledObject's demand query is the offered claims/s over the planned capacity, and the fleet it asks for follows the load", async () => {
      const demand = scaledObjectTriggers().get('demand')!;
      expect(demand.metricType).toBe('AverageValue');
      const threshold = Number(demand.metadata.threshold);
      const measured = await Promise.all(
        levels.map(async ({ rate, report, toS }) => {
          // Evaluated half a second before the level ended: the window lies inside it.
          const pods = await value(prometheus, demand.metadata.query, toS - 0.5);
          const offered = report.sent / (report.durationMs / 1000);
          // KEDA's AverageValue: desired replicas = ceil(metric / threshold).
          return { rate, offered, pods, desired: Math.ceil(pods / threshold) };
        }),
      );
      const [low, high] = measured as [(typeof measured)[0], (typeof measured)[0]];
      for (const level of measured) {
        // The demand series counts what was offered, not what was served: the high load was
        // partly shed by the token bucket, and still counts whole.
        expect(level.pods * CAPACITY).toBeGreaterThan(0.8 * level.offered);
        expect(level.pods * CAPACITY).toBeLessThan(1.2 * level.offered);
      }
      const loadRatio = high.offered / low.offered;
      const desiredRatio = high.desired / low.desired;
      if (desiredRatio < 0.8 * loadRatio || desiredRatio > 1.2 * loadRatio)
        throw new Error(
          `desired replicas ${low.desired} -> ${high.desired} for loads ${low.offered.toFixed(1)} -> ${high.offered.toFixed(1)}/s: ${JSON.stringify(measured)}`,
        );
    });

    it("the ScaledObject's saturation query reads low under the pod's rate and high over it", async () => {
      const saturation = scaledObjectTriggers().get('saturation')!;
      // A gauge read at each scrape: a pause of the generator refills the bucket for a moment, so
      // each level is judged by the median of the last four seconds' readings.
      const median = async (toS: number): Promise<number> => {
        const readings = await Promise.all(
          [0.5, 1.5, 2.5, 3.5, 4.5].map((back) =>
            value(prometheus, saturation.metadata.query, toS - back),
          ),
        );
        return readings.sort((a, b) => a - b)[2]!;
      };
      const [low, high] = await Promise.all(levels.map(({ toS }) => median(toS)));
      // Under its rate the bucket refills between claims; over it, claims keep it at the reserve.
      expect(low).toBeLessThan(0.5);
      expect(high).toBeGreaterThan(0.8);
      expect(high).toBeLessThanOrEqual(1);
    });

    it('every dashboard query parses and returns series', async () => {
      const queries = listDashboardQueries({
        namespace: NAMESPACE,
        job: SERVICE_JOB,
        campaign: campaign.id,
        __rate_interval: WINDOW,
      });
      const empty: string[] = [];
      for (const query of queries) {
        try {
          const { samples } = await prometheus.query(query.expr);
          if (samples.length === 0) empty.push(`${query.panel} [${query.refId}]: ${query.expr}`);
        } catch (error) {
          if (error instanceof PromQueryError)
            throw new Error(`${query.panel} [${query.refId}]: ${error.message}`, { cause: error });
          throw error;
        }
      }
      expect(empty).toEqual([]);
    });

    it('every recording rule has a value', async () => {
      const missing: string[] = [];
      for (const name of RECORDED_NAMES) {
        const { samples } = await prometheus.query(`${name}{namespace="${NAMESPACE}"}`);
        if (samples.length === 0) missing.push(name);
      }
      expect(missing).toEqual([]);
    });
  },
);
