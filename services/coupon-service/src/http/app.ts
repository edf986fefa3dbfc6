import express, { Router, type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '@coupons/campaign';
import { HEADERS, REQUEST_ID_PATTERN } from '@coupons/contract';
import { redactUrl, type Logger, type ServiceMetrics } from '@coupons/telemetry';
import type { ServiceAdmission } from '../admission';
import type { CampaignCatalog } from '../campaignCatalog';
import type { LedgerRegistry } from '../ledgers';
import type { Readiness } from '../readiness';
import { jsonBody } from './bodyGuard';
import { ApiError, errorMiddleware } from './errors';
import { LedgerGateway } from './ledgerGateway';
import { requestMetrics } from './requestMetrics';
import { EXPRESS_ROUTING, ROUTES, type RouteName } from './routeTable';
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
  readiness: Readiness;
  admission: ServiceAdmission;
  /** The Redis client's command timeout: a request deadline shorter than it bounds the call. */
  redisCommandTimeoutMs: number;
  /** How long a body may take to arrive once its route accepted the request. */
  bodyTimeoutMs: number;
  /** The service's version, in the OpenAPI document. */
  version: string;
}

/** Codes are secrets of their owners: no cache may keep an answer. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestMetrics(deps.metrics.http));
  app.use(
    pinoHttp({
      logger: deps.logger,
      // Honour the caller's id when it is sane, so one id follows a request across services.
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id =
          typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming)
            ? incoming
            : randomUUID();
        res.setHeader(HEADERS.requestId, id);
        return id;
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) =>
        err !== undefined || res.statusCode >= 500 ? 'error' : 'info',
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  const gateway = new LedgerGateway(
    deps.metrics.coupons,
    deps.clock,
    deps.redisCommandTimeoutMs,
    deps.admission.retry,
  );
  const health = healthHandlers(deps.readiness);
  const handlers: Record<RouteName, RequestHandler[]> = {
    health: [health.health],
    ready: [health.ready],
    openapi: [openApiHandler(deps.version)],
    campaign: [campaignHandler(deps.catalog, deps.clock)],
    budget: [budgetHandler({ catalog: deps.catalog, ledgers: deps.ledgers, gateway })],
    ...Object.fromEntries(
      Object.entries(
        couponHandlers({
          catalog: deps.catalog,
          ledgers: deps.ledgers,
          gateway,
          clock: deps.clock,
          admission: deps.admission,
        }),
      ).map(([name, handler]) => [name, [noStore, handler]]),
    ),
  } as Record<RouteName, RequestHandler[]>;
  // The front door (frontDoor.ts) matched the route with the same table and the same matching
  // rules, checked the key and its scope: bodies are read only here, only where routes take one.
  const router = Router(EXPRESS_ROUTING);
  const body = jsonBody(deps.bodyTimeoutMs);
  for (const route of ROUTES) {
    const method = route.method.toLowerCase() as 'get' | 'post' | 'delete';
    router[method](route.path, ...(route.body ? body : []), ...handlers[route.name]);
  }
  app.use(router);
  app.use((req, _res, next) => {
    next(new ApiError('NOT_FOUND', `no route ${req.method} ${redactUrl(req.path).slice(0, 200)}`));
  });
  app.use(errorMiddleware(deps.logger));
  return app;
}
