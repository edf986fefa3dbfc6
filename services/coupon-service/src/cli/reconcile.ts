import { reconcile, type Reconciliation } from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import { reconcileWithRecord } from '@coupons/ledger-record';
import { describeRedisTarget, type RedisClient } from '@coupons/runtime';
import { withoutUserinfo } from '@coupons/telemetry';
import { Gauge, Pushgateway, Registry } from 'prom-client';
import { cliContext, err, out, recordName, runCli, withRecord, withRedis, zoned } from './common';

const USAGE = `usage: npm run reconcile -- --campaign <id>

Walks every shard of the campaign and checks that the counters, the coupon records and the audit
stream agree: issued = records (+ written off) = issued events, issued <= released, no user over
a limit, redeemed counters = records = events. Exit 0 when clean, 1 listing every difference.
Reads REDIS_URL / REDIS_CLUSTER_NODES and CAMPAIGNS_FILE like the service. With PUSHGATEWAY_URL
set, pushes the result there (job coupon-reconcile, grouped by campaign) for the alerts:
coupon_reconcile_clean, coupon_reconcile_problems, coupon_reconcile_last_run_timestamp_seconds.
With DATABASE_URL set, also compares Redis and its audit streams with the book of record in
PostgreSQL: every event in both, the ledger counters and every coupon record alike; each
difference in coupons and fen. Events the recorder has not read yet are lag, listed apart.`;

/** The result as the alerts read it, pushed to the Pushgateway (replacing the campaign's last). */
async function pushResult(url: string, result: Reconciliation, nowMs: number): Promise<void> {
  const registry = new Registry();
  const gauge = (name: string, help: string, value: number) =>
    new Gauge({ name, help, labelNames: ['campaign'], registers: [registry] }).set(
      { campaign: result.campaignId },
      value,
    );
  gauge(
    'coupon_reconcile_clean',
    '1 when the last reconcile found nothing wrong',
    result.clean ? 1 : 0,
  );
  gauge('coupon_reconcile_problems', 'Problems the last reconcile listed', result.problems.length);
  gauge(
    'coupon_reconcile_last_run_timestamp_seconds',
    'When the last reconcile ran (Redis time, epoch seconds)',
    nowMs / 1000,
  );
  await new Pushgateway(url, { timeout: 5000 }, registry).push({
    jobName: 'coupon-reconcile',
    groupings: { campaign: result.campaignId },
  });
}

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
  const databaseUrl = config.ledger.databaseUrl;
  return withRedis(config, async (redis, clock) => {
    const now = clock.now();
    const result = await reconcile(redis, calendar, now);
    out(
      `campaign ${campaign.id} at ${zoned(calendar, now)} (Redis time), ${describeRedisTarget(config.redis)}: ${result.clean ? 'clean' : `${result.problems.length} problem(s)`}`,
    );
    out(
      `issued ${result.issuedCoupons} coupons (${result.issuedFen} fen) over ${campaign.shards} shards`,
    );
    if (result.inTransitCoupons > 0)
      out(
        `in transit: ${result.inTransitCoupons} coupons taken by rebalancing and not yet given (the pods' sweep completes them)`,
      );
    if (result.writtenOffTransferCoupons > 0)
      out(
        `written off with lost shards: ${result.writtenOffTransferCoupons} coupons of transfers into a shard re-created after a loss`,
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
    const pushgateway = config.metrics.pushgatewayUrl;
    if (pushgateway !== undefined) {
      try {
        await pushResult(pushgateway, result, now);
        out(`pushed to ${withoutUserinfo(pushgateway)}`);
      } catch (error) {
        // The result stands; the alert on a stale reconcile says the push is missing.
        err(`could not push to ${withoutUserinfo(pushgateway)}: ${(error as Error).message}`);
      }
    }
    let clean = result.clean;
    if (!result.clean) {
      err('problems:');
      for (const problem of result.problems) err(`  ${problem}`);
    }
    if (databaseUrl !== undefined)
      clean = (await againstTheRecord(redis, calendar, databaseUrl)) && clean;
    return clean ? 0 : 1;
  });
});

/** Redis and its streams against the book of record; whether they agree. */
async function againstTheRecord(
  redis: RedisClient,
  calendar: CampaignCalendar,
  databaseUrl: string,
): Promise<boolean> {
  return withRecord(databaseUrl, async (record) => {
    try {
      const result = await reconcileWithRecord(redis, calendar, record);
      out(
        `book of record ${recordName(databaseUrl)}: ${result.clean ? 'agrees with Redis' : `${result.problems.length} difference(s)`}`,
      );
      for (const lag of result.lagging)
        out(
          `  shard ${lag.shard}: ${lag.events} event(s) from ${lag.firstId} not recorded yet (recorder lag)`,
        );
      if (!result.clean) {
        err('differences between Redis and the record:');
        for (const problem of result.problems) err(`  ${problem}`);
      }
      return result.clean;
    } catch (error) {
      err(`could not compare with the record: ${(error as Error).message}`);
      return false;
    }
  });
}
