import { BudgetLedger, RedisSettingsGuard, type LedgerClock } from '@coupons/budget-ledger';
import type { Logger } from '@coupons/telemetry';
import type { CampaignCatalog } from '../campaignCatalog';
import type { LedgerConfig } from '../config/env';
import type { RedisClient } from '../redis/client';

/** How often the Redis settings are read again (CONFIG SET at run time, a failover to a new node). */
const SETTINGS_RECHECK_MS = 30_000;

export interface LedgerRegistryOptions {
  config: LedgerConfig;
  /** NODE_ENV=production: Redis must keep an append-only file. */
  production: boolean;
  /** Called with each settings check's outcome (the metric). */
  onSettings?: (safe: boolean) => void;
}

/**
 * One BudgetLedger per campaign this pod serves, all on the pod's one Redis client, and what runs
 * beside them: the check of the Redis settings money depends on, and the sweep that finishes
 * rebalancing transfers a crashed pod left between their steps.
 */
export class LedgerRegistry {
  private readonly byId: ReadonlyMap<string, BudgetLedger>;
  readonly settings: RedisSettingsGuard;
  private readonly timers: NodeJS.Timeout[] = [];

  /**
   * Rebalancing is on (docs/stranding.md: without it about 0.24% of a day's tranche can sit on
   * some shards while users of others are refused); a failed transfer is logged, never fatal.
   */
  constructor(
    private readonly redis: RedisClient,
    catalog: CampaignCatalog,
    clock: LedgerClock,
    private readonly logger: Logger,
    private readonly options: LedgerRegistryOptions,
  ) {
    this.settings = new RedisSettingsGuard(redis, {
      mode: options.config.settingsCheck,
      requirePersistence: options.production,
      minReplicasToWrite: options.production ? options.config.replication?.replicas : undefined,
    });
    this.byId = new Map(
      catalog.all().map((calendar) => {
        const campaign = calendar.campaign.id;
        const onError = (err: unknown, targetShard: number) =>
          logger.warn({ err, campaign, targetShard }, 'rebalancing transfer failed');
        return [
          campaign,
          new BudgetLedger(redis, calendar, clock, {
            rebalance: { onError },
            settings: this.settings,
            replication: options.config.replication,
          }),
        ];
      }),
    );
  }

  /** Checks the settings and sweeps transfers now (each time Redis connects) and periodically. */
  start(): void {
    const onReady = () => {
      void this.checkSettings();
      void this.completeTransfers();
    };
    this.redis.on('ready', onReady);
    if (this.redis.status === 'ready') onReady();
    this.timers.push(
      setInterval(() => void this.checkSettings(), SETTINGS_RECHECK_MS).unref(),
      setInterval(() => void this.completeTransfers(), this.options.config.transferSweepMs).unref(),
    );
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  /** Reads the settings; says what it found, and why money is refused when it is. */
  async checkSettings(): Promise<boolean> {
    const wasSafe = this.settings.report === undefined ? undefined : this.settings.safe;
    try {
      const report = await this.settings.check();
      const safe = this.settings.safe;
      this.options.onSettings?.(safe);
      if (safe !== wasSafe) {
        const found = report.nodes.map(
          (n) =>
            `${n.node} maxmemory-policy=${n.maxmemoryPolicy} appendonly=${n.appendonly} appendfsync=${n.appendfsync} save="${n.save}"`,
        );
        if (report.problems.length === 0)
          this.logger.info({ mode: this.settings.options.mode, found }, 'redis settings checked');
        else if (safe)
          this.logger.warn(
            { problems: report.problems, found },
            'redis settings could lose coupons (REDIS_SETTINGS_CHECK=warn: serving anyway)',
          );
        else
          this.logger.error(
            { problems: report.problems, found },
            'redis settings could lose coupons: claims and redemptions answer 503 until they are fixed (or REDIS_SETTINGS_CHECK says otherwise)',
          );
      }
      return safe;
    } catch (err) {
      this.logger.warn({ err }, 'redis settings: check failed, will retry');
      return this.settings.safe;
    }
  }

  /** Finishes transfers left between their steps: credited once, or written off. */
  async completeTransfers(): Promise<void> {
    for (const ledger of this.all()) {
      try {
        const sweep = await ledger.completeTransfers();
        if (sweep.given + sweep.writtenOff + sweep.pending > 0)
          this.logger.warn(
            { campaign: ledger.campaignId, ...sweep },
            'rebalancing transfers left in transit: completed or written off',
          );
      } catch (err) {
        this.logger.warn({ err, campaign: ledger.campaignId }, 'completing transfers failed');
      }
    }
  }

  get(campaignId: string): BudgetLedger | undefined {
    return this.byId.get(campaignId);
  }

  all(): BudgetLedger[] {
    return [...this.byId.values()];
  }
}
