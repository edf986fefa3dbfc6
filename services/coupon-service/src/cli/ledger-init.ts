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

const USAGE = `usage: npm run ledger:init -- --campaign <id> [--after-loss]

Creates the Redis ledger of every shard of the campaign that has none; existing shards are left
as they are. Reads REDIS_URL / REDIS_CLUSTER_NODES and CAMPAIGNS_FILE like the service.

  --after-loss  the campaign has started and its ledger was lost (Redis restarted empty, flushed,
                failed over without the data): count every coupon released so far as issued, so
                nothing that may have been given away is issued again. Without it, a started
                campaign with missing shards is refused (exit 1): restore Redis from its backup
                first if you can.`;

runCli(async () => {
  const { config, calendar, values } = cliContext(USAGE, { 'after-loss': { type: 'boolean' } });
  const afterLoss = values['after-loss'] === true;
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
      report = await ledger.init({ afterLoss });
    } catch (error) {
      if (error instanceof LedgerFault)
        throw new CliExit(
          1,
          `refused: ${error.message}\nTo re-initialise after a loss: npm run ledger:init -- --campaign ${campaign.id} --after-loss`,
        );
      throw error;
    }
    out(`created:  shards ${shardRanges(report.created)}`);
    out(`existing: shards ${shardRanges(report.existing)} (left as they are)`);
    if (afterLoss)
      out(
        `written off: ${report.writtenOffCoupons} coupons (${report.writtenOffCoupons * campaign.couponValueFen} fen) released before now, counted as issued`,
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
    if (foreign.length > 0) return 1;
    return 0;
  } finally {
    await closeQuietly(redis);
  }
});
