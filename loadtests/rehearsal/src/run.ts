import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { API_SCOPES } from '@coupons/contract';
import { startLocalPrometheus, type LocalPrometheus } from '@coupons/monitoring';
import { startRedisServer } from '@coupons/redis-local';
import { liveCampaign } from '@coupons/testing';
import { crowdTimes, rateAt, type CrowdPlan } from './crowd';
import { FleetOfPods } from './fleet';
import { startHaproxy } from './haproxy';
import type { Prescale, ScaledObjectSpec } from './manifest';
import { CrowdLoad, type SecondTally } from './load';
import { allocateSlots } from './pods';
import { Scaler, type ScalerDecision } from './scaler';

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

export async function runOnce(settings: RunSettings): Promise<RunResult> {
  const { spec, plan, mode } = settings;
  const tag = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), `rehearsal-${mode}-`));
  const cleanups: (() => Promise<void> | void)[] = [
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  try {
    // Redis as production wants it: AOF fsynced every second, no eviction.
    const redis = await startRedisServer({
      args: [
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
      ],
    });
    cleanups.push(() => redis.stop());
    const campaign = liveCampaign(`rehearsal-${tag}`, {
      coupons: 5_000_000,
      perUser: { daily: 5, total: 5 },
      shards: 4,
    });
    const apiKey = randomBytes(16).toString('hex');
    writeFileSync(join(dir, 'campaigns.json'), JSON.stringify({ campaigns: [campaign] }));
    writeFileSync(
      join(dir, 'keys.json'),
      JSON.stringify([
        {
          id: 'rehearsal',
          sha256: createHash('sha256').update(apiKey).digest('hex'),
          scopes: API_SCOPES,
        },
      ]),
    );
    const env = {
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      CAMPAIGNS_FILE: join(dir, 'campaigns.json'),
      COUPON_API_KEYS_FILE: join(dir, 'keys.json'),
      // The demand query divides by this: claims per second per pod of the manifest.
      CLAIM_CAPACITY_PER_POD: String(settings.processPlan / settings.podsPerProcess),
      LOG_LEVEL: 'warn',
    };
    const init = spawnSync(
      process.execPath,
      [
        join(settings.root, 'services/coupon-service/dist/src/cli/ledger-init.js'),
        '--campaign',
        campaign.id,
        '--never-issued',
      ],
      {
        cwd: settings.root,
        env: { PATH: process.env['PATH'] ?? '', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (init.status !== 0) throw new Error(`ledger-init: ${init.stdout}${init.stderr}`);

    const slots = await allocateSlots(Math.ceil(spec.maxReplicas / settings.podsPerProcess));
    const fleet = new FleetOfPods(
      settings.root,
      slots,
      settings.share,
      env,
      settings.podsPerProcess,
      tag,
    );
    cleanups.push(() => fleet.stop());
    const haproxy = await startHaproxy(slots);
    cleanups.push(() => haproxy.stop());
    const jobs = [
      {
        job: 'coupon-service',
        targets: slots.map((s) => ({
          address: `127.0.0.1:${s.metricsPort}`,
          labels: { namespace: 'coupons', pod: `coupon-service-${s.index}` },
        })),
      },
    ];
    const startPrometheus = () =>
      startLocalPrometheus({ jobs, intervalSeconds: settings.scrapeSeconds });
    let prometheus: LocalPrometheus | undefined = await startPrometheus();
    cleanups.push(() => prometheus?.stop());

    const initial = mode === 'fixed' ? settings.fixedReplicas : spec.minReplicas;
    let replicas = initial;
    fleet.scaleTo(fleet.processesFor(initial));
    await fleet.waitReady();

    const times = crowdTimes(plan);
    const compression = plan.hourSeconds / plan.ordinarySeconds;
    // The calendar's window opens `lead` before the release and closes `hold` after it; the
    // ordinary hour is compressed, so are the lead and the hold.
    const leadS = (settings.prescale.leadMinutes * 60) / compression;
    const holdS = (settings.prescale.holdMinutes * 60) / compression;

    // Warm-up: the ordinary rate, so Prometheus has samples for rate() when the scaler starts.
    const warm = new CrowdLoad({
      baseUrl: haproxy.url,
      campaign: campaign.id,
      apiKey,
      runId: `${tag}w`,
      rateAt: () => plan.ordinaryRate,
      durationSeconds: settings.warmUpSeconds,
    });
    await warm.run();

    const startedAt = Date.now();
    const tOf = (ms: number) => (ms - startedAt) / 1000;
    const scaler = new Scaler({
      spec,
      prometheusUrl: () => prometheus?.url ?? 'http://127.0.0.1:9',
      ...(mode === 'prescale'
        ? {
            cronActive: (nowMs: number) => {
              const t = tOf(nowMs);
              return t >= times.stepAt - leadS && t < times.stepAt + holdS;
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
    const outageAt = times.stepFullAt + 45;
    const outageTask =
      settings.outageSeconds === undefined
        ? Promise.resolve()
        : (async () => {
            await sleep(outageAt * 1000);
            await prometheus?.stop();
            prometheus = undefined;
            const from = tOf(Date.now());
            await sleep(settings.outageSeconds! * 1000);
            prometheus = await startPrometheus();
            outage = { from, to: tOf(Date.now()) };
          })();
    const load = new CrowdLoad({
      baseUrl: haproxy.url,
      campaign: campaign.id,
      apiKey,
      runId: tag,
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
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}
