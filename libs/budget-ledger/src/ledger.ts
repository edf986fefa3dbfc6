import type { Cluster, Redis } from 'ioredis';
import type { CampaignCalendar } from '@coupons/campaign';
import {
  guardArgs,
  statusOf,
  type LedgerClock,
  type LedgerContext,
  afterView,
  ShardMarks,
  viewOf,
  type RedisSettingsGuard,
} from './context';
import { generateCouponCode, idempotencyScopeHash, shardKeys, shardOfUser } from './keys';
import { ledgerCouponOf } from './storedCoupon';
import { campaignFingerprint } from './fingerprint';
import { initLedger, type InitOptions, type InitReport } from './ledgerInit';
import { issueRefusalOf, redeemResultOf } from './answers';
import { claimWindow, shardReleaseOf, defaultRebalanceSizes, RebalanceTrigger } from './shares';
import { ReplicationWait, type ReplicationOptions } from './replication';
import {
  LedgerCode,
  LedgerFault,
  type LedgerCoupon,
  type IssueResult,
  type RedeemResult,
  type ReverseResult,
  type ScriptReply,
  ISSUE_ARGV,
  READ_ARGV,
  REDEEM_ARGV,
  RELEASE_ORDER_ARGV,
  RESERVE_ORDER_ARGV,
  REVERSE_ARGV,
  toArgv,
  assertRequestArgs,
  registerLedgerScripts,
} from './scripts';
import { budgetSnapshot, type BudgetSnapshot } from './snapshot';
import {
  completeTransfers,
  rebalanceInto,
  type RebalanceResult,
  type TransferSweep,
} from './transfers';

export type { LedgerClock } from './context';

export interface LedgerOptions {
  /** How long records outlive the coupon's expiry (idempotency replays, support look-ups). */
  keepAfterExpiryMs?: number;
  /**
   * How far behind the highest Redis time this pod saw of a shard the shard's Redis may be before
   * claims and redemptions are refused (a failover to a primary whose clock is behind).
   */
  maxRedisClockStepBackMs?: number;
  /**
   * Tests only: the scripts take the injected clock's time as the time, unchecked against Redis
   * TIME, so boundaries can be tested at any instant. The service never sets it.
   */
  trustCallerClock?: boolean;
  /** Refuses money on a Redis whose settings could lose it (RedisSettingsGuard, context.ts); none when absent. */
  settings?: RedisSettingsGuard;
  /**
   * A claim, redemption or reversal is answered only once this many replicas hold it
   * (replication.ts); a failover can then not lose what was acknowledged. None when absent.
   */
  replication?: ReplicationOptions;
  /**
   * Move unspent release from rich shards to ones running dry (docs/stranding.md). Off unless
   * given; the service turns it on. Sizes default from the release schedule.
   */
  rebalance?: {
    maxCoupons?: number;
    lowWater?: number;
    minIntervalMs?: number;
    onError: (err: unknown, targetShard: number) => void;
  };
}

export interface RedeemRequest {
  code: string;
  shard: number;
  userId: string;
  orderId: string;
  orderAmountFen: number;
}

export interface ReverseRequest {
  code: string;
  shard: number;
  userId: string;
  orderId: string;
}

export interface ClaimRequest {
  userId: string;
  idempotencyKey: string;
  /** idempotencyScopeHash(userId, idempotencyKey), when the caller computed it already. */
  scopeHash?: string;
  /** A digest of the claim body, so the same key with another body is told apart. */
  bodyHash: string;
}

const DAY_MS = 86_400_000;
/** A claim whose window Redis time left (a release or midnight passed) is recomputed at most this often. */
const ISSUE_ATTEMPTS = 3;

/**
 * One campaign's budget in Redis: every money move goes through one Lua script call. Initialising
 * (ledgerInit.ts), rebalancing (transfers.ts) and reading the budget (snapshot.ts) live beside it
 * and share its context.
 */
export class BudgetLedger {
  readonly fingerprint: string;
  private readonly ctx: LedgerContext;
  /** When every record of the campaign may leave Redis: the coupons' expiry plus the keep. */
  private readonly keepUntilMs: number;
  private readonly trigger: RebalanceTrigger | undefined;
  private readonly replication: ReplicationWait | undefined;
  readonly rebalanceMaxCoupons: number;

  constructor(
    redis: Redis | Cluster,
    readonly calendar: CampaignCalendar,
    clock: LedgerClock,
    options: LedgerOptions = {},
  ) {
    this.fingerprint = campaignFingerprint(calendar.campaign);
    this.ctx = {
      redis,
      scripts: registerLedgerScripts(redis),
      calendar,
      clock,
      fingerprint: this.fingerprint,
      marks: new ShardMarks(options.maxRedisClockStepBackMs ?? 2000),
      trustCallerClock: options.trustCallerClock === true,
      settings: options.settings,
    };
    this.keepUntilMs =
      calendar.campaign.couponExpiresAt + (options.keepAfterExpiryMs ?? 30 * DAY_MS);
    this.replication =
      options.replication === undefined
        ? undefined
        : new ReplicationWait(redis, options.replication);
    const maxSlice = Math.max(
      0,
      ...calendar.days.flatMap((day) => day.slices.map((slice) => slice.coupons)),
    );
    const sizes = defaultRebalanceSizes(maxSlice, calendar.campaign.shards);
    this.rebalanceMaxCoupons = options.rebalance?.maxCoupons ?? sizes.maxCoupons;
    const rebalance = options.rebalance;
    this.trigger =
      rebalance === undefined || calendar.campaign.shards < 2
        ? undefined
        : new RebalanceTrigger({
            lowWater: rebalance.lowWater ?? sizes.lowWater,
            minIntervalMs: rebalance.minIntervalMs ?? 1000,
            clock,
            run: (target) => this.rebalanceInto(target),
            onError: rebalance.onError,
          });
  }

  get campaignId(): string {
    return this.calendar.campaign.id;
  }

  shardOf(userId: string): number {
    return shardOfUser(userId, this.calendar.campaign.shards);
  }

  /**
   * Refuses money on unsafe settings. The first call on a pod that has not read them yet waits
   * for that read instead of refusing: a pod that just became ready is not told "unsafe" for
   * settings nobody has looked at.
   */
  private async assertSettings(): Promise<void> {
    const settings = this.ctx.settings;
    if (settings === undefined) return;
    if (settings.report === undefined) await settings.whenRead();
    settings.assertSafe();
  }

  /** Issues a coupon to the claim's user, on `shard` (the user's shard: pass it when known). */
  async issue(request: ClaimRequest, shard = this.shardOf(request.userId)): Promise<IssueResult> {
    assertRequestArgs({ userId: request.userId, bodyHash: request.bodyHash });
    await this.assertSettings();
    const { campaign } = this.calendar;
    const keys = shardKeys(campaign.id, shard);
    const idempotency = keys.idempotency(
      request.scopeHash ?? idempotencyScopeHash(request.userId, request.idempotencyKey),
    );
    let at = this.ctx.clock.now();
    for (let attempt = 1; ; attempt += 1) {
      const code = generateCouponCode(shard);
      const { argv, day } = this.issueArgv(shard, at, request.bodyHash);
      const reply = await this.ctx.scripts.issueCoupon(
        [keys.ledger, keys.user(request.userId), idempotency, keys.coupon(code), keys.audit],
        argv,
      );
      const status = statusOf(this.ctx, shard, reply);
      const nowMs = viewOf(reply)?.nowMs ?? at;
      switch (status) {
        case LedgerCode.Ok:
          this.trigger?.afterClaim(shard, Number(afterView(reply)[0]));
          await this.replication?.confirm(keys.ledger);
          return {
            kind: 'issued',
            replayed: false,
            coupon: {
              code,
              campaignId: campaign.id,
              userId: request.userId,
              valueFen: campaign.couponValueFen,
              issuedAt: nowMs,
              expiresAt: campaign.couponExpiresAt,
              trancheDay: day,
              status: 'issued',
            },
          };
        case LedgerCode.Replayed: {
          // The coupon as it is now (redeemed since, say): what a replay promises.
          const coupon = await this.readCoupon(String(afterView(reply)[0]), shard, request.userId);
          if (coupon === undefined)
            throw new Error('remembered claim points at a missing coupon record');
          // The first answer may have been refused for want of replicas: this one is not.
          await this.replication?.confirm(keys.ledger);
          return { kind: 'issued', replayed: true, coupon };
        }
        case LedgerCode.OutsideWindow:
        case LedgerCode.CodeCollision:
          if (attempt >= ISSUE_ATTEMPTS) {
            throw new LedgerFault(
              status === LedgerCode.CodeCollision ? 'code_collision' : 'clock',
              `issue refused ${attempt} times (${LedgerCode[status]})`,
            );
          }
          if (status === LedgerCode.OutsideWindow) {
            // Redis is the clock: compute the cap and the day again for its time.
            at = nowMs;
            this.ctx.clock.observe?.(nowMs);
          }
          continue;
        case LedgerCode.TrancheExhausted:
          this.trigger?.afterClaim(shard, 0);
          return issueRefusalOf(this.calendar, status, nowMs);
        default:
          return issueRefusalOf(this.calendar, status, nowMs);
      }
    }
  }

  /** The issue script's arguments for a claim at `at` on `shard`, and the tranche day it is of. */
  private issueArgv(
    shard: number,
    at: number,
    bodyHash: string,
  ): { argv: ReturnType<typeof toArgv>; day: string } {
    const { campaign } = this.calendar;
    const cap = this.calendar.spendableCapAt(at);
    const day = cap.day ?? '-';
    const window = claimWindow(cap, campaign, at);
    const argv = toArgv(ISSUE_ARGV, {
      ...guardArgs(this.ctx, shard, at),
      windowFromMs: window.fromMs,
      windowUntilMs: window.untilMs,
      capCoupons: shardReleaseOf(cap, campaign.shards, shard),
      capScope: window.scope,
      day,
      dailyLimit: campaign.perUser.daily,
      totalLimit: campaign.perUser.total,
      valueFen: campaign.couponValueFen,
      expiresAtMs: campaign.couponExpiresAt,
      bodyHash,
      keepUntilMs: this.keepUntilMs,
    });
    return { argv, day };
  }

  /** The coupon, or undefined when it does not exist or belongs to someone else. */
  async readCoupon(code: string, shard: number, userId: string): Promise<LedgerCoupon | undefined> {
    assertRequestArgs({ code, userId });
    await this.assertSettings();
    const keys = shardKeys(this.campaignId, shard);
    const reply = await this.ctx.scripts.readCoupon(
      [keys.coupon(code), keys.ledger, keys.audit],
      toArgv(READ_ARGV, { ...guardArgs(this.ctx, shard, this.ctx.clock.now()), userId }),
    );
    const status = statusOf(this.ctx, shard, reply);
    if (status === LedgerCode.CouponNotFound) return undefined;
    if (status !== LedgerCode.Ok) throw new Error(`read script returned ${LedgerCode[status]}`);
    return ledgerCouponOf(this.calendar, code, afterView(reply));
  }

  /** The shard an order's reservation lives on: a hash of the orderId, as for a user. */
  orderShardOf(orderId: string): number {
    return shardOfUser(orderId, this.calendar.campaign.shards);
  }

  /**
   * Redeems the coupon for the order: the order is reserved for this code on the order's shard
   * first (at most couponsPerOrder codes per order, across shards), then the coupon is redeemed
   * on its own shard. A definite refusal frees this request's hold; a fault keeps it, so an order
   * whose redemption may have happened takes no other coupon (docs/money.md).
   */
  async redeem(request: RedeemRequest): Promise<RedeemResult> {
    assertRequestArgs({
      code: request.code,
      userId: request.userId,
      orderId: request.orderId,
      orderAmountFen: request.orderAmountFen,
    });
    await this.assertSettings();
    const { couponsPerOrder } = this.calendar.campaign;
    if (!(await this.reserveOrder(request.orderId, request.code)))
      return { kind: 'order_already_discounted', couponsPerOrder };
    const result = await this.redeemCoupon(request);
    if (result.kind !== 'redeemed')
      await this.releaseOrder(request.orderId, request.code, 'refused');
    else
      await this.replication?.confirm(
        shardKeys(this.campaignId, this.orderShardOf(request.orderId)).ledger,
      );
    return result;
  }

  /** True when the order now holds the code (now or before); false: it holds enough others. */
  private async reserveOrder(orderId: string, code: string): Promise<boolean> {
    const shard = this.orderShardOf(orderId);
    const keys = shardKeys(this.campaignId, shard);
    const reply = await this.ctx.scripts.reserveOrder(
      [keys.order(orderId), keys.ledger, keys.audit],
      toArgv(RESERVE_ORDER_ARGV, {
        ...guardArgs(this.ctx, shard, this.ctx.clock.now()),
        code,
        couponsPerOrder: this.calendar.campaign.couponsPerOrder,
        keepUntilMs: this.keepUntilMs,
      }),
    );
    const status = statusOf(this.ctx, shard, reply);
    if (status === LedgerCode.Ok || status === LedgerCode.NoChange) return true;
    if (status === LedgerCode.OrderAlreadyDiscounted) return false;
    throw new Error(`reserve order script returned ${LedgerCode[status]}`);
  }

  private async releaseOrder(
    orderId: string,
    code: string,
    why: 'refused' | 'reversed',
  ): Promise<void> {
    const shard = this.orderShardOf(orderId);
    const keys = shardKeys(this.campaignId, shard);
    const reply = await this.ctx.scripts.releaseOrder(
      [keys.order(orderId), keys.ledger, keys.audit],
      toArgv(RELEASE_ORDER_ARGV, {
        ...guardArgs(this.ctx, shard, this.ctx.clock.now()),
        code,
        why,
      }),
    );
    const status = statusOf(this.ctx, shard, reply);
    if (status !== LedgerCode.Ok && status !== LedgerCode.NoChange)
      throw new Error(`release order script returned ${LedgerCode[status]}`);
    if (why === 'reversed') await this.replication?.confirm(keys.ledger);
  }

  private async redeemCoupon(request: RedeemRequest): Promise<RedeemResult> {
    const keys = shardKeys(this.campaignId, request.shard);
    const { campaign } = this.calendar;
    const reply = await this.ctx.scripts.redeemCoupon(
      [keys.coupon(request.code), keys.ledger, keys.audit],
      toArgv(REDEEM_ARGV, {
        ...guardArgs(this.ctx, request.shard, this.ctx.clock.now()),
        userId: request.userId,
        orderId: request.orderId,
        orderAmountFen: request.orderAmountFen,
        minOrderFen: campaign.minOrderFen,
        valueFen: campaign.couponValueFen,
        expiresAtMs: campaign.couponExpiresAt,
      }),
    );
    const status = statusOf(this.ctx, request.shard, reply);
    if (status === LedgerCode.Ok || status === LedgerCode.Replayed)
      await this.replication?.confirm(keys.ledger);
    return redeemResultOf(this.calendar, request, status, afterView(reply));
  }

  /**
   * Reverses the order's redemption of the coupon, then frees the order's hold of the code: the
   * coupon's x:<orderId> mark keeps that order from redeeming it again, so no redemption still
   * in flight can land without a hold. A reversal of an order that never redeemed the coupon
   * frees nothing (a redemption of it may be in flight).
   */
  async reverse(request: ReverseRequest): Promise<ReverseResult> {
    assertRequestArgs({ code: request.code, userId: request.userId, orderId: request.orderId });
    await this.assertSettings();
    const keys = shardKeys(this.campaignId, request.shard);
    const reply: ScriptReply = await this.ctx.scripts.reverseRedemption(
      [keys.coupon(request.code), keys.ledger, keys.audit],
      toArgv(REVERSE_ARGV, {
        ...guardArgs(this.ctx, request.shard, this.ctx.clock.now()),
        userId: request.userId,
        orderId: request.orderId,
      }),
    );
    const status = statusOf(this.ctx, request.shard, reply);
    if (status === LedgerCode.Ok || status === LedgerCode.NoChange)
      await this.replication?.confirm(keys.ledger);
    let result: ReverseResult;
    switch (status) {
      case LedgerCode.Ok:
      case LedgerCode.NoChange:
        result = {
          kind: 'reversed',
          changed: status === LedgerCode.Ok,
          coupon: ledgerCouponOf(this.calendar, request.code, afterView(reply).slice(1)),
        };
        break;
      case LedgerCode.CouponNotFound:
        return { kind: 'not_found' };
      case LedgerCode.RedemptionNotFound:
        return { kind: 'redemption_not_found' };
      default:
        throw new Error(`reverse script returned ${LedgerCode[status]}`);
    }
    await this.releaseOrder(request.orderId, request.code, 'reversed');
    return result;
  }

  /** Creates missing shard ledgers, or writes off lost or rolled-back ones (ledgerInit.ts). */
  init(options: InitOptions = {}): Promise<InitReport> {
    return initLedger(this.ctx, options);
  }

  /** Moves unspent release from the richest shard into `target` (transfers.ts). */
  rebalanceInto(target: number): Promise<RebalanceResult> {
    return rebalanceInto(this.ctx, target, this.rebalanceMaxCoupons);
  }

  /** Finishes transfers left between their steps (a crash): given once, or written off. */
  completeTransfers(): Promise<TransferSweep> {
    return completeTransfers(this.ctx);
  }

  /** Released, issued and remaining per shard and in total; unknown figures are null. */
  snapshot(): Promise<BudgetSnapshot> {
    return budgetSnapshot(this.ctx);
  }
}
