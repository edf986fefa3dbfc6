import type { Answer, ReadContext, Reading } from './answers';
import { CouponClientError } from './errors';
import { claimKeyFor, newClaimKey } from './idempotency';
import type {
  BudgetResult,
  CampaignResult,
  ClaimResult,
  CouponResult,
  Operation,
  RedeemResult,
  ReverseResult,
} from './outcomes';
import {
  readBudget,
  readCampaign,
  readClaim,
  readCoupon,
  readRedemption,
  readReversal,
} from './readers';
import type { SoldOutMemory } from './soldOutMemory';
import type { HttpRequest } from './transport';
import { UncertainClaims } from './uncertainClaims';
import { HEADER, isCampaignId, isIdempotencyKey, isOrderId, isUserId, PATHS } from './wire';

export interface ClaimInput {
  campaignId: string;
  userId: string;
  /**
   * The caller's own id of the user's intent (a chat message id): the Idempotency-Key is derived
   * from it, so the same intent never gets two coupons however often it is processed.
   */
  intentId?: string;
  /** A key of the caller's own (e.g. one returned by an earlier outcome); else one is made. */
  idempotencyKey?: string;
}

export interface RedeemInput {
  campaignId: string;
  code: string;
  userId: string;
  /** One redemption per orderId: a retry with it is a replay. */
  orderId: string;
  orderAmountFen: number;
}

export interface ReverseInput {
  campaignId: string;
  code: string;
  userId: string;
  orderId: string;
}

export interface CouponInput {
  campaignId: string;
  code: string;
  userId: string;
}

/**
 * One call of the service as the retry loop needs it: the request (bar the headers every request
 * carries), who may answer it, and how its answers are read. Built from the caller's input after
 * checking it, so a bad id never reaches the service.
 */
export interface Route<R> {
  op: Operation;
  priority: 'claim' | 'other';
  method: HttpRequest['method'];
  path: string;
  /** This route's own headers. */
  headers?: Record<string, string>;
  /** JSON. */
  body?: string;
  /** What a 2xx must be about. */
  expect: ReadContext['expect'];
  read: (answer: Answer, ctx: ReadContext) => Reading<R> | undefined;
  /** An answer from memory before an attempt, if any (claims: the sold-out memory). */
  local?: () => R | undefined;
  /** After every attempt's reading (claims: uncertainty and the sold-out memory). */
  observe?: (reading: Reading<R>) => void;
}

/** What a claim's route reads and updates besides the answer. */
export interface ClaimMemory {
  namespace: string;
  soldOut: SoldOutMemory | undefined;
  uncertain: UncertainClaims;
}

export function claimRoute(
  input: ClaimInput,
  memory: ClaimMemory,
): Route<ClaimResult> & { idempotencyKey: string } {
  checkCampaign(input.campaignId);
  checkUser(input.userId);
  if (input.intentId !== undefined && input.idempotencyKey !== undefined)
    throw invalid('give intentId or idempotencyKey, not both');
  const idempotencyKey =
    input.idempotencyKey ??
    (input.intentId === undefined ? newClaimKey() : claimKeyFor(memory.namespace, input.intentId));
  if (!isIdempotencyKey(idempotencyKey))
    throw invalid('idempotencyKey must be 1-255 printable ASCII characters');
  const { campaignId, userId } = input;
  const { soldOut, uncertain } = memory;
  const uncertainKey = UncertainClaims.keyOf(campaignId, userId, idempotencyKey);
  return {
    op: 'claim',
    priority: 'claim',
    method: 'POST',
    path: PATHS.claim(campaignId),
    headers: { [HEADER.idempotencyKey]: idempotencyKey, [HEADER.userId]: userId },
    body: JSON.stringify({ userId }),
    expect: { campaignId, userId },
    read: readClaim,
    idempotencyKey,
    // A claim that may have been served must reach the service: it answers its coupon even when
    // the campaign is sold out now.
    local: () => (uncertain.has(uncertainKey) ? undefined : soldOut?.claimAnswer(campaignId)),
    observe: (reading) => {
      if (reading.maybeDone) uncertain.add(uncertainKey);
      const step = reading.step;
      if (step.type !== 'final') return;
      const kind = step.result.kind;
      if (kind === 'issued' || kind === 'replayed') {
        uncertain.settle(uncertainKey);
        // The service is giving coupons of the campaign: whatever it said before is stale.
        soldOut?.forget(campaignId);
      }
      if (reading.closed !== undefined) soldOut?.learn(campaignId, reading.closed);
    },
  };
}

export function redeemRoute(input: RedeemInput): Route<RedeemResult> {
  checkCoupon(input);
  checkOrder(input.orderId);
  if (!Number.isSafeInteger(input.orderAmountFen) || input.orderAmountFen < 0)
    throw invalid('orderAmountFen must be a non-negative whole number of fen');
  const { campaignId, code, userId, orderId, orderAmountFen } = input;
  return {
    op: 'redeem',
    priority: 'other',
    method: 'POST',
    path: PATHS.redemptions(campaignId, code),
    body: JSON.stringify({ userId, orderId, orderAmountFen }),
    expect: { campaignId, userId, orderId },
    read: readRedemption,
  };
}

export function reverseRoute(input: ReverseInput): Route<ReverseResult> {
  checkCoupon(input);
  checkOrder(input.orderId);
  const { campaignId, code, userId, orderId } = input;
  return {
    op: 'reverse',
    priority: 'other',
    method: 'DELETE',
    path: PATHS.redemption(campaignId, code, orderId, userId),
    expect: { campaignId, userId },
    read: readReversal,
  };
}

export function couponRoute(input: CouponInput): Route<CouponResult> {
  checkCoupon(input);
  const { campaignId, code, userId } = input;
  return {
    op: 'coupon',
    priority: 'other',
    method: 'GET',
    path: PATHS.coupon(campaignId, code, userId),
    expect: { campaignId, userId },
    read: readCoupon,
  };
}

export function campaignRoute(campaignId: string): Route<CampaignResult> {
  checkCampaign(campaignId);
  return {
    op: 'campaign',
    priority: 'other',
    method: 'GET',
    path: PATHS.campaign(campaignId),
    expect: { campaignId },
    read: readCampaign,
  };
}

export function budgetRoute(campaignId: string): Route<BudgetResult> {
  checkCampaign(campaignId);
  return {
    op: 'budget',
    priority: 'other',
    method: 'GET',
    path: PATHS.budget(campaignId),
    expect: { campaignId },
    read: readBudget,
  };
}

function invalid(message: string): CouponClientError {
  return new CouponClientError('INVALID_ARGUMENT', message);
}

function checkCampaign(campaignId: string): void {
  if (!isCampaignId(campaignId))
    throw invalid('campaignId must be 1-128 letters, digits, ".", "_" or "-"');
}

function checkUser(userId: string): void {
  if (!isUserId(userId)) throw invalid('userId must be 1-64 letters, digits, ".", "_" or "-"');
}

/** A coupon named by campaign, code and owner. */
function checkCoupon(input: CouponInput): void {
  checkCampaign(input.campaignId);
  checkUser(input.userId);
  if (!/^[A-Za-z0-9 -]{1,64}$/.test(input.code))
    throw invalid('code must be a coupon code (letters, digits, hyphens)');
}

function checkOrder(orderId: string): void {
  if (!isOrderId(orderId)) throw invalid('orderId must be 1-128 letters, digits, ".", "_" or "-"');
}
