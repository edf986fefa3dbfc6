import type {
  BudgetLedger,
  BudgetSnapshot,
  ClaimRequest,
  CouponRecord,
  IssueResult,
  RedeemResult,
  ReverseResult,
} from '@coupons/budget-ledger';
import type { CouponMetrics, Logger } from '@coupons/telemetry';
import { classifyFault, faultRetryAfterSeconds, type Fault } from '../redis/faults';
import { ApiError } from './errors';

export type LedgerCommand = 'issue' | 'redeem' | 'reverse' | 'read' | 'budget';

const FAULT_MESSAGE = {
  redis:
    'the coupon ledger did not answer; retry shortly with the same request (same Idempotency-Key or orderId)',
  ledger_missing:
    'the budget ledger of this campaign is missing; issuance is paused until an operator restores it',
  config_mismatch:
    'the budget ledger of this campaign was set up for other settings; issuance is paused until an operator resolves it',
  clock: 'could not agree on the time with the coupon ledger; try again shortly',
  code_collision: 'could not allocate a coupon code; try again shortly',
} as const;

function claimOutcome(result: IssueResult): string {
  if (result.kind === 'issued') return result.replayed ? 'replayed' : 'issued';
  if (result.kind === 'user_limit') return `user_limit_${result.scope}`;
  return result.kind;
}

function redeemOutcome(result: RedeemResult): string {
  if (result.kind === 'redeemed') return result.replayed ? 'replayed' : 'redeemed';
  return result.kind;
}

function reverseOutcome(result: ReverseResult): string {
  if (result.kind === 'reversed') return result.changed ? 'reversed' : 'reversal_replayed';
  return result.kind;
}

/**
 * Every ledger call of the routes goes through here: timed, counted by outcome, and turned into
 * a 503 (fail closed) when classifyFault calls it a fault. Anything else is a bug and reaches the
 * error middleware as a 500, stripped of ioredis's command arguments (they hold coupon codes).
 */
export class LedgerGateway {
  constructor(private readonly metrics: CouponMetrics) {}

  async issue(ledger: BudgetLedger, request: ClaimRequest, log: Logger): Promise<IssueResult> {
    const campaign = ledger.campaignId;
    const result = await this.counted(this.metrics.claims, campaign, () =>
      this.run('issue', ledger, log, () => ledger.issue(request)),
    );
    this.metrics.claims.inc({ campaign, outcome: claimOutcome(result) });
    if (result.kind === 'issued' && !result.replayed) {
      this.metrics.issued.inc({ campaign });
      this.metrics.issuedValueFen.inc({ campaign }, result.coupon.valueFen);
    }
    return result;
  }

  async redeem(
    ledger: BudgetLedger,
    request: Parameters<BudgetLedger['redeem']>[0],
    log: Logger,
  ): Promise<RedeemResult> {
    const campaign = ledger.campaignId;
    const result = await this.counted(this.metrics.redemptions, campaign, () =>
      this.run('redeem', ledger, log, () => ledger.redeem(request)),
    );
    this.metrics.redemptions.inc({ campaign, outcome: redeemOutcome(result) });
    return result;
  }

  async reverse(
    ledger: BudgetLedger,
    request: Parameters<BudgetLedger['reverse']>[0],
    log: Logger,
  ): Promise<ReverseResult> {
    const campaign = ledger.campaignId;
    const result = await this.counted(this.metrics.redemptions, campaign, () =>
      this.run('reverse', ledger, log, () => ledger.reverse(request)),
    );
    this.metrics.redemptions.inc({ campaign, outcome: reverseOutcome(result) });
    return result;
  }

  read(
    ledger: BudgetLedger,
    code: string,
    shard: number,
    userId: string,
    log: Logger,
  ): Promise<CouponRecord | undefined> {
    return this.run('read', ledger, log, () => ledger.readCoupon(code, shard, userId));
  }

  budget(ledger: BudgetLedger, log: Logger): Promise<BudgetSnapshot> {
    return this.run('budget', ledger, log, () => ledger.snapshot());
  }

  /** Counts a call that ended without a result: a fault (unavailable) or a bug (error). */
  private async counted<T>(
    counter: CouponMetrics['claims'],
    campaign: string,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      counter.inc({ campaign, outcome: err instanceof ApiError ? 'unavailable' : 'error' });
      throw err;
    }
  }

  private async run<T>(
    command: LedgerCommand,
    ledger: BudgetLedger,
    log: Logger,
    call: () => Promise<T>,
  ): Promise<T> {
    const stopTimer = this.metrics.redisDuration.startTimer({ command });
    try {
      return await call();
    } catch (err) {
      const fault = classifyFault(err);
      if (fault === undefined) throw withoutCommandArgs(err, command);
      throw this.unavailable(fault, command, ledger.campaignId, log);
    } finally {
      stopTimer();
    }
  }

  private unavailable(fault: Fault, command: LedgerCommand, campaign: string, log: Logger) {
    const retryAfterSeconds = faultRetryAfterSeconds(fault);
    if (fault.kind === 'redis') {
      this.metrics.redisErrors.inc({ command });
      log.warn({ campaign, command, redisError: fault.message }, 'redis unavailable: answered 503');
      return new ApiError('UNAVAILABLE', FAULT_MESSAGE.redis, { retryAfterSeconds });
    }
    this.metrics.ledgerFaults.inc({ campaign, reason: fault.reason });
    log.error(
      { campaign, command, reason: fault.reason, fault: fault.message },
      `ledger fault (${fault.reason}): answered 503`,
    );
    return new ApiError('UNAVAILABLE', FAULT_MESSAGE[fault.reason], { retryAfterSeconds });
  }
}

/** A bug's error for the 500 log: name, message and stack, but not ioredis's `command.args`. */
function withoutCommandArgs(err: unknown, command: LedgerCommand): unknown {
  if (!(err instanceof Error) || !('command' in err)) return err;
  const clean = new Error(`ledger ${command} failed: ${err.name}: ${err.message}`);
  clean.stack = err.stack;
  return clean;
}
