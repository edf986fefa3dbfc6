import { join } from 'node:path';
import { PROMETHEUS_INSTALL_HINT } from '@coupons/monitoring';
import { describeIfExecutables } from '@coupons/testing';
import { cgroupVersion } from '../src/cgroup';
import { HAPROXY_INSTALL_HINT } from '../src/haproxy';
import { CrowdLoad } from '../src/load';
import { builtProdScaledObject } from '../src/manifest';
import { Scaler } from '../src/scaler';
import { startStack, type Stack } from '../src/stack';

const ROOT = join(__dirname, '..', '..', '..');
/** claims per second one pod is planned for, in this tiny fleet */
const PLAN = 20;

/**
 * Prometheus -> scaler -> pods on a tiny fleet (two slots, one process per pod of the manifest):
 * the ScaledObject's own demand query, through Prometheus's HTTP API, sizes the fleet; with
 * Prometheus stopped the 4th failed poll falls back. The scaler's clock is given (15 s apart, the
 * manifest's interval) so the HPA's policy windows are the manifest's without waiting for them.
 */
describeIfExecutables(
  'the rehearsal scaler on a real Prometheus',
  { prometheus: PROMETHEUS_INSTALL_HINT, haproxy: HAPROXY_INSTALL_HINT },
  () => {
    let stack: Stack;
    beforeAll(async () => {
      if (cgroupVersion() === undefined) throw new Error('no writable cgroup cpu controller');
      stack = await startStack({
        root: ROOT,
        slots: 2,
        podsPerProcess: 1,
        share: 0.5,
        processPlan: PLAN,
        scrapeSeconds: 1,
      });
      stack.fleet.scaleTo(1);
      await stack.fleet.waitReady();
    }, 60_000);
    afterAll(async () => {
      await stack?.close();
    }, 60_000);

    it('reads demand as pods needed, asks for more pods, starts them behind haproxy, and falls back on the 4th failed poll', async () => {
      const spec = builtProdScaledObject(ROOT);
      let replicas = 1;
      const scaler = new Scaler({
        spec,
        prometheusUrl: () => stack.prometheus?.url ?? 'http://127.0.0.1:9',
        initialReplicas: 1,
        // Ready pods of the manifest: every process is one, and the slots hold only two.
        ready: () => Math.min(replicas, stack.fleet.ready),
        apply: (n) => {
          replicas = n;
          stack.fleet.scaleTo(stack.fleet.processesFor(n));
        },
      });
      const rate = 60;
      // The load runs on while the scaler reads, and after, so the new pods take traffic too.
      const load = new CrowdLoad({
        baseUrl: stack.haproxy.url,
        campaign: stack.campaignId,
        apiKey: stack.apiKey,
        runId: `int-${Date.now()}`,
        rateAt: () => rate,
        durationSeconds: 14,
      });
      const running = load.run();
      await new Promise((done) => setTimeout(done, 10_000));
      const t0 = Date.now();
      const first = await scaler.poll(t0);
      await running;
      const demand = first.readings['demand'];
      expect(typeof demand).toBe('number');
      // Pods needed at plan: the claims offered over the query's minute (rate over [1m]: the
      // load has run 10 s of it), over the plan per pod.
      const offered = load.seconds.slice(0, 10).reduce((n, s) => n + s.sent, 0);
      const expected = offered / 60 / PLAN;
      expect(demand as number).toBeGreaterThan(0.5 * expected);
      expect(demand as number).toBeLessThan(1.6 * expected);
      // ceil(demand / 0.7), at least the manifest's minimum.
      expect(first.desired).toBe(Math.max(spec.minReplicas, Math.ceil((demand as number) / 0.7)));
      expect(replicas).toBe(first.desired);
      expect(stack.fleet.running).toBe(2); // both slots: more pods asked than the tiny fleet has
      await stack.fleet.waitReady(30_000);
      const served = load.seconds.reduce((n, s) => n + s.served, 0);
      expect(served).toBeGreaterThan(0);

      // Prometheus gone: three failed polls keep the count, the 4th hands the HPA the fallback.
      await stack.stopPrometheus();
      const before = scaler.replicas;
      const polls = [];
      for (let i = 1; i <= 5; i += 1) polls.push(await scaler.poll(t0 + i * 15_000));
      expect(polls.map((p) => p.readings['demand'])).toEqual([
        'error',
        'error',
        'error',
        'fallback',
        'fallback',
      ]);
      expect(polls.slice(0, 3).map((p) => p.desired)).toEqual([before, before, before]);
      // The fallback asks for the larger of fallback.replicas and the running count
      // (currentReplicasIfHigher), reached within the scale-up policies (4x per 15 s); it never
      // shrinks the fleet while Prometheus is gone.
      expect(polls[3]!.desired).toBeGreaterThan(before);
      expect(polls[4]!.desired).toBe(Math.max(spec.fallback.replicas, before));
    }, 90_000);
  },
);
