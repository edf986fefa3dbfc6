import { randomBytes } from 'node:crypto';
import { guardArgs, readLedgers, statusOf, type LedgerContext } from './context';
import { shardKeys } from './keys';
import { LedgerCode, LedgerFault, GIVE_ARGV, SETTLE_ARGV, TAKE_ARGV, toArgv } from './scripts';
import { shardReleaseOf } from './shares';

export type RebalanceResult =
  | { kind: 'moved'; transferId: string; source: number; target: number; coupons: number }
  | { kind: 'nothing_to_move' }
  | { kind: 'source_short' }
  | { kind: 'clock' };

export interface TransferSweep {
  /** Transfers credited to their target now. */
  given: number;
  /** Transfers whose target is another ledger generation now (lost, re-created): never credited. */
  writtenOff: number;
  /** Transfers that could not be finished now (a target missing or rolled back, Redis trouble). */
  pending: number;
}

interface ShardState {
  shard: number;
  usable: boolean;
  gen: string;
  unspent: number;
  issued: number;
  poolCoupons: number;
}

async function shardStates(ctx: LedgerContext, at: number): Promise<ShardState[]> {
  const { campaign } = ctx.calendar;
  const cap = ctx.calendar.spendableCapAt(at);
  const day = cap.day ?? '-';
  const [adjField, spentField] =
    cap.scope === 'day' ? [`adj:${day}`, `day:${day}`] : ['adj', 'issued'];
  const rows = await readLedgers(ctx, [
    'fingerprint',
    'rolledBack',
    'gen',
    adjField,
    spentField,
    'issued',
    'shardPoolCoupons',
  ]);
  return rows.map(([fingerprint, rolledBack, gen, adj, spent, issued, pool], shard) => ({
    shard,
    usable: fingerprint !== null && rolledBack === null,
    gen: gen ?? '',
    unspent: shardReleaseOf(cap, campaign.shards, shard) + Number(adj ?? 0) - Number(spent ?? 0),
    issued: Number(issued ?? 0),
    poolCoupons: Number(pool ?? 0),
  }));
}

/**
 * Moves up to `maxCoupons` of unspent release from the richest shard into `target`: half the gap
 * between them at most, so budget never bounces back, and no more than the target can still issue
 * under its pool share (budget moved past that would be stranded there). Three steps, each
 * idempotent: the source is debited first (takeRelease-3.lua checks it has the budget), then the
 * target credited if it is still the ledger generation the transfer was taken for
 * (giveRelease-2.lua), then the source records the outcome (settleTransfer-3.lua). A crash between
 * them under-spends until completeTransfers() runs; nothing can over-spend or credit twice.
 */
export async function rebalanceInto(
  ctx: LedgerContext,
  target: number,
  maxCoupons: number,
): Promise<RebalanceResult> {
  const { campaign } = ctx.calendar;
  const at = ctx.clock.now();
  const shards = await shardStates(ctx, at);
  const poor = shards[target];
  const rich = shards
    .filter((s) => s.shard !== target && s.usable)
    .reduce<ShardState | undefined>(
      (best, s) => (best === undefined || s.unspent > best.unspent ? s : best),
      undefined,
    );
  if (poor === undefined || !poor.usable || rich === undefined) return { kind: 'nothing_to_move' };
  const room = poor.poolCoupons - poor.issued - Math.max(0, poor.unspent);
  const coupons = Math.min(maxCoupons, Math.floor((rich.unspent - poor.unspent) / 2), room);
  if (coupons < 1) return { kind: 'nothing_to_move' };

  const cap = ctx.calendar.spendableCapAt(at);
  const day = cap.day ?? '-';
  const field = cap.scope === 'day' ? `adj:${day}` : 'adj';
  const transferId = randomBytes(8).toString('hex');
  const source = shardKeys(campaign.id, rich.shard);
  const taken = await ctx.scripts.takeRelease(
    [source.ledger, source.audit, source.transit],
    toArgv(TAKE_ARGV, {
      ...guardArgs(ctx, rich.shard, at),
      transferId,
      coupons,
      capCoupons: shardReleaseOf(cap, campaign.shards, rich.shard),
      scope: cap.scope,
      day,
      windowFromMs: cap.fromMs,
      windowUntilMs: cap.untilMs,
      target,
      targetGen: poor.gen,
    }),
  );
  switch (statusOf(ctx, rich.shard, taken)) {
    case LedgerCode.Ok:
    case LedgerCode.NoChange:
      break;
    case LedgerCode.InsufficientRelease:
      return { kind: 'source_short' };
    case LedgerCode.OutsideWindow:
      ctx.clock.observe?.(Number(taken[4]));
      return { kind: 'clock' };
    default:
      throw new Error(`take script returned ${String(taken[0])}`);
  }
  await finishTransfer(ctx, {
    transferId,
    source: rich.shard,
    sourceGen: rich.gen,
    target,
    targetGen: poor.gen,
    coupons,
    field,
  });
  return { kind: 'moved', transferId, source: rich.shard, target, coupons };
}

interface Transfer {
  transferId: string;
  source: number;
  sourceGen: string;
  target: number;
  targetGen: string;
  coupons: number;
  field: string;
}

/** Steps 2 and 3: credit the target once (or learn it is another generation), then settle. */
async function finishTransfer(
  ctx: LedgerContext,
  transfer: Transfer,
): Promise<'given' | 'written_off'> {
  const { campaign } = ctx.calendar;
  const target = shardKeys(campaign.id, transfer.target);
  const reply = await ctx.scripts.giveRelease(
    [target.ledger, target.audit],
    toArgv(GIVE_ARGV, {
      ...guardArgs(ctx, transfer.target, ctx.clock.now()),
      transferId: transfer.transferId,
      coupons: transfer.coupons,
      field: transfer.field,
      source: transfer.source,
      sourceGen: transfer.sourceGen,
      targetGen: transfer.targetGen,
    }),
  );
  const status = statusOf(ctx, transfer.target, reply);
  let outcome: 'done' | 'void';
  if (status === LedgerCode.Ok || status === LedgerCode.NoChange) outcome = 'done';
  else if (status === LedgerCode.StaleTransfer) outcome = 'void';
  else throw new Error(`give script returned ${LedgerCode[status]}`);
  const source = shardKeys(campaign.id, transfer.source);
  await ctx.scripts.settleTransfer(
    [source.ledger, source.audit, source.transit],
    toArgv(SETTLE_ARGV, { transferId: transfer.transferId, outcome }),
  );
  return outcome === 'done' ? 'given' : 'written_off';
}

/**
 * Finishes every transfer taken from a source and not yet settled (a crash between the steps):
 * credited once to a target that is still the generation it was taken for, written off for one
 * that is not. Run at start and periodically.
 */
export async function completeTransfers(ctx: LedgerContext): Promise<TransferSweep> {
  const { campaign } = ctx.calendar;
  const sweep: TransferSweep = { given: 0, writtenOff: 0, pending: 0 };
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    const keys = shardKeys(campaign.id, shard);
    const ids = await ctx.redis.smembers(keys.transit);
    if (ids.length === 0) continue;
    const sourceGen = (await ctx.redis.hget(keys.ledger, 'gen')) ?? '';
    for (const transferId of ids) {
      const record = await ctx.redis.hget(keys.ledger, `xout:${transferId}`);
      // "<state>:<target>:<coupons>:<targetGen>:<field>", field possibly holding a colon.
      const match = record === null ? null : /^sent:(\d+):(\d+):(\d+):(.+)$/.exec(record);
      try {
        if (match === null) {
          // Settled, or its record lost with a rolled-back ledger: only the index is left.
          await ctx.scripts.settleTransfer(
            [keys.ledger, keys.audit, keys.transit],
            toArgv(SETTLE_ARGV, { transferId, outcome: 'done' }),
          );
          continue;
        }
        const outcome = await finishTransfer(ctx, {
          transferId,
          source: shard,
          sourceGen,
          target: Number(match[1]),
          coupons: Number(match[2]),
          targetGen: match[3]!,
          field: match[4]!,
        });
        if (outcome === 'given') sweep.given += 1;
        else sweep.writtenOff += 1;
      } catch (err) {
        if (!(err instanceof LedgerFault)) throw err;
        sweep.pending += 1;
      }
    }
  }
  return sweep;
}
