import { parseArgs } from 'node:util';
import { runFailover, type FailoverResult } from './failover';
import { runLoss, type LossResult } from './loss';
import { runRecorderFaults, type RecorderFaultsResult } from './recorderFaults';
import { formatFailovers, formatLosses, formatRecorderFaults, formatRestoreRace } from './report';
import { runRestoreRace } from './restoreRace';

/**
 * `npm run chaos [-- --rounds N --rate R --seconds S] [--only failover|race --trials N --seed S]`:
 * the longer chaos runs, reported as markdown on stdout. Failover runs alternate with and without WAIT (A, B, A, B) so the two are
 * compared under the same machine load.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      rate: { type: 'string', default: '60' },
      seconds: { type: 'string', default: '30' },
      only: { type: 'string' },
      trials: { type: 'string', default: '12' },
      seed: { type: 'string' },
    },
  });
  const only = values.only;
  const rounds = Number(values.rounds);
  const claimsPerSecond = Number(values.rate);
  const afterMs = Number(values.seconds) * 1000;
  const reports: string[] = [];
  const failovers: FailoverResult[] = [];
  for (let round = 0; round < rounds && (only === undefined || only === 'failover'); round += 1) {
    for (const [waitReplicas, fenced] of [
      [1, false],
      [0, false],
      [1, true],
    ] as const) {
      process.stderr.write(
        `chaos: failover round ${round + 1}, REDIS_WAIT_REPLICAS=${waitReplicas}${fenced ? ', fenced' : ''}\n`,
      );
      failovers.push(
        await runFailover({ waitReplicas, claimsPerSecond, beforeMs: 5_000, afterMs, fenced }),
      );
    }
  }
  if (failovers.length > 0) reports.push(formatFailovers(failovers));
  if (only === undefined || only === 'race') {
    for (const fenced of [true, false]) {
      process.stderr.write(`chaos: the restore race, ${fenced ? 'fenced' : 'not fenced'}\n`);
      const seed = Number(values.seed ?? Date.now() % 1_000_000);
      reports.push(
        formatRestoreRace(await runRestoreRace({ trials: Number(values.trials), seed, fenced })),
      );
    }
  }
  if (only !== undefined) {
    process.stdout.write(reports.join('\n\n') + '\n');
    return;
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
    [...reports, formatRecorderFaults(faults), formatLosses(losses)].join('\n\n') + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
