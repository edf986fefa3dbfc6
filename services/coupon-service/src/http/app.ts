import type { RequestListener, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import type { Clock } from '@coupons/campaign';
import type { Logger, ServiceMetrics } from '@coupons/telemetry';
import type { CampaignCatalog } from '../campaignCatalog';
import { type LedgerRegistry, LedgerGateway } from '../ledger/ledgerGateway';
import type { ReadinessProbe } from '../readiness';
import { ApiError } from '../answers/errors';
import { type ErrorLayer, errorMiddleware } from './errorMiddleware';
import { type Layer, type Served, loggedUrl, requestLog } from './requestLog';
import type { RetryPolicy } from '../answers/retryPolicy';
import { EXPRESS_ROUTING, ROUTES, type RouteName } from '../frontDoor/routeTable';
import type { Handlers } from '../frontDoor/frontDoor';
import { budgetHandler } from './routes/budget';
import { campaignHandler } from './routes/campaigns';
import { type ClaimHandler, couponHandlers } from './routes/coupons';
import { healthHandlers } from './routes/health';
import { openApiHandler } from './routes/openapi';

export interface AppDeps {
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  clock: Clock;
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessProbe;
  /** Every Retry-After the app gives (the gate's come from the same policy). */
  retry: RetryPolicy;
  /** The Redis client's command timeout: a request deadline shorter than it bounds the call. */
  redisCommandTimeoutMs: number;
  /** The service's version, in the OpenAPI document. */
  version: string;
}

/** Codes are secrets of their owners: no cache may keep an answer (errors included). */
function noStore<Req, Res extends ServerResponse, Rest extends unknown[], R>(
  handler: (req: Req, res: Res, ...rest: Rest) => R,
): (req: Req, res: Res, ...rest: Rest) => R {
  return (req, res, ...rest) => {
    res.setHeader('Cache-Control', 'no-store');
    return handler(req, res, ...rest);
  };
}

/** What the front door hands an admitted request to (FrontDoor.listener's Handlers). */
export interface Http extends Handlers {
  /** Every route but those in `direct`, routed by express. */
  app: Express;
  /**
   * The claim, served without express: the front door has already matched its route (with the
   * table express routes by), checked the key, read the body and admitted it, so express's
   * router would only match the path again. The same layers run, in express's order: requestLog,
   * no-store, the handler, and errorMiddleware for whatever it throws.
   */
  direct: NonNullable<Handlers['direct']>;
}

export function createApp(deps: AppDeps): Http {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Routed as the front door matched (routeTable.ts), on the app itself: no nested router.
  app.set('case sensitive routing', EXPRESS_ROUTING.caseSensitive);
  app.set('strict routing', EXPRESS_ROUTING.strict);

  const log = requestLog(deps.logger, deps.metrics.http);
  const onError = errorMiddleware(deps.logger);
  app.use(log);
  const gateway = new LedgerGateway(
    deps.metrics.coupons,
    deps.clock,
    deps.redisCommandTimeoutMs,
    deps.retry,
  );
  const health = healthHandlers(deps.readiness);
  const coupons = couponHandlers({
    catalog: deps.catalog,
    ledgers: deps.ledgers,
    gateway,
    clock: deps.clock,
    retry: deps.retry,
  });
  const direct = { claim: served(noStore(coupons.claim), log, onError) };
  const handlers: Record<Exclude<RouteName, keyof typeof direct>, RequestHandler> = {
    health: health.health,
    ready: health.ready,
    openapi: openApiHandler(deps.version),
    campaign: campaignHandler(deps.catalog, deps.clock),
    budget: budgetHandler({ catalog: deps.catalog, ledgers: deps.ledgers, gateway }),
    readCoupon: noStore(coupons.readCoupon),
    redeem: noStore(coupons.redeem),
    reverse: noStore(coupons.reverse),
  };
  // The front door (frontDoor.ts) matched the route with the same table and the same matching
  // rules, checked the key and its scope, and read the body (req.body) before admission.
  for (const route of ROUTES) {
    if (route.name in direct) continue;
    const method = route.method.toLowerCase() as 'get' | 'post' | 'delete';
    app[method](route.path, handlers[route.name as keyof typeof handlers]);
  }
  app.use((req, _res, next) => {
    next(new ApiError('NOT_FOUND', `no route ${req.method} ${loggedUrl(req.path).slice(0, 200)}`));
  });
  app.use(onError);
  return { app, direct };
}

/** A handler served straight from the front door, through the layers express would run. */
function served(handler: ClaimHandler, log: Layer, onError: ErrorLayer): RequestListener {
  return (req, res) => {
    const response = res as Served;
    const fail = (err: unknown): void => onError(err, req, response, () => {});
    log(req, response, () => {
      try {
        handler(req, response).catch(fail);
      } catch (err) {
        fail(err);
      }
    });
  };
}
