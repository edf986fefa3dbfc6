import type { Admitted } from '@coupons/admission';
import type { IssueResult } from '@coupons/budget-ledger';
import type { ServerResponse } from 'node:http';
import type { ApiPrincipal } from './apiKeys';
import type { ClaimIdentity } from './claimIdentity';
import type { RouteSpec } from './routeTable';

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
