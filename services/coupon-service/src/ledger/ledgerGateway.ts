import { performance } from 'node:perf_hooks';
import {
  BudgetLedger,
  type BudgetSnapshot,
  type ClaimRequest,
  type LedgerCoupon,
  type IssueResult,
  type RedeemResult,
  type ReverseResult,
  RedisSettingsGuard,
  type LedgerClock,
} from '@coupons/budget-ledger';
import type { Clock } from '@coupons/campaign';
import type {
  ClaimOutcomeLabel,
  CouponMetrics,
  LedgerCommand,
  Logger,
  RedemptionOutcomeLabel,
} from '@coupons/telemetry';
import { TIMED_OUT, within } from '@coupons/admission';
import { ApiError } from '../answers/errors';
import type { RetryPolicy } from '../answers/retryPolicy';
import type { CampaignCatalog } from '../campaignCatalog';
import type { LedgerConfig } from '../config/env';
import type { RedisClient } from '../redis/client';
import { classifyFault, faultRetryAfterSeconds, type Fault } from './faults';

/** What a route passes along with a ledger call: its logger, and when its caller stops waiting. */
export interface CallContext {
  log: Logger;
  /** From admission (X-Request-Timeout-Ms or the default); absent when admission is off. */
  deadline?: { atMs: number } | undefined;
  /** performance.now() when the front door handed the request on (claim latency). */
  startedAt?: number | undefined;
}

const FAULT_MESSAGE = {
  redis:
    'the coupon ledger did not answer; retry shortly with the same request (same Idempotency-Key or orderId)',
  ledger_missing:
    'the budget ledger of this campaign is missing; issuance is paused until an operator restores it',
  config_mismatch:
    'the budget ledger of this campaign was set up for other settings; issuance is paused until an operator resolves it',
  clock: 'could not agree on the time with the coupon ledger; try again shortly',
  code_collision: 'could not allocate a coupon code; try again shortly',
  rolled_back:
    'the budget ledger of this part of the campaign holds less than was seen of it (restored from an older state); claims and redemptions on it are paused until an operator resolves it',
  redis_settings:
    'the coupon ledger runs on a Redis whose settings could lose coupons; claims and redemptions are paused until an operator fixes them',
  unverified:
    'this part of the coupon ledger has just restarted or failed over and is being checked against the book of record; retry shortly with the same request (same Idempotency-Key or orderId)',
  replication:
    'the coupon ledger could not confirm the write on its replicas in time; retry shortly with the same request (same Idempotency-Key or orderId): it returns this coupon if it was kept, or issues one if not',
} as const;

function claimOutcome(result: IssueResult): ClaimOutcomeLabel {
  if (result.kind === 'issued') return result.replayed ? 'replayed' : 'issued';
  if (result.kind === 'user_limit') return `user_limit_${result.scope}`;
  return result.kind;
}

function redeemOutcome(result: RedeemResult): RedemptionOutcomeLabel {
  if (result.kind === 'redeemed') return result.replayed ? 'replayed' : 'redeemed';
  return result.kind;
}

function reverseOutcome(result: ReverseResult): RedemptionOutcomeLabel {
  if (result.kind === 'reversed') return result.changed ? 'reversed' : 'reversal_replayed';
  return result.kind;
}

/**
 * Every ledger call of the routes goes through here: timed, counted by outcome, and turned into
 * a 503 (fail closed) when classifyFault calls it a fault. Anything else is a bug and reaches the
 * error middleware as a 500, stripped of ioredis's command arguments (they hold coupon codes).
 */
export class LedgerGateway {
  /**
   * @param clock the clock deadlines are on (the gate's, the service's)
   * @param commandTimeoutMs the Redis client's own timeout: a deadline further away changes nothing
   */
  constructor(
    private readonly metrics: CouponMetrics,
    private readonly clock: Clock,
    private readonly commandTimeoutMs: number,
    private readonly retry: RetryPolicy,
  ) {}

  async issue(
    ledger: BudgetLedger,
    request: ClaimRequest,
    shard: number,
    ctx: CallContext,
  ): Promise<IssueResult> {
    const campaign = ledger.campaignId;
    const observe = (outcome: ClaimOutcomeLabel) => {
      this.metrics.claims.inc({ campaign, outcome });
      if (ctx.startedAt !== undefined)
        this.metrics.claimDuration.observe(
          { campaign, outcome },
          (performance.now() - ctx.startedAt) / 1000,
        );
    };
    const result = await this.counted(observe, () =>
      this.run('issue', ledger, ctx, () => ledger.issue(request, shard)),
    );
    observe(claimOutcome(result));
    if (result.kind === 'issued' && !result.replayed) {
      this.metrics.issued.inc({ campaign });
      this.metrics.issuedValueFen.inc({ campaign }, result.coupon.valueFen);
    }
    return result;
  }

  redeem(
    ledger: BudgetLedger,
    request: Parameters<BudgetLedger['redeem']>[0],
    ctx: CallContext,
  ): Promise<RedeemResult> {
    return this.redemption('redeem', ledger, ctx, () => ledger.redeem(request), redeemOutcome);
  }

  reverse(
    ledger: BudgetLedger,
    request: Parameters<BudgetLedger['reverse']>[0],
    ctx: CallContext,
  ): Promise<ReverseResult> {
    return this.redemption('reverse', ledger, ctx, () => ledger.reverse(request), reverseOutcome);
  }

  /** A redemption or its reversal, counted in the redemptions counter by its outcome. */
  private async redemption<T>(
    command: 'redeem' | 'reverse',
    ledger: BudgetLedger,
    ctx: CallContext,
    call: () => Promise<T>,
    outcomeOf: (result: T) => RedemptionOutcomeLabel,
  ): Promise<T> {
    const campaign = ledger.campaignId;
    const result = await this.counted(
      (outcome) => this.metrics.redemptions.inc({ campaign, outcome }),
      () => this.run(command, ledger, ctx, call),
    );
    this.metrics.redemptions.inc({ campaign, outcome: outcomeOf(result) });
    return result;
  }

  read(
    ledger: BudgetLedger,
    code: string,
    shard: number,
    userId: string,
    ctx: CallContext,
  ): Promise<LedgerCoupon | undefined> {
    return this.run('read', ledger, ctx, () => ledger.readCoupon(code, shard, userId));
  }

  budget(ledger: BudgetLedger, ctx: CallContext): Promise<BudgetSnapshot> {
    return this.run('budget', ledger, ctx, () => ledger.snapshot());
  }

  /** Counts a call that ended without a result: a fault (unavailable) or a bug (error). */
  private async counted<T>(
    count: (outcome: ClaimOutcomeLabel & RedemptionOutcomeLabel) => void,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const outcome =
        err instanceof ApiError
          ? err.code === 'OVERLOADED'
            ? 'deadline'
            : 'unavailable'
          : 'error';
      count(outcome);
      throw err;
    }
  }

  private async run<T>(
    command: LedgerCommand,
    ledger: BudgetLedger,
    ctx: CallContext,
    call: () => Promise<T>,
  ): Promise<T> {
    const { deadline } = ctx;
    const remainingMs = deadline === undefined ? Infinity : deadline.atMs - this.clock.now();
    // Work whose caller has gone (it waited for a slot, a limit check, the body) is dropped here.
    if (remainingMs <= 0) throw this.deadlinePassed('before', command, ctx.log);
    const stopTimer = this.metrics.redisDuration.startTimer({ command });
    try {
      if (remainingMs >= this.commandTimeoutMs) return await call();
      const result = await within(call(), remainingMs);
      if (result === TIMED_OUT) throw this.deadlinePassed('while', command, ctx.log);
      return result;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      const fault = classifyFault(err);
      if (fault === undefined) throw withoutCommandArgs(err, command);
      throw this.unavailable(fault, command, ledger.campaignId, ctx.log);
    } finally {
      stopTimer();
    }
  }

  /**
   * 503 OVERLOADED: the caller has stopped waiting. When the call was already sent it may still
   * complete in Redis (as after a command timeout): a retry with the same Idempotency-Key or
   * orderId then replays it, so nothing is issued twice.
   */
  private deadlinePassed(when: 'before' | 'while', command: LedgerCommand, log: Logger): ApiError {
    log.warn({ command }, `deadline passed ${when} the ledger call: answered 503`);
    return new ApiError(
      'OVERLOADED',
      `the request's deadline (X-Request-Timeout-Ms) passed ${when} the coupon ledger was asked; retry with the same request`,
      // As the gate's overload answers, so the retries spread out.
      { retryAfterSeconds: this.retry.overloaded() },
    );
  }

  private unavailable(fault: Fault, command: LedgerCommand, campaign: string, log: Logger) {
    // The fault's base, up to twice it: a fleet of callers told "2 s" must not all return at 2 s.
    const retryAfter = this.retry.fault(faultRetryAfterSeconds(fault));
    if (fault.kind === 'redis') {
      this.metrics.redisErrors.inc({ command });
      log.warn({ campaign, command, redisError: fault.message }, 'redis unavailable: answered 503');
      return new ApiError('UNAVAILABLE', FAULT_MESSAGE.redis, { retryAfterSeconds: retryAfter });
    }
    this.metrics.ledgerFaults.inc({ campaign, reason: fault.reason });
    log.error(
      { campaign, command, reason: fault.reason, fault: fault.message },
      `ledger fault (${fault.reason}): answered 503`,
    );
    return new ApiError('UNAVAILABLE', FAULT_MESSAGE[fault.reason], {
      retryAfterSeconds: retryAfter,
    });
  }
}

/** A bug's error for the 500 log: name, message and stack, but not ioredis's `command.args`. */
function withoutCommandArgs(err: unknown, command: LedgerCommand): unknown {
  if (!(err instanceof Error) || !('command' in err)) return err;
  const clean = new Error(`ledger ${command} failed: ${err.name}: ${err.message}`);
  clean.stack = err.stack;
  return clean;
}

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
