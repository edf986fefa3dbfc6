import { couponsToFen } from '@coupons/campaign';
import type { BudgetMetrics, Logger } from '@coupons/telemetry';
import type { LedgerRegistry } from './ledger/ledgerGateway';

/**
 * The budget gauges of every campaign, from one snapshot read per campaign per interval (never
 * per request). An unknown budget (a shard lost or rolled back) sets `known` to 0 and removes the
 * issued, remaining and today-issued series; a read that fails (Redis down) leaves the last
 * values, since Redis errors have their own metric and alert.
 */
export class BudgetSampler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ledgers: LedgerRegistry,
    private readonly metrics: BudgetMetrics,
    private readonly logger: Logger,
  ) {}

  start(intervalMs: number): void {
    this.stop();
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async sample(): Promise<void> {
    for (const ledger of this.ledgers.all()) {
      const { campaign } = ledger.calendar;
      const labels = { campaign: campaign.id };
      const fen = (coupons: number) => couponsToFen(campaign, coupons);
      let snapshot;
      try {
        snapshot = await ledger.snapshot();
      } catch (err) {
        this.logger.debug({ err, campaign: campaign.id }, 'budget sample failed');
        continue;
      }
      const m = this.metrics;
      m.poolFen.set(labels, fen(snapshot.poolCoupons));
      m.releasedFen.set(labels, fen(snapshot.releasedCoupons));
      if (snapshot.nextReleaseAt === undefined) m.nextReleaseTimestampSeconds.remove(labels);
      else m.nextReleaseTimestampSeconds.set(labels, snapshot.nextReleaseAt / 1000);
      const { today } = snapshot;
      if (today === undefined) {
        m.todayTrancheFen.remove(labels);
        m.todayReleasedFen.remove(labels);
      } else {
        m.todayTrancheFen.set(labels, fen(today.trancheCoupons));
        m.todayReleasedFen.set(labels, fen(today.releasedCoupons));
      }
      const issued = snapshot.issuedCoupons;
      const issuedToday = today?.issuedCoupons;
      m.known.set(labels, issued === null ? 0 : 1);
      if (issued === null) {
        m.issuedFen.remove(labels);
        m.remainingFen.remove(labels);
      } else {
        m.issuedFen.set(labels, fen(issued));
        m.remainingFen.set(labels, fen(snapshot.releasedCoupons) - fen(issued));
      }
      if (issuedToday === null || issuedToday === undefined) m.todayIssuedFen.remove(labels);
      else m.todayIssuedFen.set(labels, fen(issuedToday));
      for (const shard of snapshot.shards) {
        const shardLabels = { campaign: campaign.id, shard: String(shard.shard) };
        if (shard.issuedCoupons === null) m.shardRemainingCoupons.remove(shardLabels);
        else m.shardRemainingCoupons.set(shardLabels, shard.releasedCoupons - shard.issuedCoupons);
      }
    }
  }
}
