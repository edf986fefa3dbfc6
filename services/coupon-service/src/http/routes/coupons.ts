import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import type { BudgetLedger } from '@coupons/budget-ledger';
import type { CampaignCalendar, Clock } from '@coupons/campaign';
import { type CampaignCatalog, campaignFromPath } from '../../campaignCatalog';
import type { LedgerRegistry, LedgerGateway } from '../../ledger/ledgerGateway';
import { ApiError } from '../../answers/errors';
import { callContext, type Served } from '../requestLog';
import { IDEMPOTENCY_KEY, contextOf } from '../../frontDoor/frontDoor';
import {
  claimRefusal,
  couponNotFound,
  redemptionRefusal,
  reversalRefusal,
} from '../../answers/refusals';
import {
  claimBodySchema,
  HEADERS,
  idempotencyKeySchema,
  orderIdSchema,
  redemptionBodySchema,
  userIdSchema,
} from '@coupons/contract';
import {
  claimBodyHash,
  couponCodeSchema,
  validate,
  type Checks,
  type CouponCodeInput,
  couponView,
  redemptionView,
  sendJson,
} from '../wire';
import type { RetryPolicy } from '../../answers/retryPolicy';

export interface CouponRouteDeps {
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  gateway: LedgerGateway;
  clock: Clock;
  retry: RetryPolicy;
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

/**
 * The claim's handler: node's request and response, nothing of express's, so that the front door
 * can serve it directly (app.ts); express mounts it as it is.
 */
export type ClaimHandler = (
  req: IncomingMessage & { body?: unknown },
  res: Served,
) => Promise<void>;

/** The coupon routes' handlers, by route name (mounted from the route table in app.ts). */
// Long: a table of four small route handlers sharing their dependencies, one per route.
export function couponHandlers(deps: CouponRouteDeps): {
  claim: ClaimHandler;
  readCoupon: RequestHandler;
  redeem: RequestHandler;
  reverse: RequestHandler;
} {
  const ledgerOf = (calendar: CampaignCalendar): BudgetLedger => {
    const ledger = deps.ledgers.get(calendar.campaign.id);
    if (ledger === undefined) throw new Error(`no ledger for campaign ${calendar.campaign.id}`);
    return ledger;
  };

  /**
   * What the routes on one coupon begin with: the campaign in the path (404 before anything
   * else), the code with the route's other inputs (one 400 naming every bad one), and the coupon
   * the code names (404 for one that cannot exist).
   */
  const couponRequest = <C extends Checks>(
    res: Response,
    checks: (params: Readonly<Record<string, string>>) => C,
  ) => {
    const { params } = contextOf(res);
    const calendar = campaignFromPath(deps.catalog, params.campaignId);
    const input = validate({ code: [couponCodeSchema, params.code], ...checks(params) });
    return { calendar, input, ...couponTarget(input.code, calendar) };
  };

  const claim: ClaimHandler = async (req, res) => {
    const context = contextOf(res);
    const calendar = campaignFromPath(deps.catalog, context.params.campaignId);
    const input = validate({
      body: [claimBodySchema, req.body],
      [HEADERS.idempotencyKey]: [idempotencyKeySchema, req.headers[IDEMPOTENCY_KEY]],
    });
    const { userId } = input.body;
    // Admission charged the header's user; a different body would charge someone else's limit.
    if (context.userIdHeader !== undefined && context.userIdHeader !== userId)
      throw new ApiError('INVALID_REQUEST', `${HEADERS.userId} must equal the body's userId`, {
        details: [{ field: HEADERS.userId, problem: "differs from the body's userId" }],
      });
    // The front door computed the user's shard and idempotency scope from the same header and
    // body (claimIdentity in frontDoor.ts); a body the schema refuses never gets here.
    const { claim: identity } = context;
    if (identity === undefined || identity.userId !== userId)
      throw new Error('a valid claim reached the route without its identity');
    const result = await deps.gateway.issue(
      ledgerOf(calendar),
      {
        userId,
        idempotencyKey: input[HEADERS.idempotencyKey],
        bodyHash: claimBodyHash(input.body),
        ...(identity.scopeHash === undefined ? {} : { scopeHash: identity.scopeHash }),
      },
      identity.shard,
      callContext(req, res),
    );
    const now = deps.clock.now();
    // Handed back: the front door gives it to admission (sold out, served) once the answer is done.
    context.learned = { result, campaignId: calendar.campaign.id, now };
    if (result.kind !== 'issued') throw claimRefusal(result, calendar, now, deps.retry);
    if (result.replayed) res.setHeader(HEADERS.idempotentReplayed, 'true');
    sendJson(res, 201, JSON.stringify({ coupon: couponView(result.coupon, calendar, now) }));
  };

  const readCoupon: RequestHandler = async (req, res) => {
    const { calendar, input, code, shard } = couponRequest(res, () => ({
      userId: [userIdSchema, req.query.userId],
    }));
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
    const { calendar, input, code, shard } = couponRequest(res, () => ({
      body: [redemptionBodySchema, req.body],
    }));
    const result = await deps.gateway.redeem(
      ledgerOf(calendar),
      { code, shard, ...input.body },
      callContext(req, res),
    );
    if (result.kind !== 'redeemed') throw redemptionRefusal(result, calendar);
    if (result.replayed) res.setHeader(HEADERS.idempotentReplayed, 'true');
    res.status(201).json({
      redemption: redemptionView(result.redemption, calendar),
      coupon: couponView(result.coupon, calendar, deps.clock.now()),
    });
  };

  const reverse: RequestHandler = async (req, res) => {
    const { calendar, input, code, shard } = couponRequest(res, (params) => ({
      orderId: [orderIdSchema, params.orderId],
      userId: [userIdSchema, req.query.userId],
    }));
    const result = await deps.gateway.reverse(
      ledgerOf(calendar),
      { code, shard, userId: input.userId, orderId: input.orderId },
      callContext(req, res),
    );
    if (result.kind !== 'reversed') throw reversalRefusal(result, input.orderId);
    if (!result.changed) res.setHeader(HEADERS.idempotentReplayed, 'true');
    res.json({ coupon: couponView(result.coupon, calendar, deps.clock.now()) });
  };

  return { claim, readCoupon, redeem, reverse };
}
