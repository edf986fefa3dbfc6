import { crowdTimes, rateAt, type CrowdPlan } from './crowd';
import type { Prescale, ScaledObjectSpec } from './manifest';
import { CrowdLoad, type SecondTally } from './load';
import { Scaler, type ScalerDecision } from './scaler';
import { startStack } from './stack';

export type RunMode = 'fixed' | 'demand' | 'prescale';

export interface RunSettings {
  root: string;
  mode: RunMode;
  spec: ScaledObjectSpec;
  prescale: Prescale;
  plan: CrowdPlan;
  /** the fixed fleet's size, in the manifest's pods */
  fixedReplicas: number;
  podsPerProcess: number;
  /** a process's CPU cap, in cores */
  share: number;
  /** claims per second one process is planned to serve (its CLAIM_CAPACITY_PER_POD x podsPerProcess) */
  processPlan: number;
  /** the ServiceMonitor's scrape interval, seconds */
  scrapeSeconds: number;
  /** a Prometheus outage of this many seconds in the hold, or none */
  outageSeconds?: number;
  /** ordinary load sent before the run so Prometheus has a minute of samples */
  warmUpSeconds: number;
}

export interface FleetSample {
  t: number;
  replicas: number;
  processes: number;
  ready: number;
}

export interface RunResult {
  mode: RunMode;
  seconds: SecondTally[];
  fleet: FleetSample[];
  decisions: (ScalerDecision & { t: number })[];
  startTimesMs: number[];
  outage?: { from: number; to: number };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// Long: one rehearsal as a linear script (stack, crowd, scaler, outage, report), read whole.
export async function runOnce(settings: RunSettings): Promise<RunResult> {
  const { spec, plan, mode } = settings;
  const stack = await startStack({
    root: settings.root,
    slots: Math.ceil(spec.maxReplicas / settings.podsPerProcess),
    podsPerProcess: settings.podsPerProcess,
    share: settings.share,
    processPlan: settings.processPlan,
    scrapeSeconds: settings.scrapeSeconds,
  });
  const { fleet, haproxy } = stack;
  try {
    const initial = mode === 'fixed' ? settings.fixedReplicas : spec.minReplicas;
    let replicas = initial;
    fleet.scaleTo(fleet.processesFor(initial));
    await fleet.waitReady();

    const times = crowdTimes(plan);
    // The calendar's window opens `lead` before the release and closes `hold` after it, in real
    // minutes: the lead is there to cover the scaler's polls and the pods' starts, which run in
    // real time here too, so it is not compressed with the ordinary hour. Ten minutes ahead of a
    // release a minute into the run: the window is open from the run's start.
    const leadS = settings.prescale.leadMinutes * 60;
    const holdS = settings.prescale.holdMinutes * 60;

    // Warm-up: the ordinary rate, so Prometheus has samples for rate() when the scaler starts.
    await new CrowdLoad({
      baseUrl: haproxy.url,
      campaign: stack.campaignId,
      apiKey: stack.apiKey,
      runId: `${mode}-warm-${Date.now()}`,
      rateAt: () => plan.ordinaryRate,
      durationSeconds: settings.warmUpSeconds,
    }).run();

    const startedAt = Date.now();
    const tOf = (ms: number) => (ms - startedAt) / 1000;
    const scaler = new Scaler({
      spec,
      prometheusUrl: () => stack.prometheus?.url ?? 'http://127.0.0.1:9',
      ...(mode === 'prescale'
        ? {
            // The calendar's first window stands for the release rehearsed; the others are for
            // other days and stay closed.
            cronActive: (nowMs: number, index: number) => {
              const t = tOf(nowMs);
              return index === 0 && t >= times.stepAt - leadS && t < times.stepAt + holdS;
            },
          }
        : {}),
      initialReplicas: initial,
      ready: () => Math.min(replicas, fleet.ready * settings.podsPerProcess),
      apply: (n) => {
        replicas = n;
        fleet.scaleTo(fleet.processesFor(n));
      },
    });
    if (mode !== 'fixed') scaler.start();
    const samples: FleetSample[] = [];
    const sampler = setInterval(
      () =>
        samples.push({
          t: Math.round(tOf(Date.now())),
          replicas,
          processes: fleet.running,
          ready: fleet.ready,
        }),
      1000,
    );
    let outage: RunResult['outage'];
    const outageTask =
      settings.outageSeconds === undefined
        ? Promise.resolve()
        : (async () => {
            await sleep((times.stepFullAt + 45) * 1000);
            await stack.stopPrometheus();
            const from = tOf(Date.now());
            await sleep(settings.outageSeconds! * 1000);
            await stack.startPrometheus();
            outage = { from, to: tOf(Date.now()) };
          })();
    const load = new CrowdLoad({
      baseUrl: haproxy.url,
      campaign: stack.campaignId,
      apiKey: stack.apiKey,
      runId: `${mode}-${Date.now()}`,
      rateAt: (t) => rateAt(plan, t),
      durationSeconds: times.end,
    });
    await load.run();
    await outageTask;
    scaler.stop();
    clearInterval(sampler);
    return {
      mode,
      seconds: load.seconds,
      fleet: samples,
      decisions: scaler.decisions.map((d) => ({ ...d, t: tOf(d.atMs) })),
      startTimesMs: [...fleet.startTimesMs],
      ...(outage === undefined ? {} : { outage }),
    };
  } finally {
    await stack.close();
  }
}
