import type { Cluster, Redis } from 'ioredis';
import type { CampaignCalendar, Clock } from '@coupons/campaign';
import { shardKeys } from './keys';
import { ShardMarks, viewOf, type ShardView } from './marks';
import type { RedisSettingsGuard } from './redisSettings';
import type { GUARD_ARGV, NamedArgs } from './scriptArgs';
import { codeOf, LedgerCode, LedgerFault, type ScriptReply } from './results';
import type { LedgerScripts } from './scripts';

/** Clock the ledger can correct when a script reports Redis time (see RedisTimeClock). */
export interface LedgerClock extends Clock {
  observe?(redisMs: number): void;
}

/**
 * What every part of one campaign's ledger shares: the client and its scripts, the calendar, the
 * clock, and this pod's marks of each shard (marks.ts).
 */
export interface LedgerContext {
  readonly redis: Redis | Cluster;
  readonly scripts: LedgerScripts;
  readonly calendar: CampaignCalendar;
  readonly clock: LedgerClock;
  readonly fingerprint: string;
  readonly marks: ShardMarks;
  /** Tests only: the scripts take the caller's time as the time. */
  readonly trustCallerClock: boolean;
  readonly settings: RedisSettingsGuard | undefined;
}

/** The named fields of every shard's ledger hash, in shard order (one HMGET each, at once). */
export function readLedgers(
  ctx: LedgerContext,
  fields: readonly string[],
): Promise<(string | null)[][]> {
  const { campaign } = ctx.calendar;
  return Promise.all(
    Array.from({ length: campaign.shards }, (_, shard) =>
      ctx.redis.hmget(shardKeys(campaign.id, shard).ledger, ...fields),
    ),
  );
}

/** The guard's arguments (lua/includes/guard.lua) for a call on `shard` at the caller's `atMs`. */
export function guardArgs(
  ctx: LedgerContext,
  shard: number,
  atMs: number,
): NamedArgs<typeof GUARD_ARGV> {
  return {
    trustCallerTime: ctx.trustCallerClock,
    callerNowMs: atMs,
    fingerprint: ctx.fingerprint,
    ...ctx.marks.guard(shard),
  };
}

/**
 * The reply's status, after noting the shard's view in the marks and turning the guard's refusals
 * into faults: a script that refused for the guard never moved money.
 */
export function statusOf(ctx: LedgerContext, shard: number, reply: ScriptReply): LedgerCode {
  const status = codeOf(reply);
  const view: ShardView | undefined = viewOf(reply);
  if (view !== undefined) ctx.marks.observe(shard, view);
  const campaign = ctx.calendar.campaign.id;
  switch (status) {
    case LedgerCode.LedgerMissing:
      throw new LedgerFault(
        'ledger_missing',
        `campaign ${campaign} shard ${shard}: ledger missing (Redis restarted empty or flushed); claims and redemptions on it are refused until an operator restores Redis or runs npm run ledger:init -- --campaign ${campaign} --after-loss`,
      );
    case LedgerCode.ConfigMismatch:
      throw new LedgerFault(
        'config_mismatch',
        `campaign ${campaign} shard ${shard}: ledger was initialised for other money settings than this pod's campaigns file`,
      );
    case LedgerCode.RolledBack:
      throw new LedgerFault(
        'rolled_back',
        `campaign ${campaign} shard ${shard}: ledger rolled back (it holds less than a pod saw: Redis restarted from an older snapshot or failed over to a replica that was behind); claims and redemptions on it are refused. Restore the newer data if it exists; otherwise run npm run ledger:init -- --campaign ${campaign} --after-loss, which counts what the shard could still issue as issued`,
      );
    case LedgerCode.Unverified:
      throw new LedgerFault(
        'unverified',
        `campaign ${campaign} shard ${shard}: this Redis process (restarted, restored or failed over) has not been verified against the book of record yet; the recorder does so within a poll, or marks the shard rolled back`,
      );
    case LedgerCode.RedisClockBehind:
      throw new LedgerFault(
        'clock',
        `campaign ${campaign} shard ${shard}: Redis time ${view?.nowMs ?? '?'} is behind what this pod saw of it (a failover to a server whose clock is behind?)`,
      );
    default:
      return status;
  }
}
