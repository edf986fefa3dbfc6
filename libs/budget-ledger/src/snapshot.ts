import { readLedgers, type LedgerContext } from './context';
import { shardReleaseOf, shareOf } from './shares';

export type ShardState = 'ok' | 'missing' | 'rolled_back';

export interface ShardBudget {
  shard: number;
  state: ShardState;
  releasedCoupons: number;
  /** null when the shard's state is lost or rolled back: nobody knows what it gave away. */
  issuedCoupons: number | null;
  issuedTodayCoupons: number | null;
}

export interface BudgetSnapshot {
  campaignId: string;
  asOf: number;
  poolCoupons: number;
  releasedCoupons: number;
  /** null when any shard's figures are unknown (see unknownShards). */
  issuedCoupons: number | null;
  today:
    | {
        day: string;
        trancheCoupons: number;
        releasedCoupons: number;
        issuedCoupons: number | null;
      }
    | undefined;
  nextReleaseAt: number | undefined;
  shards: ShardBudget[];
  /** Shards whose figures are unknown, and why: never reported as zero. */
  unknownShards: { shard: number; reason: Exclude<ShardState, 'ok'> }[];
}

const sumOrNull = (values: readonly (number | null)[]): number | null =>
  values.some((v) => v === null) ? null : values.reduce<number>((sum, v) => sum + (v ?? 0), 0);

/**
 * Released, issued and remaining per shard and in total, at the ledger clock's time. A shard
 * whose ledger is missing, marked rolled back, or behind what this pod saw of it is unknown.
 */
export async function budgetSnapshot(ctx: LedgerContext): Promise<BudgetSnapshot> {
  const { campaign } = ctx.calendar;
  const now = ctx.clock.now();
  const today = ctx.calendar.dayAt(now);
  const cap = ctx.calendar.spendableCapAt(now);
  const released = ctx.calendar.releasedCouponsAt(now);
  const dayKey = today?.day ?? '-';
  const behind = ctx.marks.asOfNow();
  const rows = await readLedgers(ctx, [
    'fingerprint',
    'rolledBack',
    'gen',
    'events',
    'issued',
    `day:${dayKey}`,
    'adj',
    `adj:${dayKey}`,
  ]);
  const shards = rows.map(
    ([fingerprint, rolledBack, gen, events, issued, issuedToday, adj, adjToday], shard) => {
      const state: ShardState =
        fingerprint === null
          ? 'missing'
          : rolledBack !== null || behind(shard, Number(gen), Number(events))
            ? 'rolled_back'
            : 'ok';
      const known = state === 'ok';
      const releasedShare =
        cap.scope === 'day'
          ? shardReleaseOf(cap, campaign.shards, shard) + Number(adjToday ?? 0)
          : shareOf(released, campaign.shards, shard) + Number(adj ?? 0);
      return {
        shard,
        state,
        releasedCoupons: releasedShare,
        issuedCoupons: known ? Number(issued ?? 0) : null,
        issuedTodayCoupons: known ? Number(issuedToday ?? 0) : null,
      };
    },
  );
  return {
    campaignId: campaign.id,
    asOf: now,
    poolCoupons: ctx.calendar.poolCoupons,
    releasedCoupons: released,
    issuedCoupons: sumOrNull(shards.map((s) => s.issuedCoupons)),
    today:
      today === undefined
        ? undefined
        : {
            day: today.day,
            trancheCoupons: today.trancheCoupons,
            releasedCoupons: ctx.calendar.releasedOnDayAt(today.day, now),
            issuedCoupons: sumOrNull(shards.map((s) => s.issuedTodayCoupons)),
          },
    nextReleaseAt: ctx.calendar.nextReleaseAt(now),
    shards,
    unknownShards: shards.flatMap((s) =>
      s.state === 'ok' ? [] : [{ shard: s.shard, reason: s.state }],
    ),
  };
}
