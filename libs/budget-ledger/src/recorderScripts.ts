import type { Cluster, Redis } from 'ioredis';
import { shardKeys } from './keys';
import {
  codeOf,
  LedgerCode,
  CHECK_RECORDED_ARGV,
  toArgv,
  TRIM_RECORDED_ARGV,
  registerLedgerScripts,
} from './scripts';

/**
 * The two scripts the recorder (services/coupon-recorder) runs on a shard: trimming what it has
 * recorded (lua/trimRecorded-2.lua) and the verification against what it has recorded, which
 * fences the shard to the Redis process it verified (lua/checkRecorded-2.lua). Both touch one shard's ledger and stream: one cluster slot.
 */

export type TrimOutcome =
  | { kind: 'trimmed'; trimmedTo: string; removed: number }
  | { kind: 'unchanged'; trimmedTo: string }
  | { kind: 'ledger_missing' }
  | { kind: 'rolled_back' };

/**
 * Trims the shard's audit stream to what `group` has acknowledged up to `upTo` (the last id the
 * caller recorded and acknowledged), and moves the ledger's trimmedTo there (never backwards).
 */
export async function trimRecorded(
  redis: Redis | Cluster,
  campaignId: string,
  shard: number,
  group: string,
  upTo: string,
): Promise<TrimOutcome> {
  const keys = shardKeys(campaignId, shard);
  const reply = await registerLedgerScripts(redis).trimRecorded(
    [keys.ledger, keys.audit],
    toArgv(TRIM_RECORDED_ARGV, { group, upTo }),
  );
  switch (codeOf(reply)) {
    case LedgerCode.Ok:
      return { kind: 'trimmed', trimmedTo: String(reply[1]), removed: Number(reply[2]) };
    case LedgerCode.NoChange:
      return { kind: 'unchanged', trimmedTo: String(reply[1]) };
    case LedgerCode.LedgerMissing:
      return { kind: 'ledger_missing' };
    case LedgerCode.RolledBack:
      return { kind: 'rolled_back' };
    default:
      throw new Error(`trimRecorded script returned ${String(reply[0])}`);
  }
}

/** Where the record stands on a shard: its highest sequence, the stream id there, the generation. */
export interface RecordedPosition {
  /** '' when no init or restore event is recorded. */
  gen: string;
  streamId: string;
  /** The sequence number (the ledger's events) of the event at streamId. */
  events: number;
}

export type RecordedCheck =
  /** `fencedNow`: this call wrote the process's run id into a fenced ledger. */
  | { kind: 'verified'; gen: string; lastEventId: string; runId: string; fencedNow: boolean }
  /** Quick mode only: another process than `knownRunId`, or fenced to another; verify it. */
  | { kind: 'unverified'; runId: string }
  | { kind: 'ledger_missing' }
  /** `markedNow`: this call set the mark (false: it was there already). */
  | { kind: 'rolled_back'; detail: string; markedNow: boolean };

/**
 * The recorder's verification (lua/checkRecorded-2.lua). With `recorded`: compares the shard with
 * what the record holds (null: nothing recorded); equal or ahead on the same history, a fenced
 * ledger is fenced to this process; behind or diverged, it is marked rolledBack. Without: only
 * whether the process is still `knownRunId` (no read of the record needed). A missing ledger is
 * reported, never created.
 */
export async function checkRecorded(
  redis: Redis | Cluster,
  campaignId: string,
  shard: number,
  knownRunId: string,
  recorded?: RecordedPosition | null,
  /** Quick mode: the highest sequence the caller knows recorded (a rewind below it is verified). */
  knownEvents = 0,
): Promise<RecordedCheck> {
  const keys = shardKeys(campaignId, shard);
  const reply = await registerLedgerScripts(redis).checkRecorded(
    [keys.ledger, keys.audit],
    toArgv(CHECK_RECORDED_ARGV, {
      knownRunId,
      // No init or restore recorded yet (''): any generation is at least that.
      recordedGen:
        recorded === undefined ? '' : recorded === null || recorded.gen === '' ? '0' : recorded.gen,
      recordedId: recorded?.streamId ?? '',
      recordedEvents: recorded === undefined ? knownEvents : (recorded?.events ?? 0),
    }),
  );
  switch (codeOf(reply)) {
    case LedgerCode.Ok:
      return {
        kind: 'verified',
        gen: String(reply[1]),
        lastEventId: String(reply[2]),
        runId: String(reply[3]),
        fencedNow: Number(reply[4]) === 1,
      };
    case LedgerCode.Unverified:
      return { kind: 'unverified', runId: String(reply[1]) };
    case LedgerCode.LedgerMissing:
      return { kind: 'ledger_missing' };
    case LedgerCode.RolledBack:
      return { kind: 'rolled_back', detail: String(reply[1]), markedNow: Number(reply[2]) === 1 };
    default:
      throw new Error(`checkRecorded script returned ${String(reply[0])}`);
  }
}
