import express, { type Express, type RequestHandler } from 'express';
import type { Clock } from '@coupons/campaign';
import type { Logger, ServiceMetrics } from '@coupons/telemetry';
import type { CampaignCatalog } from '../campaignCatalog';
import { type LedgerRegistry, LedgerGateway } from '../ledger/ledgerGateway';
import type { ReadinessProbe } from '../readiness';
import { ApiError } from '../answers/errors';
import { errorMiddleware } from './errorMiddleware';
import { loggedUrl, requestLog } from './requestLog';
import type { RetryPolicy } from '../answers/retryPolicy';
import { EXPRESS_ROUTING, ROUTES, type RouteName } from '../frontDoor/routeTable';
import { budgetHandler } from './routes/budget';
import { campaignHandler } from './routes/campaigns';
import { couponHandlers } from './routes/coupons';
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
function noStore(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    return handler(req, res, next);
  };
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Routed as the front door matched (routeTable.ts), on the app itself: no nested router.
  app.set('case sensitive routing', EXPRESS_ROUTING.caseSensitive);
  app.set('strict routing', EXPRESS_ROUTING.strict);

  app.use(requestLog(deps.logger, deps.metrics.http));
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
  const handlers: Record<RouteName, RequestHandler> = {
    health: health.health,
    ready: health.ready,
    openapi: openApiHandler(deps.version),
    campaign: campaignHandler(deps.catalog, deps.clock),
    budget: budgetHandler({ catalog: deps.catalog, ledgers: deps.ledgers, gateway }),
    claim: noStore(coupons.claim),
    readCoupon: noStore(coupons.readCoupon),
    redeem: noStore(coupons.redeem),
    reverse: noStore(coupons.reverse),
  };
  // The front door (frontDoor.ts) matched the route with the same table and the same matching
  // rules, checked the key and its scope, and read the body (req.body) before admission.
  for (const route of ROUTES) {
    const method = route.method.toLowerCase() as 'get' | 'post' | 'delete';
    app[method](route.path, handlers[route.name]);
  }
  app.use((req, _res, next) => {
    next(new ApiError('NOT_FOUND', `no route ${req.method} ${loggedUrl(req.path).slice(0, 200)}`));
  });
  app.use(errorMiddleware(deps.logger));
  return app;
}
