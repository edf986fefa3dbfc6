import { BudgetLedger, LedgerFault, shardKeys } from '@coupons/budget-ledger';
import {
  CliExit,
  closeQuietly,
  cliContext,
  connectOnce,
  describeRedis,
  err,
  out,
  redisClock,
  runCli,
  shardRanges,
  zoned,
} from './common';

const USAGE = `usage: npm run ledger:init -- --campaign <id> [--after-loss | --never-issued]

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
                  comes with the next release. Restore Redis from its backup first if you can.`;

runCli(async () => {
  const { config, calendar, values } = cliContext(USAGE, {
    'after-loss': { type: 'boolean' },
    'never-issued': { type: 'boolean' },
  });
  const afterLoss = values['after-loss'] === true;
  const neverIssued = values['never-issued'] === true;
  if (afterLoss && neverIssued) throw new CliExit(2, `choose one of the flags\n${USAGE}`);
  const { campaign } = calendar;
  const redis = await connectOnce(config);
  try {
    const clock = await redisClock(redis);
    const now = clock.now();
    const ledger = new BudgetLedger(redis, calendar, clock);
    out(
      `campaign ${campaign.id}: ${calendar.phase(now)} at ${zoned(calendar, now)} (Redis time), ${campaign.shards} shards, ${describeRedis(config)}`,
    );
    let report;
    try {
      report = await ledger.init({ afterLoss, neverIssued });
    } catch (error) {
      if (error instanceof LedgerFault)
        throw new CliExit(
          1,
          `refused: ${error.message}\nAfter a loss: npm run ledger:init -- --campaign ${campaign.id} --after-loss; for a campaign that never ran here: --never-issued`,
        );
      throw error;
    }
    out(`created:  shards ${shardRanges(report.created)}`);
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
  } finally {
    await closeQuietly(redis);
  }
});
