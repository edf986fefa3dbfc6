import type { Cluster, Redis } from 'ioredis';
import { readLedgers, type LedgerContext } from './context';
import { shardKeys } from './keys';
import { keysOfShard } from './keyspace';
import { codeOf, LedgerCode, LedgerFault, INIT_ARGV, toArgv, WRITE_OFF_ARGV } from './scripts';
import { shardReleaseOf, shareOf } from './shares';
import { moneySettings } from './fingerprint';

export interface InitOptions {
  /**
   * The campaign's ledger was lost (shards missing: Redis restarted empty, flushed) or rolled back
   * (shards marked by a pod that saw more): what those shards could have given away of the budget
   * released so far is counted as issued; only later releases are issued again. Never over-issues.
   */
  afterLoss?: boolean;
  /**
   * The campaign never ran against this Redis (added mid-day, a rehearsal): from zero. Refused when
   * any trace of the campaign is in Redis (a shard key, a coupon, an audit entry, a user's
   * counters), since then a loss is what happened.
   */
  neverIssued?: boolean;
  /**
   * The shards it creates serve only a Redis process the recorder verified against the book of
   * record (lua/includes/guard.lua): production, with a recorder running. Unfenced ledgers
   * (development, most tests) serve whatever process holds them.
   */
  fenced?: boolean;
}

export interface InitReport {
  created: number[];
  existing: number[];
  /** Rolled-back shards written off (afterLoss) and open again. */
  restored: number[];
  /** Rolled-back shards left refused (without afterLoss). */
  rolledBack: number[];
  writtenOffCoupons: number;
}

/** The first key of the campaign in Redis, if any (every shard's tag is looked at). */
export async function firstTraceOf(ctx: LedgerContext): Promise<string | undefined> {
  const { campaign } = ctx.calendar;
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    const keys = shardKeys(campaign.id, shard);
    const [found] = await keysOfShard(ctx.redis, keys.tag, keys.allPattern, 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

const WRITE_OFF_ATTEMPTS = 3;

/** Writes off a rolled-back shard (writeOffShard-2.lua); the coupons written off. */
async function writeOffRolledBack(ctx: LedgerContext, shard: number): Promise<number> {
  const { campaign } = ctx.calendar;
  const keys = shardKeys(campaign.id, shard);
  let at = ctx.clock.now();
  for (let attempt = 1; ; attempt += 1) {
    const cap = ctx.calendar.spendableCapAt(at);
    const reply = await ctx.scripts.writeOffShard(
      [keys.ledger, keys.audit],
      toArgv(WRITE_OFF_ARGV, {
        capCoupons: shardReleaseOf(cap, campaign.shards, shard),
        scope: cap.scope,
        day: cap.day ?? '-',
        windowFromMs: cap.fromMs,
        windowUntilMs: cap.untilMs,
      }),
    );
    const status = codeOf(reply);
    if (status === LedgerCode.Ok) return Number(reply[2]);
    if (status === LedgerCode.NotRolledBack) return 0;
    if (status === LedgerCode.OutsideWindow && attempt < WRITE_OFF_ATTEMPTS) {
      at = Number(reply[1]);
      continue;
    }
    throw new Error(`write-off of shard ${shard} returned ${LedgerCode[status]}`);
  }
}

/**
 * Creates every missing shard ledger. Before the campaign starts, at zero. Once it has started a
 * missing shard is a loss: refused unless `afterLoss` (or `neverIssued`, see InitOptions).
 */
export async function initLedger(
  ctx: LedgerContext,
  options: InitOptions = {},
): Promise<InitReport> {
  const { calendar } = ctx;
  const { campaign } = calendar;
  if (options.afterLoss === true && options.neverIssued === true)
    throw new RangeError('init: afterLoss and neverIssued exclude each other');
  const now = ctx.clock.now();
  const started = now >= campaign.startsAt;
  const states = await readLedgers(ctx, ['fingerprint', 'rolledBack']);
  const missing = states.flatMap(([fingerprint], shard) => (fingerprint === null ? [shard] : []));
  const rolledBack = states.flatMap(([fingerprint, mark], shard) =>
    fingerprint !== null && mark !== null ? [shard] : [],
  );

  await refuseHidingALoss(ctx, options, started, missing);

  const cap = calendar.spendableCapAt(now);
  const today = cap.day ?? '-';
  const releasedTotal = started ? calendar.releasedCouponsAt(now) : 0;
  const afterLoss = options.afterLoss === true && started;
  const report: InitReport = {
    created: [],
    existing: [],
    restored: [],
    rolledBack: [],
    writtenOffCoupons: 0,
  };
  for (let shard = 0; shard < campaign.shards; shard += 1) {
    if (!missing.includes(shard)) {
      report.existing.push(shard);
      continue;
    }
    const keys = shardKeys(campaign.id, shard);
    const writtenOff = afterLoss ? shareOf(releasedTotal, campaign.shards, shard) : 0;
    const dayWrittenOff =
      afterLoss && cap.scope === 'day' ? shardReleaseOf(cap, campaign.shards, shard) : 0;
    const reply = await ctx.scripts.init(
      [keys.ledger, keys.audit],
      toArgv(INIT_ARGV, {
        fingerprint: ctx.fingerprint,
        shardPoolCoupons: shareOf(calendar.poolCoupons, campaign.shards, shard),
        writtenOff,
        campaignId: campaign.id,
        shard,
        day: today,
        dayWrittenOff,
        fenced: options.fenced === true,
        money: JSON.stringify(moneySettings(campaign)),
      }),
    );
    if (codeOf(reply) === LedgerCode.Ok) {
      report.created.push(shard);
      report.writtenOffCoupons += writtenOff;
    } else {
      report.existing.push(shard);
    }
  }
  for (const shard of rolledBack) {
    if (options.afterLoss !== true) {
      report.rolledBack.push(shard);
      continue;
    }
    report.writtenOffCoupons += await writeOffRolledBack(ctx, shard);
    report.restored.push(shard);
  }
  return report;
}

/**
 * A fresh start where the campaign has run here (neverIssued with a trace of it in Redis), or
 * missing shards of a started campaign without afterLoss, would hide a loss: refused.
 */
async function refuseHidingALoss(
  ctx: LedgerContext,
  options: InitOptions,
  started: boolean,
  missing: readonly number[],
): Promise<void> {
  const { campaign } = ctx.calendar;
  if (options.neverIssued === true) {
    const trace = await firstTraceOf(ctx);
    if (trace !== undefined)
      throw new LedgerFault(
        'ledger_missing',
        `campaign ${campaign.id}: Redis holds a trace of it (${trace}), so it has run here: a fresh start would hide a loss. Restore Redis, or use --after-loss`,
      );
  } else if (started && options.afterLoss !== true && missing.length > 0) {
    throw new LedgerFault(
      'ledger_missing',
      `campaign ${campaign.id} has started and shards ${missing.join(',')} have no ledger: budget may already have been given away. Restore Redis from its backup, or re-initialise with afterLoss (counts every coupon released so far as issued).`,
    );
  }
}

/**
 * The shards of the campaign whose ledger exists and is not fenced (initialised without
 * `fenced`): they serve whatever Redis process holds them, verified by the book of record or not.
 */
export async function unfencedShards(
  redis: Redis | Cluster,
  campaign: { id: string; shards: number },
): Promise<number[]> {
  const states = await Promise.all(
    Array.from({ length: campaign.shards }, (_, shard) =>
      redis.hmget(shardKeys(campaign.id, shard).ledger, 'fingerprint', 'fence'),
    ),
  );
  return states.flatMap(([fingerprint, fence], shard) =>
    fingerprint !== null && fence === null ? [shard] : [],
  );
}
