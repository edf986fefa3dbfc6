import type {
  IncomingMessage,
  RequestListener,
  ServerResponse,
  IncomingHttpHeaders,
} from 'node:http';
import { performance } from 'node:perf_hooks';
import parseurl from 'parseurl';
import {
  TokenBucket,
  writeAnswer,
  type Decision,
  type PreparedAnswer,
  type Rejection,
  type Admitted,
} from '@coupons/admission';
import type { HttpMetrics, RefusalReason } from '@coupons/telemetry';
import { SINGLE_REQUEST_HEADERS, USER_ID_PATTERN, HEADERS } from '@coupons/contract';
import { type IssueResult, idempotencyScopeHash, shardOfUser } from '@coupons/budget-ledger';
import type { CampaignCatalog } from '../campaignCatalog';
import { ApiError, preparedError } from '../answers/errors';
import type { AdmissionControl } from './admissionControl';
import type { Authenticator, ApiPrincipal } from './apiKeys';
import { ROUTES, RouteTable, type RouteName, type RouteSpec } from './routeTable';
import { BodyReader, declaredBody } from './bodyReader';
import { SHED_FOR_CAPACITY, type OverloadActions } from './overloadActions';

const SINGLE_LOWER = SINGLE_REQUEST_HEADERS.map((name) => name.toLowerCase());

export interface FrontDoorDeps {
  authenticator: Authenticator;
  admission: AdmissionControl;
  /** Reads bodies before admission (bounded in bytes, time and count per key). */
  bodies: BodyReader;
  /** The actions below HTTP, told of every shed answer; absent with admission off. */
  overload?: OverloadActions;
  metrics: HttpMetrics;
  /** The campaigns served: a claim's user is pinned to a shard once, here. */
  catalog: CampaignCatalog;
  routes?: RouteTable;
}

/** Where the front door hands admitted requests (http/app.ts's Http). */
export interface Handlers {
  app: RequestListener;
  /** Routes served without express, by name. */
  direct?: Partial<Record<RouteName, RequestListener>>;
}

const answer = (code: ConstructorParameters<typeof ApiError>[0], message: string) =>
  preparedError(new ApiError(code, message));

const NOT_A_PATH = answer(
  'INVALID_REQUEST',
  'the request target must be a path (origin-form, starting with "/")',
);
const NO_HOST = answer('INVALID_REQUEST', 'an HTTP/1.1 request must carry a Host header');
const UNAUTHENTICATED = answer('UNAUTHENTICATED', 'send Authorization: Bearer <api key>');
const NOT_FOUND = answer('NOT_FOUND', 'no such route');
const PUBLIC_RATE_LIMITED = preparedError(
  new ApiError('RATE_LIMITED', 'too many requests to the public routes; retry later', {
    retryAfterSeconds: 1,
  }),
);
/** Probes and the OpenAPI document: a few a second per pod, far above what kubelet and a person send. */
const PUBLIC_RATE = { ratePerSecond: 50, burst: 100 };

/**
 * The API port's request handler: everything a request must pass before express runs, cheapest
 * first, each refusal a prepared answer (one writeHead, one end, nothing else touched):
 * target form -> route (the one table express routes by too) -> draining -> API key -> 404 / 405
 * -> scope -> ambiguous or bad headers, bad percent-escapes -> the body, read whole (bodyReader.ts)
 * -> the claim's user, shard and idempotency scope, computed once (claimIdentity, below) ->
 * admission (event loop, token bucket, concurrency, deadline, per-user and per-key limits, sold
 * out). Nothing a caller without a valid key sends reaches a limiter, a cache keyed by what it
 * sent, Redis, or a metric label. Express gets the decision as the request's context
 * (RequestContext, below); what the route learns from the ledger comes back in that context, and is
 * handed to admission when the answer is done.
 */
export class FrontDoor {
  private readonly routes: RouteTable;
  private readonly forbidden = new Map<string, PreparedAnswer>();
  private readonly notAllowed = new Map<string, PreparedAnswer>();
  private readonly publicRate = new TokenBucket(PUBLIC_RATE);

  constructor(private readonly deps: FrontDoorDeps) {
    this.routes = deps.routes ?? new RouteTable(ROUTES);
    for (const route of this.routes.routes)
      if (route.access !== 'public' && !this.forbidden.has(route.access))
        this.forbidden.set(
          route.access,
          answer('FORBIDDEN', `this API key lacks the scope ${route.access}`),
        );
  }

  /**
   * The server's request listener: admitted requests go to `http.direct`'s handler for their
   * route, else to `http.app` (express).
   */
  // Long: the checks in their order, cheapest first; split, the order they must keep would hide.
  listener({ app, direct = {} }: Handlers): RequestListener {
    return (req, res) => {
      const url = req.url ?? '';
      // Absolute-form (a proxy's request) and asterisk-form are not ours to route.
      if (url.charCodeAt(0) !== 47 /* '/' */) return this.refuse(res, 'target', NOT_A_PATH);
      if (req.headers.host === undefined && req.httpVersion === '1.1')
        return this.refuse(res, 'target', NO_HOST);
      const pathname = parseurl(req)?.pathname ?? '';
      const found = this.routes.match(req.method ?? '', pathname);
      if (found.kind === 'route' && found.route.access === 'public') {
        // Public routes answer from memory (the readiness probe from a sampled PING), and are
        // rate-limited: a flood of them is refused before it costs a log line or a sample.
        if (!this.publicRate.tryTake(performance.now()))
          return this.refuse(res, 'rate_limited', PUBLIC_RATE_LIMITED);
        attachContext(res, {
          route: found.route,
          params: {},
          principal: undefined,
          userIdHeader: undefined,
          claim: undefined,
          admitted: undefined,
          startedAt: performance.now(),
          learned: undefined,
        });
        void app(req, res);
        return;
      }
      const priority = found.kind === 'route' ? found.route.priority : 'other';
      const draining = this.deps.admission.gate?.drainingAnswer(priority);
      if (draining !== undefined) return writeAnswer(res, draining);

      const duplicated = duplicatedHeader(req);
      if (duplicated === 'Authorization')
        return this.refuse(res, 'bad_request', badHeader('Authorization', 'sent more than once'));
      const principal = this.deps.authenticator.principalOf(req.headers.authorization);
      if (principal === undefined) return this.refuse(res, 'unauthenticated', UNAUTHENTICATED);
      if (found.kind === 'not_found') return this.refuse(res, 'not_found', NOT_FOUND);
      if (found.kind === 'method_not_allowed')
        return this.refuse(res, 'method_not_allowed', this.methodNotAllowed(found.allow));
      const { route } = found;
      if (!principal.scopes.has(route.access as never))
        return this.refuse(res, 'forbidden', this.forbidden.get(route.access)!);
      if (duplicated !== undefined)
        return this.refuse(res, 'bad_request', badHeader(duplicated, 'sent more than once'));
      // A route that reads no body acts as soon as the headers are in: a body it would never read
      // could still fail to parse after the work is done, and be answered 400 for it.
      if (!route.body) {
        const declared = declaredBody(req.headers);
        if (declared !== undefined)
          return this.refuse(res, 'bad_request', badHeader(declared, 'this route takes no body'));
      }

      const params: Record<string, string> = {};
      for (const [name, raw] of Object.entries(found.rawParams)) {
        const decoded = decodeParam(raw);
        if (decoded === undefined)
          return this.refuse(res, 'bad_request', badHeader(name, 'malformed percent-encoding'));
        params[name] = decoded;
      }
      const userIdHeader = headerUserId(req, route);
      if (userIdHeader === false)
        return this.refuse(
          res,
          'bad_request',
          badHeader('X-User-Id', 'must be 1-64 letters, digits, ".", "_" or "-"'),
        );
      const handler = direct[route.name] ?? app;
      if (!route.body) return this.admit(req, res, handler, route, params, principal, userIdHeader);
      // What the gate refuses on the headers alone (the event loop, the token bucket) is refused
      // before the body is read: shedding must stay cheap when the pod has no CPU to spare.
      const refused = this.deps.admission.gate?.screen(route.priority, true);
      if (refused !== undefined) return this.shed(res, refused);
      // A caller that waits for `100 Continue` is invited once its key and scope let it in.
      if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
      this.deps.bodies.read(req, res, principal.keyId, (outcome) => {
        if (outcome.kind === 'answered') {
          if (outcome.why !== 'gone') this.deps.metrics.refused.inc({ reason: 'body' });
          return;
        }
        (req as IncomingMessage & { body?: unknown }).body = outcome.body;
        this.admit(req, res, handler, route, params, principal, userIdHeader, outcome.body, true);
      });
    };
  }

  private admit(
    req: IncomingMessage,
    res: ServerResponse,
    app: RequestListener,
    route: RouteSpec,
    params: Record<string, string>,
    principal: ApiPrincipal,
    userIdHeader: string | undefined,
    body?: unknown,
    screened = false,
  ): void {
    // A claim's user, shard and idempotency scope: computed here, once for the whole path.
    const claim =
      route.name === 'claim'
        ? claimIdentity(this.deps.catalog, params.campaignId, userIdHeader, body, req.headers)
        : undefined;
    const context = { route, params, principal, userIdHeader, claim, learned: undefined };
    const gate = this.deps.admission.gate;
    if (gate === undefined) {
      const started = performance.now();
      const attached = { ...context, admitted: undefined, startedAt: started };
      attachContext(res, attached);
      res.once('close', () => this.deps.admission.learn(attached));
      void app(req, res);
      return;
    }
    const serve = (decision: Decision): void => {
      if (!decision.admitted) return this.shed(res, decision);
      if (res.destroyed || req.socket.destroyed) {
        // The caller left while its limit was checked: free the slot, learn nothing.
        decision.permit.release();
        return;
      }
      const started = performance.now();
      const attached: RequestContext = { ...context, admitted: decision, startedAt: started };
      res.once('close', () => {
        decision.permit.release({
          latencyMs: performance.now() - started,
          dropped: !res.writableFinished,
        });
        this.deps.admission.learn(attached);
      });
      attachContext(res, attached);
      void app(req, res);
    };
    const decision = gate.admit({
      priority: route.priority,
      headers: req.headers,
      campaignId: params.campaignId,
      userId: claim?.userId,
      shard: claim?.shard,
      scopeHash: claim?.scopeHash,
      keyId: principal.keyId,
      // The draining check was made when the headers arrived.
      arrivedBeforeDraining: true,
      screened,
    });
    if (decision instanceof Promise) void decision.then(serve);
    else serve(decision);
  }

  /** The gate's refusal, written as prepared; one for capacity may pause the connection. */
  private shed(res: ServerResponse, rejection: Rejection): void {
    if (SHED_FOR_CAPACITY.has(rejection.reason)) this.deps.overload?.onShed(res);
    writeAnswer(res, rejection);
  }

  private refuse(res: ServerResponse, reason: RefusalReason, prepared: PreparedAnswer): void {
    this.deps.metrics.refused.inc({ reason });
    writeAnswer(res, prepared);
  }

  private methodNotAllowed(allow: string): PreparedAnswer {
    let prepared = this.notAllowed.get(allow);
    if (prepared === undefined) {
      prepared = preparedError(new ApiError('METHOD_NOT_ALLOWED', `this route takes ${allow}`), {
        allow,
      });
      this.notAllowed.set(allow, prepared);
    }
    return prepared;
  }
}

function badHeader(field: string, problem: string): PreparedAnswer {
  return preparedError(
    new ApiError('INVALID_REQUEST', `invalid ${field}`, { details: [{ field, problem }] }),
  );
}

/** The first header of SINGLE_REQUEST_HEADERS the request carries more than once (raw, any case). */
function duplicatedHeader(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const index = SINGLE_LOWER.indexOf(raw[i]!.toLowerCase());
    if (index < 0) continue;
    const bit = 1 << index;
    if ((seen & bit) !== 0) return SINGLE_REQUEST_HEADERS[index];
    seen |= bit;
  }
  return undefined;
}

/** A path parameter decoded as express decodes it; undefined for a malformed escape. */
function decodeParam(raw: string): string | undefined {
  if (raw.indexOf('%') < 0) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The claim's X-User-Id: absent (undefined), valid (the value) or malformed (false). */
function headerUserId(req: IncomingMessage, route: RouteSpec): string | undefined | false {
  if (route.name !== 'claim') return undefined;
  const header = req.headers['x-user-id'];
  if (header === undefined) return undefined;
  return typeof header === 'string' && USER_ID_PATTERN.test(header) ? header : false;
}

/**
 * What the front door (above) decided about a request before express saw it: its route,
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

/** The header's name as node keys req.headers. */
export const IDEMPOTENCY_KEY = HEADERS.idempotencyKey.toLowerCase();

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
