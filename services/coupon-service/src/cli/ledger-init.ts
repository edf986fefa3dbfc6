import { BudgetLedger, LedgerFault, shardKeys, type RedisTimeClock } from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import { RecordFault, rebuildFromRecord } from '@coupons/ledger-record';
import { describeRedisTarget, type RedisClient } from '@coupons/runtime';
import {
  CliExit,
  cliContext,
  err,
  out,
  recordName,
  runCli,
  shardRanges,
  withRecord,
  withRedis,
  zoned,
} from './common';

const USAGE = `usage: npm run ledger:init -- --campaign <id> [--after-loss | --never-issued] [--unfenced]
       npm run ledger:init -- --campaign <id> --from-record
                              (--record-complete-through <stream id> | --after-loss) [--unfenced]

Creates the Redis ledger of every shard of the campaign that has none; existing shards are left
as they are. Reads REDIS_URL / REDIS_CLUSTER_NODES and CAMPAIGNS_FILE like the service.

Which one:
  (no flag)       the campaign has not started yet: every shard from zero. A started campaign
                  with missing shards is refused (exit 1).
  --never-issued  the campaign has started but never ran against this Redis (added mid-day, a new
                  environment): every shard from zero. Refused when any trace of the campaign is
                  in Redis (a shard key, a coupon, an audit entry, a user's counters).
  --after-loss    the campaign ran here and lost state: shards missing (Redis restarted empty,
                  flushed, failed over without the data) or marked rolled back (Redis restored
                  an older state). Every coupon those shards could have given away of what was
                  released so far is counted as issued, so nothing is issued twice; new budget
                  comes with the next release. Restore Redis from its backup first if you can.
  --from-record   rebuild the lost or rolled-back shards exactly from the book of record in
                  PostgreSQL (DATABASE_URL): coupons, user counters, idempotency keys still
                  kept, audit events, ledger counters, transfers in transit; as a new ledger
                  generation. Shards whose ledger is live are left alone. Refused while Redis
                  holds events the record lacks (the recorder is behind). The record cannot know
                  how far behind Redis it was at the loss, so say one of:
    --record-complete-through <stream id | epoch ms>
                  the recorder had recorded every shard through this point and the lost state
                  held nothing after it (the recorder's position at the loss): exact rebuild.
    --after-loss  not known: rebuild what the record holds, then count what the shards could
                  still issue of the budget released so far as issued (never over-issues).

The ledgers it creates or rebuilds are fenced: they serve only a Redis process the recorder has
verified against the book of record (after a restart, a restore or a failover, within a
recorder poll). So a coupon-recorder must run; without one, claims on them answer 503.
  --unfenced      development without a recorder: the ledgers serve from any Redis process.`;

// Long: the operator's one decision (which init, from which source), read best top to bottom.
runCli(async () => {
  const { config, calendar, values } = cliContext(USAGE, {
    'after-loss': { type: 'boolean' },
    'never-issued': { type: 'boolean' },
    'from-record': { type: 'boolean' },
    'record-complete-through': { type: 'string' },
    unfenced: { type: 'boolean' },
  });
  const fenced = values['unfenced'] !== true;
  const afterLoss = values['after-loss'] === true;
  const neverIssued = values['never-issued'] === true;
  const fromRecord = values['from-record'] === true;
  const completeThrough = values['record-complete-through'] as string | undefined;
  if (afterLoss && neverIssued) throw new CliExit(2, `choose one of the flags\n${USAGE}`);
  if (fromRecord && neverIssued)
    throw new CliExit(
      2,
      `--from-record rebuilds what ran; --never-issued is for what never ran\n${USAGE}`,
    );
  if (completeThrough !== undefined && !fromRecord)
    throw new CliExit(2, `--record-complete-through goes with --from-record\n${USAGE}`);
  if (completeThrough !== undefined && afterLoss)
    throw new CliExit(
      2,
      `--from-record takes one of --record-complete-through and --after-loss\n${USAGE}`,
    );
  if (completeThrough !== undefined && !/^\d{1,19}(-\d{1,20})?$/.test(completeThrough))
    throw new CliExit(
      2,
      `--record-complete-through takes a stream id (<ms>-<seq>) or epoch ms, not "${completeThrough}"\n${USAGE}`,
    );
  const databaseUrl = config.ledger.databaseUrl;
  if (fromRecord && databaseUrl === undefined)
    throw new CliExit(2, `--from-record reads the book of record: set DATABASE_URL\n${USAGE}`);
  const { campaign } = calendar;
  return withRedis(config, async (redis, clock) => {
    const now = clock.now();
    // A point the record cannot have reached yet would take every lost event for recorded.
    const throughMs =
      completeThrough === undefined ? undefined : Number(completeThrough.split('-')[0]);
    if (throughMs !== undefined && throughMs > now)
      throw new CliExit(
        2,
        `--record-complete-through ${completeThrough} is in the future (Redis time now ${now}, ${zoned(calendar, now)}): give the recorder's position at the loss`,
      );
    out(
      `campaign ${campaign.id}: ${calendar.phase(now)} at ${zoned(calendar, now)} (Redis time), ${campaign.shards} shards, ${describeRedisTarget(config.redis)}`,
    );
    if (fromRecord)
      return await fromTheRecord(redis, clock, calendar, databaseUrl as string, {
        afterLoss,
        completeThrough,
        fenced,
      });
    const ledger = new BudgetLedger(redis, calendar, clock);
    let report;
    try {
      report = await ledger.init({ afterLoss, neverIssued, fenced });
    } catch (error) {
      if (error instanceof LedgerFault)
        throw new CliExit(
          1,
          `refused: ${error.message}\nAfter a loss: npm run ledger:init -- --campaign ${campaign.id} --after-loss; for a campaign that never ran here: --never-issued`,
        );
      throw error;
    }
    out(`created:  shards ${shardRanges(report.created)}`);
    if (report.created.length > 0)
      out(
        fenced
          ? 'fenced:   they serve once the coupon-recorder has verified this Redis process against the book of record'
          : 'not fenced: they serve from any Redis process (development without a recorder)',
      );
    out(`existing: shards ${shardRanges(report.existing)} (left as they are)`);
    if (report.restored.length > 0)
      out(
        `restored: shards ${shardRanges(report.restored)} (rolled back: written off, open again)`,
      );
    if (afterLoss)
      out(
        `written off: ${report.writtenOffCoupons} coupons (${report.writtenOffCoupons * campaign.couponValueFen} fen) released before now, counted as issued`,
      );
    if (report.rolledBack.length > 0)
      err(
        `shards ${shardRanges(report.rolledBack)} are marked rolled back and refuse claims: restore the newer data, or run with --after-loss`,
      );

    // An existing ledger made for other money settings refuses every claim (503 config_mismatch).
    // (A key without a fingerprint is not a ledger: init creates the ledger over it.)
    const fingerprints = await Promise.all(
      report.existing.map((shard) =>
        redis.hget(shardKeys(campaign.id, shard).ledger, 'fingerprint'),
      ),
    );
    const foreign = report.existing.filter((_, i) => fingerprints[i] !== ledger.fingerprint);
    if (foreign.length > 0)
      err(
        `shards ${shardRanges(foreign)} were initialised for other money settings than ${config.campaignsFile} says (fingerprint ${ledger.fingerprint}): claims on them answer 503 until the file matches what they were made for`,
      );
    return foreign.length > 0 || report.rolledBack.length > 0 ? 1 : 0;
  });
});

/**
 * --from-record: rebuilds the lost or rolled-back shards from the book of record (see
 * @coupons/ledger-record rebuild.ts for when it refuses); exit 1 when any shard was refused.
 */
async function fromTheRecord(
  redis: RedisClient,
  clock: RedisTimeClock,
  calendar: CampaignCalendar,
  databaseUrl: string,
  options: {
    afterLoss: boolean;
    completeThrough: string | undefined;
    fenced: boolean;
  },
): Promise<number> {
  const { campaign } = calendar;
  out(`book of record: ${recordName(databaseUrl)}`);
  return withRecord(databaseUrl, async (record) => {
    try {
      const report = await rebuildFromRecord(redis, calendar, clock, record, {
        afterLoss: options.afterLoss,
        fenced: options.fenced,
        ...(options.completeThrough === undefined
          ? {}
          : { recordCompleteThrough: options.completeThrough }),
      });
      for (const shard of report.shards) {
        if (shard.outcome === 'rebuilt')
          out(
            `shard ${shard.shard}: rebuilt from the record: ${shard.coupons} coupons, ${shard.events} events written back, generation ${shard.gen}`,
          );
        else if (shard.outcome === 'in_sync')
          out(`shard ${shard.shard}: left as it is (${shard.reason})`);
        else err(`shard ${shard.shard}: refused: ${shard.reason}`);
      }
      out(`rebuilt:  shards ${shardRanges(report.rebuilt)}`);
      if (options.afterLoss)
        out(
          `written off: ${report.writtenOffCoupons} coupons (${report.writtenOffCoupons * campaign.couponValueFen} fen) the shards could still issue of what was released, counted as issued`,
        );
      if (report.refused.length > 0) {
        err(`shards ${shardRanges(report.refused)} were not rebuilt: see above`);
        return 1;
      }
      return 0;
    } catch (error) {
      if (error instanceof RecordFault || error instanceof LedgerFault)
        throw new CliExit(1, `refused: ${error.message}`);
      throw error;
    }
  });
}
