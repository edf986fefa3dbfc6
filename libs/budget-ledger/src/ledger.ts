import type { Cluster, Redis } from 'ioredis';
import type { CampaignCalendar, Clock } from '@coupons/campaign';
import { randomBytes } from 'node:crypto';
import { generateCouponCode } from './couponCode';
import { campaignFingerprint, shareOf } from './fingerprint';
import { idempotencyScopeHash, shardKeys } from './keys';
import {
  codeOf,
  LedgerCode,
  LedgerFault,
  type CouponRecord,
  type IssueResult,
  type RedeemResult,
  type ReverseResult,
  type ScriptReply,
} from './results';
import { defaultRebalanceSizes, RebalanceTrigger } from './rebalance';
import { registerLedgerScripts, type LedgerScripts } from './scripts';
import { shardOfUser } from './shard';

export interface LedgerOptions {
  /** How long records outlive the coupon's expiry (idempotency replays, support look-ups). */
  keepAfterExpiryMs?: number;
  /** How far the caller's time may trail Redis TIME before the script asks for a fresh one. */
  maxClockLagMs?: number;
  /**
   * Tests only: the scripts take the injected clock's time as the time, unchecked against Redis
   * TIME, so boundaries can be tested at any instant. The service never sets it.
   */
  trustCallerClock?: boolean;
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

export type RebalanceResult =
  | { kind: 'moved'; transferId: string; source: number; target: number; coupons: number }
  | { kind: 'nothing_to_move' }
  | { kind: 'source_short' }
  | { kind: 'clock' };

interface ShardUnspent {
  shard: number;
  unspent: number;
  initialised: boolean;
}

export interface ClaimRequest {
  apiKeyId: string;
  userId: string;
  idempotencyKey: string;
  /** A digest of the claim body, so the same key with another body is told apart. */
  bodyHash: string;
}

export interface ShardBudget {
  shard: number;
  initialised: boolean;
  releasedCoupons: number;
  issuedCoupons: number;
  issuedTodayCoupons: number;
}

export interface BudgetSnapshot {
  campaignId: string;
  asOf: number;
  poolCoupons: number;
  releasedCoupons: number;
  issuedCoupons: number;
  today:
    | { day: string; trancheCoupons: number; releasedCoupons: number; issuedCoupons: number }
    | undefined;
  nextReleaseAt: number | undefined;
  shards: ShardBudget[];
  missingShards: number[];
}

export interface InitReport {
  created: number[];
  existing: number[];
  writtenOffCoupons: number;
}

/** Clock the ledger can correct when a script reports Redis time (see RedisTimeClock). */
export interface LedgerClock extends Clock {
  observe?(redisMs: number): void;
}

const DAY_MS = 86_400_000;

/** One campaign's budget in Redis: every money move goes through one Lua script call. */
export class BudgetLedger {
  readonly fingerprint: string;
  private readonly scripts: LedgerScripts;
  private readonly keepAfterExpiryMs: number;
  private readonly maxClockLagMs: number;
  private readonly trust: '0' | '1';
  private readonly trigger: RebalanceTrigger | undefined;
  readonly rebalanceMaxCoupons: number;

  constructor(
    private readonly redis: Redis | Cluster,
    readonly calendar: CampaignCalendar,
    private readonly clock: LedgerClock,
    options: LedgerOptions = {},
  ) {
    this.scripts = registerLedgerScripts(redis);
    this.fingerprint = campaignFingerprint(calendar.campaign);
    this.keepAfterExpiryMs = options.keepAfterExpiryMs ?? 30 * DAY_MS;
    this.maxClockLagMs = options.maxClockLagMs ?? 2000;
    this.trust = options.trustCallerClock === true ? '1' : '0';
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

  /** The shard's cap at t, and t's campaign day (spendableCapAt finds it anyway). */
  private shardCapAt(
    t: number,
    shard: number,
  ): { scope: 'campaign' | 'day'; coupons: number; day: string } {
    const cap = this.calendar.spendableCapAt(t);
    return {
      scope: cap.scope,
      coupons: shareOf(cap.releasedCoupons, this.calendar.campaign.shards, shard),
      day: cap.day ?? '-',
    };
  }

  private missing(shard: number): LedgerFault {
    return new LedgerFault(
      'ledger_missing',
      `campaign ${this.campaignId} shard ${shard}: ledger missing`,
    );
  }

  private clockFault(reply: ScriptReply): number {
    const redisNow = Number(reply[1]);
    this.clock.observe?.(redisNow);
    return redisNow;
  }

  async issue(request: ClaimRequest): Promise<IssueResult> {
    const { campaign } = this.calendar;
    const shard = this.shardOf(request.userId);
    const keys = shardKeys(campaign.id, shard);
    let at = this.clock.now();
    // At most one retry: with Redis's own time when ours was ahead or stale, and a new code on
    // the (2^-65) chance of a collision.
    for (let attempt = 0; ; attempt += 1) {
      const code = generateCouponCode(shard);
      const cap = this.shardCapAt(at, shard);
      const { day } = cap;
      const reply = await this.scripts.issueCoupon(
        [
          keys.ledger,
          keys.user(request.userId),
          keys.idempotency(
            idempotencyScopeHash(request.apiKeyId, request.userId, request.idempotencyKey),
          ),
          keys.coupon(code),
          keys.audit,
        ],
        [
          at,
          cap.coupons,
          cap.scope,
          day,
          campaign.perUser.daily,
          campaign.perUser.total,
          campaign.startsAt,
          // No claim after the coupons' expiry, which may fall inside the last day.
          Math.min(campaign.endsAt, campaign.couponExpiresAt),
          this.fingerprint,
          code,
          request.userId,
          campaign.couponValueFen,
          campaign.couponExpiresAt,
          request.bodyHash,
          campaign.couponExpiresAt + this.keepAfterExpiryMs,
          this.maxClockLagMs,
          this.trust,
        ],
      );
      const status = codeOf(reply);
      switch (status) {
        case LedgerCode.Ok:
          this.trigger?.afterClaim(shard, Number(reply[2]));
          return {
            kind: 'issued',
            replayed: false,
            coupon: {
              code,
              campaignId: campaign.id,
              userId: request.userId,
              valueFen: campaign.couponValueFen,
              issuedAt: Number(reply[1]),
              expiresAt: campaign.couponExpiresAt,
              trancheDay: day,
              status: 'issued',
            },
          };
        case LedgerCode.Replayed: {
          const coupon = await this.readCoupon(String(reply[1]), shard, request.userId);
          if (coupon === undefined)
            throw new Error('remembered claim points at a missing coupon record');
          return { kind: 'issued', replayed: true, coupon };
        }
        case LedgerCode.ClockAhead:
        case LedgerCode.ClockStale:
        case LedgerCode.CodeCollision:
          if (attempt > 0) {
            throw new LedgerFault(
              status === LedgerCode.CodeCollision ? 'code_collision' : 'clock',
              `issue refused twice (${LedgerCode[status]})`,
            );
          }
          if (status !== LedgerCode.CodeCollision) at = this.clockFault(reply);
          continue;
        case LedgerCode.LedgerMissing:
          throw this.missing(shard);
        case LedgerCode.ConfigMismatch:
          throw new LedgerFault(
            'config_mismatch',
            `campaign ${campaign.id} shard ${shard}: ledger was initialised for other money settings`,
          );
        case LedgerCode.NotStarted:
          return { kind: 'not_started', startsAt: campaign.startsAt };
        case LedgerCode.Ended:
          return { kind: 'ended' };
        case LedgerCode.TrancheExhausted: {
          this.trigger?.afterClaim(shard, 0);
          const next = this.calendar.nextReleaseAt(Number(reply[1]));
          return next === undefined
            ? { kind: 'budget_exhausted' }
            : { kind: 'tranche_exhausted', nextReleaseAt: next };
        }
        case LedgerCode.PoolExhausted:
          return { kind: 'budget_exhausted' };
        case LedgerCode.UserDailyLimit:
          return {
            kind: 'user_limit',
            scope: 'daily',
            retryAt: this.calendar.nextDayStartAt(Number(reply[1])),
          };
        case LedgerCode.UserTotalLimit:
          return { kind: 'user_limit', scope: 'total' };
        case LedgerCode.IdempotencyKeyReused:
          return { kind: 'idempotency_key_reused' };
        default:
          throw new Error(`issue script returned ${LedgerCode[status]}`);
      }
    }
  }

  /** The coupon, or undefined when it does not exist or belongs to someone else. */
  async readCoupon(code: string, shard: number, userId: string): Promise<CouponRecord | undefined> {
    const fields = await this.redis.hgetall(shardKeys(this.campaignId, shard).coupon(code));
    if (fields.userId !== userId) return undefined;
    return this.toRecord(fields);
  }

  private toRecord(fields: Record<string, string>): CouponRecord {
    const record: CouponRecord = {
      code: fields.code ?? '',
      campaignId: this.campaignId,
      userId: fields.userId ?? '',
      valueFen: Number(fields.valueFen),
      issuedAt: Number(fields.issuedAt),
      expiresAt: Number(fields.expiresAt),
      trancheDay: fields.trancheDay ?? '',
      status: fields.status === 'redeemed' ? 'redeemed' : 'issued',
    };
    if (record.status === 'redeemed' && fields.orderId !== undefined) {
      record.redemption = {
        orderId: fields.orderId,
        discountFen: Number(fields.discountFen),
        redeemedAt: Number(fields.redeemedAt),
      };
    }
    return record;
  }

  async redeem(request: {
    code: string;
    shard: number;
    userId: string;
    orderId: string;
    orderAmountFen: number;
  }): Promise<RedeemResult> {
    const keys = shardKeys(this.campaignId, request.shard);
    const reply = await this.scripts.redeemCoupon(
      [keys.coupon(request.code), keys.ledger, keys.audit],
      [
        request.userId,
        request.orderId,
        request.orderAmountFen,
        this.calendar.campaign.minOrderFen,
        this.clock.now(),
        this.trust,
      ],
    );
    const status = codeOf(reply);
    switch (status) {
      case LedgerCode.Ok:
      case LedgerCode.Replayed: {
        const coupon = await this.readCoupon(request.code, request.shard, request.userId);
        if (coupon === undefined) throw new Error('redeemed coupon record vanished');
        return {
          kind: 'redeemed',
          replayed: status === LedgerCode.Replayed,
          redemption: {
            code: request.code,
            orderId: request.orderId,
            discountFen: Number(reply[1]),
            redeemedAt: Number(reply[2]),
          },
          coupon,
        };
      }
      case LedgerCode.LedgerMissing:
        throw this.missing(request.shard);
      case LedgerCode.CouponNotFound:
        return { kind: 'not_found' };
      case LedgerCode.CouponExpired: {
        const coupon = await this.readCoupon(request.code, request.shard, request.userId);
        if (coupon === undefined) return { kind: 'not_found' };
        return { kind: 'expired', coupon };
      }
      case LedgerCode.AlreadyRedeemed:
        return { kind: 'already_redeemed' };
      case LedgerCode.BelowMinimum:
        return { kind: 'below_minimum', minOrderFen: this.calendar.campaign.minOrderFen };
      default:
        throw new Error(`redeem script returned ${LedgerCode[status]}`);
    }
  }

  async reverse(request: {
    code: string;
    shard: number;
    userId: string;
    orderId: string;
  }): Promise<ReverseResult> {
    const keys = shardKeys(this.campaignId, request.shard);
    const reply = await this.scripts.reverseRedemption(
      [keys.coupon(request.code), keys.ledger, keys.audit],
      [request.userId, request.orderId, this.clock.now(), this.trust],
    );
    const status = codeOf(reply);
    switch (status) {
      case LedgerCode.Ok:
      case LedgerCode.NoChange: {
        const coupon = await this.readCoupon(request.code, request.shard, request.userId);
        if (coupon === undefined) throw new Error('reversed coupon record vanished');
        return { kind: 'reversed', coupon, changed: status === LedgerCode.Ok };
      }
      case LedgerCode.LedgerMissing:
        throw this.missing(request.shard);
      case LedgerCode.CouponNotFound:
        return { kind: 'not_found' };
      case LedgerCode.RedemptionNotFound:
        return { kind: 'redemption_not_found' };
      default:
        throw new Error(`reverse script returned ${LedgerCode[status]}`);
    }
  }

  /**
   * Creates every missing shard ledger. Before the campaign starts, at zero. Once it has started:
   * - `afterLoss`, for a ledger that was lost: everything released so far counts as issued (it
   *   may have been given away), so only later releases are issued again. Never over-issues.
   * - `neverIssued`, for a Redis that never held this campaign (development, a rehearsal): from
   *   zero, refused when any shard exists, since then a loss is what happened.
   */
  async init(options: { afterLoss?: boolean; neverIssued?: boolean } = {}): Promise<InitReport> {
    const { campaign } = this.calendar;
    const now = this.clock.now();
    const started = now >= campaign.startsAt;
    if (options.afterLoss === true && options.neverIssued === true)
      throw new RangeError('init: afterLoss and neverIssued exclude each other');
    if (options.neverIssued === true) {
      const missing = (await this.snapshot()).missingShards;
      if (missing.length !== campaign.shards) {
        throw new LedgerFault(
          'ledger_missing',
          `campaign ${campaign.id}: ${campaign.shards - missing.length} of ${campaign.shards} shards have a ledger; a fresh start would hide a loss`,
        );
      }
    } else if (started && options.afterLoss !== true) {
      const missing = (await this.snapshot()).missingShards;
      if (missing.length > 0) {
        throw new LedgerFault(
          'ledger_missing',
          `campaign ${campaign.id} has started and shards ${missing.join(',')} have no ledger: budget may already have been given away. Restore Redis from its backup, or re-initialise with afterLoss (counts every coupon released so far as issued).`,
        );
      }
    }
    const cap = this.calendar.spendableCapAt(now);
    const today = this.calendar.dayAt(now)?.day ?? '-';
    const releasedTotal = started ? this.calendar.releasedCouponsAt(now) : 0;
    const releasedToday = started ? this.calendar.releasedOnDayAt(today, now) : 0;
    const report: InitReport = { created: [], existing: [], writtenOffCoupons: 0 };
    for (let shard = 0; shard < campaign.shards; shard += 1) {
      const keys = shardKeys(campaign.id, shard);
      const writtenOff =
        options.afterLoss === true ? shareOf(releasedTotal, campaign.shards, shard) : 0;
      const dayWrittenOff =
        options.afterLoss === true && cap.scope === 'day'
          ? shareOf(releasedToday, campaign.shards, shard)
          : 0;
      const reply = await this.scripts.initLedger(
        [keys.ledger, keys.audit],
        [
          this.fingerprint,
          shareOf(this.calendar.poolCoupons, campaign.shards, shard),
          writtenOff,
          campaign.id,
          shard,
          today,
          dayWrittenOff,
        ],
      );
      if (codeOf(reply) === LedgerCode.Ok) {
        report.created.push(shard);
        report.writtenOffCoupons += writtenOff;
      } else {
        report.existing.push(shard);
      }
    }
    return report;
  }

  /** What each shard may still issue at `at`, in the scope its cap counts in. */
  private async unspentByShard(at: number): Promise<ShardUnspent[]> {
    const { campaign } = this.calendar;
    const cap = this.calendar.spendableCapAt(at);
    const day = cap.day ?? '-';
    const [adjField, spentField] =
      cap.scope === 'day' ? [`adj:${day}`, `day:${day}`] : ['adj', 'issued'];
    const rows = await Promise.all(
      Array.from({ length: campaign.shards }, (_, shard) =>
        this.redis.hmget(shardKeys(campaign.id, shard).ledger, 'fingerprint', adjField, spentField),
      ),
    );
    return rows.map(([fingerprint, adj, spent], shard) => ({
      shard,
      initialised: fingerprint !== null,
      unspent:
        shareOf(cap.releasedCoupons, campaign.shards, shard) +
        Number(adj ?? 0) -
        Number(spent ?? 0),
    }));
  }

  /**
   * Moves up to rebalanceMaxCoupons of unspent release from the richest shard into `target`,
   * half the gap between them at most, so budget never bounces back. The source is debited
   * first (takeRelease-2.lua checks it has the budget), then the target credited: a crash in
   * between under-spends until completeTransfers() runs; nothing can over-spend.
   */
  async rebalanceInto(target: number): Promise<RebalanceResult> {
    const { campaign } = this.calendar;
    const at = this.clock.now();
    const shards = await this.unspentByShard(at);
    const poor = shards[target];
    const rich = shards
      .filter((s) => s.shard !== target && s.initialised)
      .reduce<ShardUnspent | undefined>(
        (best, s) => (best === undefined || s.unspent > best.unspent ? s : best),
        undefined,
      );
    if (poor === undefined || !poor.initialised || rich === undefined)
      return { kind: 'nothing_to_move' };
    const coupons = Math.min(
      this.rebalanceMaxCoupons,
      Math.floor((rich.unspent - poor.unspent) / 2),
    );
    if (coupons < 1) return { kind: 'nothing_to_move' };

    const cap = this.calendar.spendableCapAt(at);
    const day = cap.day ?? '-';
    const field = cap.scope === 'day' ? `adj:${day}` : 'adj';
    const transferId = randomBytes(8).toString('hex');
    const source = shardKeys(campaign.id, rich.shard);
    const taken = await this.scripts.takeRelease(
      [source.ledger, source.audit],
      [
        transferId,
        coupons,
        shareOf(cap.releasedCoupons, campaign.shards, rich.shard),
        cap.scope,
        day,
        target,
        at,
        this.trust,
      ],
    );
    switch (codeOf(taken)) {
      case LedgerCode.Ok:
        break;
      case LedgerCode.InsufficientRelease:
        return { kind: 'source_short' };
      case LedgerCode.ClockAhead:
        this.clockFault(taken);
        return { kind: 'clock' };
      case LedgerCode.LedgerMissing:
        throw this.missing(rich.shard);
      default:
        throw new Error(`take script returned ${LedgerCode[codeOf(taken)]}`);
    }
    await this.give(target, transferId, coupons, field, rich.shard);
    return { kind: 'moved', transferId, source: rich.shard, target, coupons };
  }

  private async give(
    target: number,
    transferId: string,
    coupons: number,
    field: string,
    source: number,
  ): Promise<boolean> {
    const keys = shardKeys(this.campaignId, target);
    const reply = await this.scripts.giveRelease(
      [keys.ledger, keys.audit],
      [transferId, coupons, field, source],
    );
    const status = codeOf(reply);
    if (status === LedgerCode.LedgerMissing) throw this.missing(target);
    return status === LedgerCode.Ok;
  }

  /** Finishes every transfer taken from a source but never given (a crash between the steps). */
  async completeTransfers(): Promise<number> {
    const { campaign } = this.calendar;
    let completed = 0;
    for (let shard = 0; shard < campaign.shards; shard += 1) {
      const ledger = await this.redis.hgetall(shardKeys(campaign.id, shard).ledger);
      for (const [field, value] of Object.entries(ledger)) {
        if (!field.startsWith('xout:')) continue;
        const [target, coupons, scopeField] = value.split(':', 3);
        const adjField = value.slice(`${target}:${coupons}:`.length) || scopeField || 'adj';
        if (await this.give(Number(target), field.slice(5), Number(coupons), adjField, shard))
          completed += 1;
      }
    }
    return completed;
  }

  /** Released, issued and remaining per shard and in total, at the ledger clock's time. */
  async snapshot(): Promise<BudgetSnapshot> {
    const { campaign } = this.calendar;
    const now = this.clock.now();
    const today = this.calendar.dayAt(now);
    const released = this.calendar.releasedCouponsAt(now);
    const dayField = `day:${today?.day ?? '-'}`;
    const rows = await Promise.all(
      Array.from({ length: campaign.shards }, (_, shard) =>
        this.redis.hmget(
          shardKeys(campaign.id, shard).ledger,
          'fingerprint',
          'issued',
          dayField,
          'adj',
        ),
      ),
    );
    const shards = rows.map(([fingerprint, issued, issuedToday, adj], shard): ShardBudget => ({
      shard,
      initialised: fingerprint !== null,
      releasedCoupons: shareOf(released, campaign.shards, shard) + Number(adj ?? 0),
      issuedCoupons: Number(issued ?? 0),
      issuedTodayCoupons: Number(issuedToday ?? 0),
    }));
    return {
      campaignId: campaign.id,
      asOf: now,
      poolCoupons: this.calendar.poolCoupons,
      releasedCoupons: released,
      issuedCoupons: shards.reduce((sum, s) => sum + s.issuedCoupons, 0),
      today:
        today === undefined
          ? undefined
          : {
              day: today.day,
              trancheCoupons: today.trancheCoupons,
              releasedCoupons: this.calendar.releasedOnDayAt(today.day, now),
              issuedCoupons: shards.reduce((sum, s) => sum + s.issuedTodayCoupons, 0),
            },
      nextReleaseAt: this.calendar.nextReleaseAt(now),
      shards,
      missingShards: shards.filter((s) => !s.initialised).map((s) => s.shard),
    };
  }
}
