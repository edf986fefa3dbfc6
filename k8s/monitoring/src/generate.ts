import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packageDir, renderAll } from './render';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from './rules';

const USAGE = `npm run monitoring:generate [-- options]
  --service-job NAME       the service's scrape job (default ${DEFAULT_RULE_OPTIONS.serviceJob}, the base Service's name)
  --recorder-job NAME      the recorder's scrape job (default ${DEFAULT_RULE_OPTIONS.recorderJob})
  --autoscaler NAME        the HorizontalPodAutoscaler the capacity alerts and panels read
                           (default ${DEFAULT_RULE_OPTIONS.autoscaler}, KEDA's for the base ScaledObject;
                           the plain HPA alternative's is coupon-service)
  --scaled-object NAME     the ScaledObject KEDA's metrics name (default ${DEFAULT_RULE_OPTIONS.scaledObject})
  --runbook-base-url URL   where docs/runbooks.md is served (default the repository's main branch)
  --redis-job REGEX        the redis_exporter scrape job(s) (default ${DEFAULT_RULE_OPTIONS.redisJob})
  --redis-replicas N       replicas per Redis master (default ${DEFAULT_RULE_OPTIONS.redisReplicasPerMaster})
  --out DIR                write there instead of k8s/monitoring (the committed files are the defaults')`;

/** The options the command line gives, over the defaults read from the manifests. */
export function parseGenerateArgs(argv: string[]): {
  options: RuleOptions;
  out: string | undefined;
} {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'service-job': { type: 'string' },
      'recorder-job': { type: 'string' },
      autoscaler: { type: 'string' },
      'scaled-object': { type: 'string' },
      'runbook-base-url': { type: 'string' },
      'redis-job': { type: 'string' },
      'redis-replicas': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const replicas = values['redis-replicas'];
  if (replicas !== undefined && !/^[1-9]\d*$/.test(replicas))
    throw new Error(`--redis-replicas: a positive integer, not ${JSON.stringify(replicas)}`);
  const url = values['runbook-base-url'];
  if (url !== undefined && !/^https?:\/\/\S+$/.test(url))
    throw new Error(`--runbook-base-url: an http(s) URL, not ${JSON.stringify(url)}`);
  return {
    options: {
      serviceJob: values['service-job'] ?? DEFAULT_RULE_OPTIONS.serviceJob,
      recorderJob: values['recorder-job'] ?? DEFAULT_RULE_OPTIONS.recorderJob,
      autoscaler: values.autoscaler ?? DEFAULT_RULE_OPTIONS.autoscaler,
      scaledObject: values['scaled-object'] ?? DEFAULT_RULE_OPTIONS.scaledObject,
      runbookBaseUrl: url ?? DEFAULT_RULE_OPTIONS.runbookBaseUrl,
      redisJob: values['redis-job'] ?? DEFAULT_RULE_OPTIONS.redisJob,
      redisReplicasPerMaster:
        replicas === undefined ? DEFAULT_RULE_OPTIONS.redisReplicasPerMaster : Number(replicas),
    },
    out: values.out,
  };
}

/** npm run monitoring:generate: writes the rules, the PrometheusRule, the dashboards and the kustomization. */
async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseGenerateArgs>;
  try {
    parsed = parseGenerateArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const dir = parsed.out === undefined ? packageDir() : resolve(parsed.out);
  for (const [file, text] of Object.entries(await renderAll(parsed.options))) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${relative(process.cwd(), path)}\n`);
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    process.stderr.write(
      `monitoring:generate failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  });
