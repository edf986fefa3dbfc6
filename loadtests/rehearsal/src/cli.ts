import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { renderSvg } from '@coupons/bench/dist/src/chart';
import { compression, crowdPlan, crowdTimes } from './crowd';
import { builtProdScaledObject, prescaleOf } from './manifest';
import { chartSpec, figuresOf, formatFigures, type RunFigures } from './report';
import { runOnce, type RunMode, type RunResult } from './run';

const ROOT = join(__dirname, '..', '..', '..', '..');

const USAGE = `npm run rehearse [-- options]
  --short              a quick look: a 30 s hour, a 90 s hold, a 20 s outage (about 3 minutes a run)
  --runs LIST          comma-separated: fixed,demand,prescale (default all three)
  --out DIR            where the report, the chart and the data go (default loadtests/results/rehearsal-<time>)
  --pods-per-process N one process stands for N pods of the manifest (default 10: 40 pods -> 4 processes)
  --share CORES        each process's CPU cap (default 0.25, the smallest a 4 ms period allows)
  --process-plan N     claims/s a process is planned to serve (default 80, about half of what a
                       quarter-core process serves here)
  --fixed-replicas N   the fixed fleet's size in manifest pods (default minReplicaCount: the
                       fleet the ordinary hour needs, with no autoscaler)`;

/** The ServiceMonitor's scrape interval, from the built overlay. */
function scrapeSeconds(): number {
  const built = execFileSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays/prod')], {
    encoding: 'utf8',
  });
  for (const doc of built.split(/^---$/m)) {
    const o = parse(doc) as {
      kind?: string;
      metadata?: { name?: string };
      spec?: { endpoints?: { interval?: string }[] };
    };
    if (o?.kind === 'ServiceMonitor' && o.metadata?.name === 'coupon-service') {
      const interval = o.spec?.endpoints?.[0]?.interval ?? '30s';
      return Number(/^(\d+)s$/.exec(interval)?.[1] ?? 30);
    }
  }
  throw new Error('no ServiceMonitor coupon-service in the prod overlay');
}

// Long: flag parsing and the runs in order, a linear command-line script.
async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      short: { type: 'boolean', default: false },
      runs: { type: 'string', default: 'fixed,demand,prescale' },
      out: { type: 'string' },
      'pods-per-process': { type: 'string', default: '10' },
      share: { type: 'string', default: '0.25' },
      'process-plan': { type: 'string', default: '80' },
      'fixed-replicas': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const runs = values.runs.split(',').map((r) => r.trim()) as RunMode[];
  for (const r of runs)
    if (!['fixed', 'demand', 'prescale'].includes(r))
      throw new Error(`--runs: unknown run ${r}\n${USAGE}`);
  const podsPerProcess = Number(values['pods-per-process']);
  const share = Number(values.share);
  const processPlan = Number(values['process-plan']);
  for (const [name, v] of [
    ['pods-per-process', podsPerProcess],
    ['share', share],
    ['process-plan', processPlan],
  ] as const)
    if (!(v > 0)) throw new Error(`--${name}: a positive number\n${USAGE}`);

  const spec = builtProdScaledObject(ROOT);
  const fixedReplicas = Number(values['fixed-replicas'] ?? spec.minReplicas);
  if (!(fixedReplicas > 0)) throw new Error(`--fixed-replicas: a positive number\n${USAGE}`);
  const prescale = prescaleOf(ROOT);
  // The ordinary hour needs the minimum fleet at its target: min pods x plan per pod x 0.7.
  const perPod = processPlan / podsPerProcess;
  const demand = spec.triggers.find((t) => t.type === 'prometheus' && t.name === 'demand');
  const target = demand?.type === 'prometheus' ? demand.threshold : 0.7;
  const ordinaryRate = Math.max(1, Math.floor(spec.minReplicas * perPod * target));
  const plan = crowdPlan(values.short, ordinaryRate);
  const out =
    values.out ??
    join(ROOT, 'loadtests/results', `rehearsal-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(out, { recursive: true });
  const at = crowdTimes(plan);
  const header = [
    `# Fleet rehearsal (${values.short ? 'short' : 'full'})`,
    '',
    `ScaledObject from \`kubectl kustomize k8s/overlays/prod\`: poll ${spec.pollingIntervalSeconds} s, ${spec.minReplicas}-${spec.maxReplicas} replicas, fallback ${spec.fallback.replicas} after ${spec.fallback.failureThreshold} failed polls (${spec.fallback.behavior}), triggers ${spec.triggers
      .filter((t) => t.type === 'prometheus')
      .map((t) => t.name)
      .join(
        ', ',
      )}; pre-scaling ${prescale.replicas} replicas from ${prescale.leadMinutes} min before the release to ${prescale.holdMinutes} min after it.`,
    `Fleet: one process per ${podsPerProcess} pods of the manifest, each capped at ${share} core (cgroup, 4 ms period), planned for ${processPlan} claims/s (CLAIM_CAPACITY_PER_POD ${perPod}); behind haproxy (leastconn, /readyz), scraped every ${scrapeSeconds()} s by Prometheus.`,
    `Crowd: ${ordinaryRate} claims/s in an ordinary hour compressed ${compression(plan)}x into ${plan.ordinarySeconds} s (with its slice opening at ${plan.slice.multiple}x), the release at ${at.stepAt} s stepping to ${plan.step.multiple}x within ${plan.step.rampSeconds} s, held ${plan.step.holdSeconds} s, shed claims retried (half at once, half after Retry-After, twice at most), then ${plan.tail.multiple}x with the next slice. The scaler's intervals are real seconds.`,
    '',
  ].join('\n');
  process.stdout.write(`${header}\n`);
  const results: RunResult[] = [];
  const figures: RunFigures[] = [];
  for (const mode of runs) {
    const began = Date.now();
    process.stdout.write(`run ${mode}...\n`);
    const result = await runOnce({
      root: ROOT,
      mode,
      spec,
      prescale,
      plan,
      fixedReplicas: fixedReplicas,
      podsPerProcess,
      share,
      processPlan,
      scrapeSeconds: scrapeSeconds(),
      warmUpSeconds: values.short ? 20 : 30,
      ...(mode === 'demand' ? { outageSeconds: values.short ? 20 : 60 } : {}),
    });
    results.push(result);
    figures.push(figuresOf(result, plan));
    process.stdout.write(`run ${mode} done in ${Math.round((Date.now() - began) / 1000)} s\n`);
  }
  const table = formatFigures(figures);
  const report = `${header}\n${table}\n`;
  writeFileSync(join(out, 'report.md'), report);
  writeFileSync(join(out, 'data.json'), JSON.stringify({ plan, figures, results }, null, 1));
  writeFileSync(join(out, 'chart.svg'), await renderSvg(chartSpec(results, plan, podsPerProcess)));
  process.stdout.write(`${table}\n\nwrote ${out}/report.md, chart.svg, data.json\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `rehearse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
