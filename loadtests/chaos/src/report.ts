import type { FailoverResult } from './failover';
import type { Inventory } from './inventory';
import type { LossResult } from './loss';
import type { RecorderFaultsResult } from './recorderFaults';
import type { RestoreRaceResult } from './restoreRace';

const ms = (value: number | null) => (value === null ? 'never' : `${(value / 1000).toFixed(1)} s`);
const overSpend = (i: Inventory) =>
  i.overSpendFen === null ? 'unknown' : Math.max(0, i.overSpendFen);
const reconciled = (problems: readonly string[]) =>
  problems.length === 0 ? 'clean' : `${problems.length} problems`;

type Cell = string | number;
const row = (cells: readonly Cell[]) => `| ${cells.join(' | ')} |`;

/** A report section: its heading, what each column means, and a markdown table of the rows. */
function section(
  heading: string,
  legend: readonly string[],
  columns: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  return [
    `### ${heading}`,
    '',
    ...legend,
    '',
    row(columns),
    row(columns.map((column) => '-'.repeat(column.length))),
    ...rows.map(row),
  ].join('\n');
}

/** One markdown table row per failover run, with what each column means above it. */
export function formatFailovers(results: readonly FailoverResult[]): string {
  return section(
    'A Redis Cluster master SIGKILLed under load',
    [
      "claims: sent / 2xx; coupons: the ledger's issued count (includes claims whose 2xx never went out:",
      'a WAIT that fell short answers 503 and the retry replays the coupon); lost: 2xx coupons Redis',
      "no longer has; recovery: kill to the first 2xx on a failed shard; others: the other shards'",
      'claims served during the outage; p50/p99: 2xx claims before the kill; lag: how far the load',
      'generator fell behind its schedule (past ~100 ms it measured itself); fence: the ledger fenced',
      'and a recorder running; unverified: failed-shard 503s for want of its verification, and from',
      'the first of them to the next 2xx.',
    ],
    [
      'WAIT',
      'fence',
      'unverified',
      'claims sent / 2xx',
      'coupons in Redis',
      'over-spend fen',
      'codes twice',
      'lost',
      'failed-shard 503s',
      'recovery',
      'others served',
      'p50 / p99 ms',
      'lag ms',
      'reconcile',
    ],
    results.map(({ inventory: i, ...r }) => [
      r.options.waitReplicas,
      r.options.fenced === true ? 'on' : 'off',
      r.options.fenced === true ? `${r.unverifiedRefusals}, ${ms(r.unverifiedWindowMs)}` : '-',
      `${i.claimsSent} / ${i.acknowledged}`,
      i.issuedInRedis ?? 'unknown',
      overSpend(i),
      i.codesTwice,
      i.acknowledgedButLost,
      r.failedShardRefusals,
      ms(r.recoveryMs),
      `${r.othersDuringOutage.acknowledged} / ${r.othersDuringOutage.sent}`,
      `${r.latency.p50.toFixed(1)} / ${r.latency.p99.toFixed(1)}`,
      r.maxSendLagMs.toFixed(0),
      reconciled(i.problems),
    ]),
  );
}

/** Redis lost (empty, or an older snapshot) and restored from the record. */
export function formatLosses(results: readonly LossResult[]): string {
  return section(
    'Redis lost, every pod restarted, restored with `ledger:init --from-record`',
    [
      'before: claims sent / 2xx before the loss; issued: the ledger before the loss, in PostgreSQL, after',
      'the restore; refused: of 8 claims right after the loss (and what they said); replays: earlier',
      "claims sent again that got the same coupon; resumed: new claims' 2xx; recovery: the loss to the",
      'first new 2xx (the restore run at once by the script; an operator takes longer).',
    ],
    [
      'loss',
      'before sent / 2xx',
      'issued before / recorded / after',
      'refused after loss',
      'restore',
      'replays same',
      'resumed',
      'recovery',
      'lost',
      'over-spend fen',
      'codes twice',
      'reconcile (Redis, record)',
    ],
    results.map(({ inventory: i, ...r }) => [
      r.options.kind,
      `${r.before.sent} / ${r.before.acknowledged}`,
      `${r.issuedBefore} / ${r.recordedCoupons} / ${r.issuedAfterRestore ?? 'unknown'}`,
      `${r.afterLoss.refused} of ${r.afterLoss.sent} (${r.afterLoss.refusedWith.join(', ')})`,
      `exit ${r.restore.code}, ${ms(r.restore.ms)}`,
      `${r.replays.sameCoupon} / ${r.replays.asked}`,
      `${r.resumed.acknowledged} / ${r.resumed.sent}`,
      ms(r.recoveryMs),
      i.acknowledgedButLost,
      overSpend(i),
      i.codesTwice,
      `${reconciled(i.problems)}, ${reconciled(r.recordProblems)}`,
    ]),
  );
}

/** The recorder killed, PostgreSQL down: every event recorded once. */
export function formatRecorderFaults(results: readonly RecorderFaultsResult[]): string {
  return section(
    'The recorder SIGKILLed and restarted, then PostgreSQL unreachable',
    [
      "events: every shard's event count in Redis / events recorded / recorded twice; during outage:",
      'claims sent / 2xx while PostgreSQL was down; lag: the most events pending and the oldest',
      "unrecorded event's age the recorder reported meanwhile; catch-up: PostgreSQL back to all recorded.",
    ],
    [
      'claims sent / 2xx',
      'events in Redis / recorded / twice',
      'during outage',
      'lag (events, age)',
      'catch-up',
      'over-spend fen',
      'reconcile (Redis, record)',
    ],
    results.map(({ inventory: i, ...r }) => [
      `${i.claimsSent} / ${i.acknowledged}`,
      `${r.eventsInRedis} / ${r.eventsRecorded} / ${r.eventsTwice}`,
      `${r.duringOutage.acknowledged} / ${r.duringOutage.sent}`,
      `${r.maxPendingEvents}, ${r.maxOldestAgeSeconds.toFixed(1)} s`,
      ms(r.catchUpMs),
      overSpend(i),
      `${reconciled(i.problems)}, ${reconciled(r.recordProblems)}`,
    ]),
  );
}

/** The restore race: one row per trial. */
export function formatRestoreRace(result: RestoreRaceResult): string {
  return section(
    `The restore race (${result.options.fenced ? 'fenced' : 'not fenced'}, seed ${result.options.seed})`,
    [
      'Redis killed and back from a snapshot; the record holds the claims made after it ("lost");',
      'a new pod claims at once until the release is spent. held: distinct codes users were given;',
      "first 2xx: from Redis accepting connections to the new pod's first coupon.",
    ],
    [
      'released',
      'before snapshot',
      'lost',
      'down',
      'recorder restarted',
      'held',
      'ended',
      'first 2xx',
      'refusals',
      'reconcile',
    ],
    result.trials.map((t) => [
      t.released,
      t.beforeSnapshot,
      t.afterSnapshot,
      `${t.downMs} ms`,
      t.recorderRestartedWhileDown ? 'yes' : 'no',
      t.held,
      t.ended,
      t.firstServedMs === null ? '-' : `${t.firstServedMs.toFixed(0)} ms`,
      Object.entries(t.refusals)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      t.ended === 'serving' ? reconciled(t.recordProblems) : 'refusing',
    ]),
  );
}
