import { reconcile } from '@coupons/budget-ledger';
import {
  closeQuietly,
  cliContext,
  connectOnce,
  describeRedis,
  err,
  out,
  redisClock,
  runCli,
  zoned,
} from './common';

const USAGE = `usage: npm run reconcile -- --campaign <id>

Walks every shard of the campaign and checks that the counters, the coupon records and the audit
stream agree: issued = records (+ written off) = issued events, issued <= released, no user over
a limit, redeemed counters = records = events. Exit 0 when clean, 1 listing every difference.
Reads REDIS_URL / REDIS_CLUSTER_NODES and CAMPAIGNS_FILE like the service.`;

const COLUMNS = [
  'shard',
  'issued',
  'writtenOff',
  'records',
  'events',
  'released',
  'redeemed',
  'problems',
];

runCli(async () => {
  const { config, calendar } = cliContext(USAGE, {});
  const { campaign } = calendar;
  const redis = await connectOnce(config);
  try {
    const now = (await redisClock(redis)).now();
    const result = await reconcile(redis, calendar, now);
    out(
      `campaign ${campaign.id} at ${zoned(calendar, now)} (Redis time), ${describeRedis(config)}: ${result.clean ? 'clean' : `${result.problems.length} problem(s)`}`,
    );
    out(
      `issued ${result.issuedCoupons} coupons (${result.issuedFen} fen) over ${campaign.shards} shards`,
    );
    if (result.inTransitCoupons > 0)
      out(
        `in transit: ${result.inTransitCoupons} coupons taken by rebalancing and not yet given (a pod completes them when it connects)`,
      );
    const rows = result.shards.map((s) =>
      [
        s.shard,
        s.ledgerIssued,
        s.writtenOff,
        s.couponRecords,
        s.issuedEvents,
        s.releasedCap,
        s.redeemed,
        s.problems.length,
      ].map(String),
    );
    const widths = COLUMNS.map((title, i) =>
      Math.max(title.length, ...rows.map((r) => r[i]!.length)),
    );
    for (const row of [COLUMNS, ...rows])
      out(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
    if (result.clean) return 0;
    err('problems:');
    for (const problem of result.problems) err(`  ${problem}`);
    return 1;
  } finally {
    await closeQuietly(redis);
  }
});
