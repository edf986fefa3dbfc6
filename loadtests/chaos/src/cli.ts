import { parseArgs } from 'node:util';
import { runFailover, type FailoverResult } from './failover';
import { formatFailovers } from './report';

/**
 * `npm run chaos [-- --rounds N --rate R --seconds S]`: the longer chaos runs, reported as
 * markdown on stdout. Failover runs alternate with and without WAIT (A, B, A, B) so the two are
 * compared under the same machine load.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      rate: { type: 'string', default: '60' },
      seconds: { type: 'string', default: '30' },
    },
  });
  const rounds = Number(values.rounds);
  const claimsPerSecond = Number(values.rate);
  const afterMs = Number(values.seconds) * 1000;
  const failovers: FailoverResult[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const waitReplicas of [1, 0]) {
      process.stderr.write(
        `chaos: failover round ${round + 1}, REDIS_WAIT_REPLICAS=${waitReplicas}\n`,
      );
      failovers.push(
        await runFailover({ waitReplicas, claimsPerSecond, beforeMs: 5_000, afterMs }),
      );
    }
  }
  process.stdout.write(`${formatFailovers(failovers)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
