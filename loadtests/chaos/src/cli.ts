import { parseArgs } from 'node:util';
import { runFailover, type FailoverResult } from './failover';
import { runLoss, type LossResult } from './loss';
import { runRecorderFaults, type RecorderFaultsResult } from './recorderFaults';
import { formatFailovers, formatLosses, formatRecorderFaults } from './report';

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
  const faults: RecorderFaultsResult[] = [];
  const losses: LossResult[] = [];
  for (let round = 0; round < rounds; round += 1) {
    process.stderr.write(`chaos: recorder faults round ${round + 1}\n`);
    faults.push(
      await runRecorderFaults({ claimsPerSecond, loadMs: afterMs, databaseDownMs: afterMs / 4 }),
    );
    for (const kind of ['empty', 'older-snapshot'] as const) {
      process.stderr.write(`chaos: Redis lost (${kind}) round ${round + 1}\n`);
      losses.push(await runLoss({ kind, claimsPerSecond, loadMs: afterMs }));
    }
  }
  process.stdout.write(
    [formatFailovers(failovers), formatRecorderFaults(faults), formatLosses(losses)].join('\n\n') +
      '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
