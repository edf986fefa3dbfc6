import type { Admitted } from '@coupons/admission';
import { type IssueResult, idempotencyScopeHash, shardOfUser } from '@coupons/budget-ledger';
import type { ServerResponse, IncomingHttpHeaders } from 'node:http';
import type { ApiPrincipal } from './apiKeys';
import type { RouteSpec } from './routeTable';
import { HEADERS, USER_ID_PATTERN } from '@coupons/contract';
import type { CampaignCatalog } from '../campaignCatalog';

/**
 * What the front door (frontDoor.ts) decided about a request before express saw it: its route,
 * its parameters (percent-decoded), who sent it, the claim's user, shard and idempotency scope,
 * and admission's decision. Express handlers read it with contextOf(res); they never route,
 * authenticate, hash or shed again. The one thing they write is `learned`: what the ledger said
 * of a claim, which the front door hands to admission once the answer is done.
 */
export interface RequestContext {
  readonly route: RouteSpec;
  readonly params: Readonly<Record<string, string>>;
  /** Undefined only on public routes (the probes). */
  readonly principal: ApiPrincipal | undefined;
  /** X-User-Id, validated like a body's userId (claims). */
  readonly userIdHeader: string | undefined;
  /** A claim's user (X-User-Id, else the body's), shard and idempotency scope, when valid. */
  readonly claim: ClaimIdentity | undefined;
  /** Deadline, permit, priority; undefined with ADMISSION=off and on public routes. */
  readonly admitted: Admitted | undefined;
  /** performance.now() when the front door handed the request on. */
  readonly startedAt: number;
  /** Set by the claim route: the ledger's answer, and the time it was read at. */
  learned: { result: IssueResult; campaignId: string; now: number } | undefined;
}

type WithLocals = ServerResponse & { locals?: Record<string, unknown> };

/** Hands the context to express: res.locals survives express's own set-up of the response. */
export function attachContext(res: ServerResponse, context: RequestContext): void {
  const withLocals = res as WithLocals;
  withLocals.locals ??= Object.create(null) as Record<string, unknown>;
  withLocals.locals.context = context;
}

export function contextOf(res: { locals: Record<string, unknown> }): RequestContext {
  const context = res.locals.context as RequestContext | undefined;
  if (context === undefined) throw new Error('a route ran without the front door');
  return context;
}

/** The API key of a request on an authenticated route. */
export function principalOf(res: { locals: Record<string, unknown> }): ApiPrincipal {
  const { principal } = contextOf(res);
  if (principal === undefined) throw new Error('principalOf called on a public route');
  return principal;
}

/**
 * Who a claim is for, computed once per claim by the front door and carried in the request's
 * context to admission (per-user limit, sold-out check), the route and the ledger.
 */
export interface ClaimIdentity {
  readonly userId: string;
  /** The user's shard in the campaign. */
  readonly shard: number;
  /** idempotencyScopeHash(userId, Idempotency-Key); absent without the header. */
  readonly scopeHash: string | undefined;
}

const IDEMPOTENCY_KEY = HEADERS.idempotencyKey.toLowerCase();

/**
 * The claim's identity from X-User-Id, else from the body's userId; undefined when neither names
 * a valid user or the campaign is not served (the route then answers 400 or 404).
 */
export function claimIdentity(
  catalog: CampaignCatalog,
  campaignId: string | undefined,
  userIdHeader: string | undefined,
  body: unknown,
  headers: IncomingHttpHeaders,
): ClaimIdentity | undefined {
  const calendar = catalog.get(campaignId ?? '');
  const userId = userIdHeader ?? bodyUserId(body);
  if (calendar === undefined || userId === undefined) return undefined;
  // A malformed key is hashed all the same: the route refuses it (400) before any ledger call.
  const key = headers[IDEMPOTENCY_KEY];
  const scopeHash = typeof key === 'string' ? idempotencyScopeHash(userId, key) : undefined;
  return { userId, shard: shardOfUser(userId, calendar.campaign.shards), scopeHash };
}

function bodyUserId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { userId } = body as { userId?: unknown };
  return typeof userId === 'string' && USER_ID_PATTERN.test(userId) ? userId : undefined;
}
