import type { RequestHandler } from 'express';
import { writeRejection } from '@coupons/admission';
import {
  idempotencyScopeHash,
  type BudgetLedger,
  type IssueResult,
  type RedeemResult,
  type ReverseResult,
} from '@coupons/budget-ledger';
import { toZonedIso, type CampaignCalendar, type Clock } from '@coupons/campaign';
import type { ServiceAdmission } from '../../admission';
import type { CampaignCatalog } from '../../campaignCatalog';
import type { LedgerRegistry } from '../../ledgers';
import { campaignFromPath } from '../campaignParam';
import { ApiError } from '../errors';
import { callContext, type LedgerGateway } from '../ledgerGateway';
import { contextOf, principalOf } from '../requestContext';
import { retryAfterSeconds, type RetrySpread } from '../retryAfter';
import {
  claimBodyHash,
  claimBodySchema,
  couponCodeSchema,
  idempotencyKeySchema,
  orderIdSchema,
  redemptionBodySchema,
  userIdSchema,
  validate,
  type CouponCodeInput,
} from '../schemas';
import { couponView, redemptionView } from '../views';

export interface CouponRouteDeps {
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  gateway: LedgerGateway;
  clock: Clock;
  admission: ServiceAdmission;
}

const USER_ID_HEADER = 'X-User-Id';

type Refused<R extends { kind: string }, OK extends string> = Exclude<R, { kind: OK }>;

/** A claim the ledger refused, as the contract words it (statuses, Retry-After, nextReleaseAt). */
export function claimRefusal(
  result: Refused<IssueResult, 'issued'>,
  calendar: CampaignCalendar,
  now: number,
  spread: RetrySpread,
): ApiError {
  const { campaign } = calendar;
  const iso = (ms: number) => toZonedIso(ms, campaign.timeZone);
  switch (result.kind) {
    case 'not_started':
      return new ApiError(
        'CAMPAIGN_NOT_STARTED',
        `campaign ${campaign.id} starts at ${iso(result.startsAt)}`,
        {
          retryAfterSeconds: retryAfterSeconds(result.startsAt, now, spread),
          startsAt: iso(result.startsAt),
        },
      );
    case 'ended':
      return new ApiError(
        'CAMPAIGN_ENDED',
        `campaign ${campaign.id} ended at ${iso(campaign.endsAt)}`,
      );
    case 'tranche_exhausted':
      return new ApiError(
        'TRANCHE_EXHAUSTED',
        `the budget released so far is gone; more is released at ${iso(result.nextReleaseAt)}`,
        {
          retryAfterSeconds: retryAfterSeconds(result.nextReleaseAt, now, spread),
          nextReleaseAt: iso(result.nextReleaseAt),
        },
      );
    case 'budget_exhausted':
      return new ApiError(
        'CAMPAIGN_BUDGET_EXHAUSTED',
        `the budget of campaign ${campaign.id} is gone and nothing more will be released`,
      );
    case 'user_limit':
      if (result.scope === 'total')
        return new ApiError(
          'USER_LIMIT_REACHED',
          `this user has the campaign's limit of ${campaign.perUser.total} coupons`,
          { limit: 'total' },
        );
      return result.retryAt === undefined
        ? new ApiError(
            'USER_LIMIT_REACHED',
            `this user has the daily limit of ${campaign.perUser.daily} coupons, on the campaign's last day`,
            { limit: 'daily' },
          )
        : new ApiError(
            'USER_LIMIT_REACHED',
            `this user has the daily limit of ${campaign.perUser.daily} coupons; a new day starts at ${iso(result.retryAt)}`,
            {
              limit: 'daily',
              retryAfterSeconds: retryAfterSeconds(result.retryAt, now, spread),
              retryAt: iso(result.retryAt),
            },
          );
    case 'idempotency_key_reused':
      return new ApiError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used by this user for a claim with another body',
      );
  }
}

const couponNotFound = () =>
  new ApiError('COUPON_NOT_FOUND', 'no such coupon for this user in this campaign');

export function redemptionRefusal(
  result: Refused<RedeemResult, 'redeemed'>,
  calendar: CampaignCalendar,
): ApiError {
  const zone = calendar.campaign.timeZone;
  switch (result.kind) {
    case 'not_found':
      return couponNotFound();
    case 'expired':
      return new ApiError(
        'COUPON_EXPIRED',
        `the coupon expired at ${toZonedIso(result.coupon.expiresAt, zone)}`,
        { expiresAt: toZonedIso(result.coupon.expiresAt, zone) },
      );
    case 'already_redeemed':
      return new ApiError('COUPON_ALREADY_REDEEMED', 'the coupon was redeemed by another order');
    case 'below_minimum':
      return new ApiError(
        'ORDER_BELOW_MINIMUM',
        `the coupon applies to orders of at least ${result.minOrderFen} fen`,
        { minOrderFen: result.minOrderFen },
      );
    case 'order_reversed':
      return new ApiError(
        'ORDER_REVERSED',
        `this order's redemption of the coupon was reversed at ${toZonedIso(result.reversedAt, zone)}; a cancelled order cannot redeem it again`,
        { reversedAt: toZonedIso(result.reversedAt, zone) },
      );
  }
}

export function reversalRefusal(
  result: Refused<ReverseResult, 'reversed'>,
  orderId: string,
): ApiError {
  return result.kind === 'not_found'
    ? couponNotFound()
    : new ApiError('COUPON_NOT_FOUND', `this coupon has no redemption by order ${orderId}`);
}

/**
 * A code that passed the schema: a typo (wrong check character) or a shard this campaign does
 * not have cannot exist, so both are 404 without a Redis call.
 */
function couponTarget(
  input: CouponCodeInput,
  calendar: CampaignCalendar,
): { code: string; shard: number } {
  if (input.kind === 'typo' || input.shard >= calendar.campaign.shards) throw couponNotFound();
  return input;
}

type CouponRoute = 'claim' | 'readCoupon' | 'redeem' | 'reverse';

/** The coupon routes' handlers, by route name (mounted from the route table in app.ts). */
export function couponHandlers(deps: CouponRouteDeps): Record<CouponRoute, RequestHandler> {
  const ledgerOf = (calendar: CampaignCalendar): BudgetLedger => {
    const ledger = deps.ledgers.get(calendar.campaign.id);
    if (ledger === undefined) throw new Error(`no ledger for campaign ${calendar.campaign.id}`);
    return ledger;
  };
  const spread: RetrySpread = {
    spreadSeconds: deps.admission.soldOutSpreadSeconds,
    random: deps.admission.random,
  };

  const claim: RequestHandler = async (req, res) => {
    const context = contextOf(res);
    const calendar = campaignFromPath(deps.catalog, context.params.campaignId);
    const input = validate({
      body: [claimBodySchema, req.body],
      'Idempotency-Key': [idempotencyKeySchema, req.get('Idempotency-Key')],
    });
    const { userId } = input.body;
    // Admission charged the header's user; a different body would charge someone else's limit.
    if (context.userIdHeader !== undefined && context.userIdHeader !== userId)
      throw new ApiError('INVALID_REQUEST', `${USER_ID_HEADER} must equal the body's userId`, {
        details: [{ field: USER_ID_HEADER, problem: "differs from the body's userId" }],
      });
    const admitted = context.admission;
    const gate = deps.admission.gate;
    if (admitted !== undefined && admitted.userId === undefined && gate !== undefined) {
      // No X-User-Id: the per-user limit and the sold-out fast path apply now, from the body.
      const decision = await gate.admitUser(admitted, userId, req.headers);
      if (!decision.admitted) {
        writeRejection(res, decision);
        return;
      }
    }
    const ledger = ledgerOf(calendar);
    const apiKeyId = principalOf(res).keyId;
    const shard = ledger.shardOf(userId);
    const idempotencyKey = input['Idempotency-Key'];
    const result = await deps.gateway.issue(
      ledger,
      { apiKeyId, userId, idempotencyKey, bodyHash: claimBodyHash(input.body) },
      shard,
      callContext(req, res),
    );
    const now = deps.clock.now();
    deps.admission.learnFromClaim(
      {
        campaignId: calendar.campaign.id,
        timeZone: calendar.campaign.timeZone,
        shard,
        scopeHash: idempotencyScopeHash(apiKeyId, userId, idempotencyKey),
      },
      result,
      now,
    );
    if (result.kind !== 'issued') throw claimRefusal(result, calendar, now, spread);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(201).json({ coupon: couponView(result.coupon, calendar, now) });
  };

  const readCoupon: RequestHandler = async (req, res) => {
    const { params } = contextOf(res);
    const calendar = campaignFromPath(deps.catalog, params.campaignId);
    const input = validate({
      code: [couponCodeSchema, params.code],
      userId: [userIdSchema, req.query.userId],
    });
    const { code, shard } = couponTarget(input.code, calendar);
    const record = await deps.gateway.read(
      ledgerOf(calendar),
      code,
      shard,
      input.userId,
      callContext(req, res),
    );
    if (record === undefined) throw couponNotFound();
    res.json({ coupon: couponView(record, calendar, deps.clock.now()) });
  };

  const redeem: RequestHandler = async (req, res) => {
    const { params } = contextOf(res);
    const calendar = campaignFromPath(deps.catalog, params.campaignId);
    const input = validate({
      code: [couponCodeSchema, params.code],
      body: [redemptionBodySchema, req.body],
    });
    const { code, shard } = couponTarget(input.code, calendar);
    const result = await deps.gateway.redeem(
      ledgerOf(calendar),
      { code, shard, ...input.body },
      callContext(req, res),
    );
    if (result.kind !== 'redeemed') throw redemptionRefusal(result, calendar);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(201).json({
      redemption: redemptionView(result.redemption, calendar),
      coupon: couponView(result.coupon, calendar, deps.clock.now()),
    });
  };

  const reverse: RequestHandler = async (req, res) => {
    const { params } = contextOf(res);
    const calendar = campaignFromPath(deps.catalog, params.campaignId);
    const input = validate({
      code: [couponCodeSchema, params.code],
      orderId: [orderIdSchema, params.orderId],
      userId: [userIdSchema, req.query.userId],
    });
    const { code, shard } = couponTarget(input.code, calendar);
    const result = await deps.gateway.reverse(
      ledgerOf(calendar),
      { code, shard, userId: input.userId, orderId: input.orderId },
      callContext(req, res),
    );
    if (result.kind !== 'reversed') throw reversalRefusal(result, input.orderId);
    if (!result.changed) res.setHeader('Idempotent-Replayed', 'true');
    res.json({ coupon: couponView(result.coupon, calendar, deps.clock.now()) });
  };

  return { claim, readCoupon, redeem, reverse };
}
