import { parseArgs } from 'node:util';
import { startRedisServer } from '@coupons/redis-local';
import { formatReport, runHttpFuzz } from './httpFuzz';
import { startFuzzService } from './world';

/**
 * `npm run fuzz [-- --runs N --seed S]`: the HTTP fuzzer's property (httpFuzz.ts), run long
 * outside jest: a private redis-server (from PATH), the real service in this process, N
 * generated requests (20,000 by default). Prints the figures: requests sent, answers by status
 * (and by status, code and route), the shrunk counterexample if any, the duration. Exits 1 on a
 * counterexample, 2 on a usage error.
 */
async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { runs: { type: 'string', default: '20000' }, seed: { type: 'string' } },
    }));
  } catch (err) {
    process.stderr.write(
      `${(err as Error).message}\nusage: npm run fuzz -- [--runs N] [--seed S]\n`,
    );
    return 2;
  }
  const runs = Number(values.runs);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1 || (seed !== undefined && !Number.isInteger(seed))) {
    process.stderr.write('usage: npm run fuzz -- [--runs N] [--seed S] (whole numbers)\n');
    return 2;
  }
  const redis = await startRedisServer();
  try {
    const fuzz = await startFuzzService(redis.url);
    try {
      process.stdout.write(`http fuzz: ${runs} runs against the service on ${redis.url}\n`);
      const report = await runHttpFuzz(fuzz.world, fuzz.redis, {
        numRuns: runs,
        idle: fuzz.idle,
        ...(seed === undefined ? {} : { seed }),
      });
      process.stdout.write(`${formatReport(report, { outcomes: 40 })}\n`);
      return report.failure === undefined ? 0 : 1;
    } finally {
      await fuzz.stop();
    }
  } finally {
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
