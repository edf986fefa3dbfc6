import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '@coupons/campaign';
import { redactUrl, type Logger, type ServiceMetrics } from '@coupons/telemetry';
import type { ServiceAdmission } from '../admission';
import type { ApiKeyStore } from '../auth/apiKeys';
import type { CampaignCatalog } from '../campaignCatalog';
import type { LedgerRegistry } from '../ledgers';
import type { Readiness } from '../readiness';
import { authenticate } from './auth';
import { jsonBody } from './bodyGuard';
import { ApiError, errorMiddleware } from './errors';
import { LedgerGateway } from './ledgerGateway';
import { requestMetrics } from './requestMetrics';
import { budgetRouter } from './routes/budget';
import { campaignsRouter } from './routes/campaigns';
import { couponsRouter } from './routes/coupons';
import { healthRouter } from './routes/health';

export interface AppDeps {
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  apiKeys: ApiKeyStore;
  clock: Clock;
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  admission: ServiceAdmission;
  /** The Redis client's command timeout: a request deadline shorter than it bounds the call. */
  redisCommandTimeoutMs: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
          typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
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
  app.use(healthRouter(deps.readiness));
  app.use('/v1', authenticate(deps.apiKeys), ...jsonBody());
  const gateway = new LedgerGateway(
    deps.metrics.coupons,
    deps.clock,
    deps.redisCommandTimeoutMs,
    deps.admission.random,
  );
  app.use(campaignsRouter(deps.catalog, deps.clock));
  app.use(budgetRouter({ catalog: deps.catalog, ledgers: deps.ledgers, gateway }));
  app.use(
    couponsRouter({
      catalog: deps.catalog,
      ledgers: deps.ledgers,
      gateway,
      clock: deps.clock,
      admission: deps.admission,
    }),
  );
  app.use((req, _res, next) => {
    next(new ApiError('NOT_FOUND', `no route ${req.method} ${redactUrl(req.path).slice(0, 200)}`));
  });
  app.use(errorMiddleware(deps.logger));
  return app;
}
