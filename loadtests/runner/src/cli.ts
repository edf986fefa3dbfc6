import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  formatScenarioResult,
  runScenario,
  SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
} from './scenarioRun';

const USAGE = `usage: node loadtests/runner/dist/src/cli.js --url http://127.0.0.1:8080 \\
    --scenario ${SCENARIOS.join('|')} --api-key KEY --campaign ID
    [--capacity CLAIMS_PER_S]   required for flash-crowd, retry-storm and soak
    [--rate CLAIMS_PER_S]       tranche-exhaustion's constant rate (default 200)
    [--duration-scale F]        e.g. 0.1 runs every stage ten times shorter (default 1)
    [--timeout-ms MS]           no answer within it = lost (default 2000)
    [--connections N]           connection pool (default 1000)
    [--max-retries N]           retry-storm retries per claim (default 5)
    [--run-id ID]               prefix of userIds and Idempotency-Keys (default: random)
    [--out report.json]

Open-model claims (POST /v1/campaigns/{campaign}/coupons) on the k6 scenarios' shapes; prints the
report and exits 0, or 2 when the load generator was saturated (the figures are then its own).`;

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

class UsageError extends Error {}

function numberOption(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new UsageError(`--${name} must be a number > 0: ${value}`);
  }
  return parsed;
}

function parseOptions(argv: string[]): { options: ScenarioOptions; out?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      scenario: { type: 'string' },
      capacity: { type: 'string' },
      rate: { type: 'string' },
      'api-key': { type: 'string' },
      campaign: { type: 'string' },
      'duration-scale': { type: 'string' },
      'timeout-ms': { type: 'string' },
      connections: { type: 'string' },
      'max-retries': { type: 'string' },
      'run-id': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) throw new UsageError('');
  const scenario = values.scenario as ScenarioName | undefined;
  if (scenario === undefined || !SCENARIOS.includes(scenario)) {
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  }
  if (values.url === undefined) throw new UsageError('--url is required');
  if (values['api-key'] === undefined) throw new UsageError('--api-key is required');
  if (values.campaign === undefined) throw new UsageError('--campaign is required');
  const maxRetries = values['max-retries'] === undefined ? 5 : Number(values['max-retries']);
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 255) {
    throw new UsageError(`--max-retries must be an integer in 0..255: ${values['max-retries']}`);
  }
  const runId = values['run-id'] ?? Date.now().toString(36);
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(runId)) {
    throw new UsageError('--run-id may contain only letters, digits, ".", "_" and "-" (1-40)');
  }
  return {
    options: {
      url: values.url,
      scenario,
      capacity:
        values.capacity === undefined ? undefined : numberOption(values.capacity, 'capacity'),
      rate: values.rate === undefined ? undefined : numberOption(values.rate, 'rate'),
      apiKey: values['api-key'],
      campaign: values.campaign,
      runId,
      durationScale: numberOption(values['duration-scale'], 'duration-scale', 1),
      timeoutMs: numberOption(values['timeout-ms'], 'timeout-ms', 2000),
      connections: Math.round(numberOption(values.connections, 'connections', 1000)),
      maxRetries,
    },
    ...(values.out === undefined ? {} : { out: values.out }),
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    if (error.message !== '') process.stderr.write(`${error.message}\n\n`);
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const { options } = parsed;
  out(
    `${options.scenario} against ${options.url}, campaign ${options.campaign}, run ${options.runId}` +
      (options.durationScale === 1 ? '' : `, durations x${options.durationScale}`),
  );
  const result = await runScenario(options);
  out(formatScenarioResult(result));
  if (parsed.out !== undefined) {
    const recorded = { ...options, apiKey: '(not recorded)' };
    await writeFile(parsed.out, `${JSON.stringify({ options: recorded, ...result }, null, 2)}\n`);
    out(`wrote ${parsed.out}`);
  }
  return result.report.generatorSaturated ? 2 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
