import type { Logger } from '@coupons/telemetry';
import type { RecordedShardPosition } from './record';
import type { ShardRef } from './streams';

/** What the rollback check found on a shard. */
export type ShardHealth = 'consistent' | 'unrecorded' | 'ledger_missing' | 'rolled_back';

/**
 * When a rolled-back mark was set, in Redis ms: its text starts with the time (ms from the
 * scripts' marks, seconds from a rebuild's; 0 when it does not).
 */
export function markedAtMs(detail: string): number {
  const leading = /^(\d+)/.exec(detail)?.[1];
  if (leading === undefined) return 0;
  const value = Number(leading);
  return value < 1e11 ? value * 1000 : value;
}

/**
 * Logs a shard's change of health once, with what the operator does: a rolled-back or missing
 * ledger as an error (rebuild or initialise it), the way back to consistent as info.
 */
export function logHealthChange(
  logger: Logger,
  ref: ShardRef,
  before: ShardHealth | undefined,
  health: ShardHealth,
  detail: string,
  position: RecordedShardPosition | null | undefined,
): void {
  if (health === 'rolled_back') {
    logger.error(
      { campaign: ref.campaignId, shard: ref.shard, rolledBack: detail },
      `recorder: campaign ${ref.campaignId} shard ${ref.shard} is behind what PostgreSQL recorded (restored from an older snapshot, or failed over to a lagging replica); it is marked rolled back and refuses claims and redemptions until an operator rebuilds it: npm run ledger:init -- --campaign ${ref.campaignId} --from-record`,
    );
  } else if (health === 'ledger_missing') {
    logger.error(
      { campaign: ref.campaignId, shard: ref.shard, recorded: position?.streamId },
      `recorder: campaign ${ref.campaignId} shard ${ref.shard} has no ledger in Redis (lost, flushed or never initialised); the recorder does not create it. ${position === null ? 'Nothing is recorded for it: initialise it with npm run ledger:init -- --campaign ' + ref.campaignId : 'PostgreSQL holds its events: rebuild it with npm run ledger:init -- --campaign ' + ref.campaignId + ' --from-record'}`,
    );
  } else if (before === 'rolled_back' || before === 'ledger_missing') {
    logger.info(
      { campaign: ref.campaignId, shard: ref.shard, health },
      'recorder: shard consistent with the record again',
    );
  }
}
