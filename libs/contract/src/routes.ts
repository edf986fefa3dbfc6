import { z } from 'zod';
import type { ErrorCode } from './errors';
import { HEADERS, REQUEST_TIMEOUT_MS } from './headers';
import {
  campaignIdParam,
  claimBodySchema,
  couponCodeParam,
  idempotencyKeySchema,
  orderIdSchema,
  redemptionBodySchema,
  userIdSchema,
} from './inputs';
import {
  budgetSchema,
  campaignBodySchema,
  couponBodySchema,
  healthSchema,
  readinessSchema,
  redemptionAnswerSchema,
} from './outputs';

/** What an API key may do; a route needs one scope (or none: the probes and this document). */
export const API_SCOPES = [
  'coupons:issue',
  'coupons:read',
  'coupons:redeem',
  'budget:read',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export type RouteName =
  | 'health'
  | 'ready'
  | 'openapi'
  | 'campaign'
  | 'budget'
  | 'claim'
  | 'readCoupon'
  | 'redeem'
  | 'reverse';

export interface ContractRoute {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path as express writes it (`:param`); the OpenAPI document writes `{param}`. */
  readonly path: string;
  readonly summary: string;
  readonly description: string;
  /** `public`: no key; otherwise the scope the API key needs. */
  readonly access: 'public' | ApiScope;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** Request headers besides Authorization (X-Request-Timeout-Ms is on every keyed route). */
  readonly headers?: z.ZodObject;
  /** A JSON body: only these routes read one. */
  readonly body?: z.ZodType;
  readonly success: {
    readonly status: 200 | 201;
    readonly description: string;
    readonly schema: z.ZodType;
    /** Answers `Idempotent-Replayed: true` when it repeats an earlier success. */
    readonly replays?: boolean;
  };
  /** The error codes this route answers (besides NOT_FOUND and METHOD_NOT_ALLOWED of the router). */
  readonly errors: readonly ErrorCode[];
}

const campaignParams = z.object({ campaignId: campaignIdParam });
const couponParams = campaignParams.extend({ code: couponCodeParam });
const ownerQuery = z.object({
  userId: userIdSchema.meta({ description: 'the owner of the coupon: anyone else gets 404' }),
});

/** Every route with a key answers these, whatever it does. */
const KEYED_ERRORS = [
  'INVALID_REQUEST',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'HEADERS_TOO_LARGE',
  'RATE_LIMITED',
  'OVERLOADED',
  'UNAVAILABLE',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];
const BODY_ERRORS = [
  'REQUEST_TIMEOUT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const satisfies readonly ErrorCode[];

const timeoutHeader = z
  .string()
  .regex(/^\d{1,9}$/)
  .optional()
  .meta({
    description: `how long the caller waits, in ms (default ${REQUEST_TIMEOUT_MS.default}, capped at ${REQUEST_TIMEOUT_MS.max}): work that cannot finish in time is refused (503 OVERLOADED) or dropped. A retrying caller sends the time left, not the original`,
    example: '1500',
  });
const keyedHeaders = z.object({ [HEADERS.requestTimeoutMs]: timeoutHeader });

/** What the reads of a campaign (its schedule, its budget) share: a GET with the read scope. */
const campaignRead = {
  method: 'GET',
  access: 'budget:read',
  params: campaignParams,
  headers: keyedHeaders,
  errors: [...KEYED_ERRORS, 'CAMPAIGN_NOT_FOUND'],
} as const satisfies Partial<ContractRoute>;

/** Every route the service serves, in one place: the service, the client and the docs read it. */
export const CONTRACT_ROUTES: readonly ContractRoute[] = Object.freeze([
  {
    name: 'claim',
    method: 'POST',
    path: '/v1/campaigns/:campaignId/coupons',
    summary: 'Claim a coupon for a user',
    description:
      "Issues one coupon from the budget released so far, within the user's daily and total limits. The Idempotency-Key makes a retry safe: the same key with the same body answers the same coupon (Idempotent-Replayed: true), never a second one.",
    access: 'coupons:issue',
    params: campaignParams,
    headers: keyedHeaders.extend({
      [HEADERS.idempotencyKey]: idempotencyKeySchema,
      [HEADERS.userId]: userIdSchema.optional().meta({
        description:
          "the body's userId, so admission sees the user without reading the body (per-user limit, sold-out answers); must equal the body's",
        example: 'wx-7f3a9c',
      }),
    }),
    body: claimBodySchema,
    success: {
      status: 201,
      description: 'the coupon (issued now, or the one this Idempotency-Key got before)',
      schema: couponBodySchema,
      replays: true,
    },
    errors: [
      ...KEYED_ERRORS,
      ...BODY_ERRORS,
      'CAMPAIGN_NOT_FOUND',
      'CAMPAIGN_NOT_STARTED',
      'TRANCHE_EXHAUSTED',
      'USER_LIMIT_REACHED',
      'CAMPAIGN_ENDED',
      'CAMPAIGN_BUDGET_EXHAUSTED',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  },
  {
    name: 'readCoupon',
    method: 'GET',
    path: '/v1/campaigns/:campaignId/coupons/:code',
    summary: "Read a user's coupon",
    description: 'The coupon with its status (issued, redeemed, expired), to its owner only.',
    access: 'coupons:read',
    params: couponParams,
    query: ownerQuery,
    headers: keyedHeaders,
    success: { status: 200, description: 'the coupon', schema: couponBodySchema },
    errors: [...KEYED_ERRORS, 'CAMPAIGN_NOT_FOUND', 'COUPON_NOT_FOUND'],
  },
  {
    name: 'redeem',
    method: 'POST',
    path: '/v1/campaigns/:campaignId/coupons/:code/redemptions',
    summary: 'Redeem a coupon against an order',
    description:
      "Spends the coupon on an order of at least the campaign minimum; the discount is the coupon value, at most the order amount. Once per orderId: the same order again answers the same redemption (Idempotent-Replayed: true). An order carries at most the campaign's couponsPerOrder coupons (default 1), whichever users and shards they come from: another is ORDER_ALREADY_DISCOUNTED until one is reversed.",
    access: 'coupons:redeem',
    params: couponParams,
    headers: keyedHeaders,
    body: redemptionBodySchema,
    success: {
      status: 201,
      description: 'the redemption and the coupon, now redeemed',
      schema: redemptionAnswerSchema,
      replays: true,
    },
    errors: [
      ...KEYED_ERRORS,
      ...BODY_ERRORS,
      'CAMPAIGN_NOT_FOUND',
      'COUPON_NOT_FOUND',
      'COUPON_EXPIRED',
      'COUPON_ALREADY_REDEEMED',
      'ORDER_REVERSED',
      'ORDER_ALREADY_DISCOUNTED',
      'ORDER_BELOW_MINIMUM',
    ],
  },
  {
    name: 'reverse',
    method: 'DELETE',
    path: '/v1/campaigns/:campaignId/coupons/:code/redemptions/:orderId',
    summary: "Reverse an order's redemption (the order was cancelled)",
    description:
      'The coupon is usable again until it expires; the order can never redeem again (ORDER_REVERSED). Repeating it answers the same (Idempotent-Replayed: true).',
    access: 'coupons:redeem',
    params: couponParams.extend({ orderId: orderIdSchema }),
    query: ownerQuery,
    headers: keyedHeaders,
    success: {
      status: 200,
      description: 'the coupon, issued again',
      schema: couponBodySchema,
      replays: true,
    },
    errors: [...KEYED_ERRORS, 'CAMPAIGN_NOT_FOUND', 'COUPON_NOT_FOUND'],
  },
  {
    ...campaignRead,
    name: 'campaign',
    path: '/v1/campaigns/:campaignId',
    summary: 'A campaign: window, value, limits and release schedule',
    description:
      "Computed from the campaigns file and the clock, without Redis: today's tranche, what is released so far and when the next slice comes.",
    success: { status: 200, description: 'the campaign', schema: campaignBodySchema },
  },
  {
    ...campaignRead,
    name: 'budget',
    path: '/v1/campaigns/:campaignId/budget',
    summary: "A campaign's budget: released, issued and remaining, per shard",
    description:
      'Read from the ledger. A shard that is lost or rolled back has no known figures (null, listed in unknownShards), never zero.',
    success: { status: 200, description: 'the budget in fen', schema: budgetSchema },
  },
  {
    name: 'health',
    method: 'GET',
    path: '/healthz',
    summary: 'Liveness',
    description: 'Answers while the process runs; never shed.',
    access: 'public',
    success: { status: 200, description: 'alive', schema: healthSchema },
    errors: [],
  },
  {
    name: 'ready',
    method: 'GET',
    path: '/readyz',
    summary: 'Readiness',
    description:
      'Ready when Redis answers, the campaigns are loaded and the pod is not draining; 503 with the same body otherwise. Never shed.',
    access: 'public',
    success: { status: 200, description: 'ready', schema: readinessSchema },
    errors: [],
  },
  {
    name: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    description:
      'The contract as OpenAPI 3.1, generated from the same schemas the service validates with.',
    access: 'public',
    success: {
      status: 200,
      description: 'the OpenAPI document',
      schema: z.looseObject({ openapi: z.string() }),
    },
    errors: [],
  },
] satisfies ContractRoute[]);

export function contractRoute(name: RouteName): ContractRoute {
  const route = CONTRACT_ROUTES.find((r) => r.name === name);
  if (route === undefined) throw new Error(`no route ${name}`);
  return route;
}

const seg = encodeURIComponent;

/** Paths of the routes for a caller; every variable part is percent-encoded. */
export const PATHS = {
  claim: (campaignId: string) => `/v1/campaigns/${seg(campaignId)}/coupons`,
  coupon: (campaignId: string, code: string, userId: string) =>
    `/v1/campaigns/${seg(campaignId)}/coupons/${seg(code)}?userId=${seg(userId)}`,
  redemptions: (campaignId: string, code: string) =>
    `/v1/campaigns/${seg(campaignId)}/coupons/${seg(code)}/redemptions`,
  redemption: (campaignId: string, code: string, orderId: string, userId: string) =>
    `/v1/campaigns/${seg(campaignId)}/coupons/${seg(code)}/redemptions/${seg(orderId)}?userId=${seg(userId)}`,
  campaign: (campaignId: string) => `/v1/campaigns/${seg(campaignId)}`,
  budget: (campaignId: string) => `/v1/campaigns/${seg(campaignId)}/budget`,
} as const;
