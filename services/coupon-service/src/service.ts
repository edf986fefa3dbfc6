import { systemClock, type Campaign, type Clock } from '@coupons/campaign';
import { createServiceMetrics, type Logger } from '@coupons/telemetry';
import { Registry } from 'prom-client';
import { ApiKeyStore, type ApiKeyRecord } from './auth/apiKeys';
import { CampaignCatalog } from './campaignCatalog';
import type { ServiceConfig } from './config/env';
import { createApp } from './http/app';
import { Readiness } from './readiness';
import { createRedisClient, type RedisTarget } from './redis/client';
import { CouponServer } from './server';

export interface ServiceDeps {
  config: ServiceConfig;
  /** Where Redis really is (the dev fallback may differ from config.redis). */
  redisTarget: RedisTarget;
  campaigns: readonly Campaign[];
  apiKeys: readonly ApiKeyRecord[];
  logger: Logger;
  clock?: Clock;
}

export interface RunningService {
  server: CouponServer;
  port: number;
  metricsPort: number;
  catalog: CampaignCatalog;
  clock: Clock;
}

/** Assembles and starts the service; main.ts adds the process concerns (signals, exit codes). */
export async function startService(deps: ServiceDeps): Promise<RunningService> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const redis = createRedisClient(deps.redisTarget, config.redisCommandTimeoutMs);
  redis.on('error', (err: Error) =>
    logger.warn({ err: { message: err.message } }, 'redis connection error'),
  );
  redis.on('ready', () => logger.info('redis ready'));
  // Not awaited on purpose: a pod starts, reports not-ready, and becomes ready when Redis answers.
  redis
    .connect()
    .catch((err: unknown) => logger.error({ err }, 'redis: first connection failed, retrying'));

  const catalog = new CampaignCatalog(deps.campaigns);
  const metrics = createServiceMetrics(new Registry());
  const readiness = new Readiness(redis, deps.campaigns.length, config.redisCommandTimeoutMs);
  const app = createApp({
    catalog,
    apiKeys: new ApiKeyStore(deps.apiKeys),
    clock,
    logger,
    metrics,
    readiness,
  });
  const server = new CouponServer(app, metrics.registry, redis, readiness, logger, {
    host: config.http.host,
    port: config.http.port,
    metricsPort: config.http.metricsPort,
    shutdownGraceMs: config.shutdownGraceMs,
  });
  const { port, metricsPort } = await server.listen();
  return { server, port, metricsPort, catalog, clock };
}
