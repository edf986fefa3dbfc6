import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { within } from '@coupons/admission';
import { RedisTimeClock } from '@coupons/budget-ledger';
import type { CampaignConfig, Clock } from '@coupons/campaign';
import {
  createServiceMetrics,
  initialiseSeries,
  registerAdmissionMetrics,
  registerOverloadMetrics,
  type Logger,
} from '@coupons/telemetry';
import { Registry } from 'prom-client';
import { AdmissionControl } from './frontDoor/admissionControl';
import { ApiKeyStore, Authenticator, type ApiKeyRecord } from './frontDoor/apiKeys';
import { CampaignCatalog } from './campaignCatalog';
import type { ServiceConfig } from './config/env';
import { BudgetSampler } from './budgetSampler';
import { BodyReader } from './frontDoor/bodyReader';
import { FrontDoor } from './frontDoor/frontDoor';
import { OverloadActions } from './frontDoor/overloadActions';
import { createApp } from './http/app';
import { ROUTES } from './frontDoor/routeTable';
import { LedgerRegistry } from './ledger/ledgerGateway';
import { ReadinessProbe } from './readiness';
import { createRedisClient, type RedisClient, type RedisTarget } from './redis/client';
import { CouponServer } from './server';

export interface ServiceDeps {
  config: ServiceConfig;
  /** Where Redis really is (the dev fallback may differ from config.redis). */
  redisTarget: RedisTarget;
  campaigns: readonly CampaignConfig[];
  apiKeys: readonly ApiKeyRecord[];
  logger: Logger;
  /** Tests inject time; otherwise the service follows Redis TIME (docs/money.md). */
  clock?: Clock;
  /** Retry-After jitter (0 <= r < 1); tests fix it. */
  random?: () => number;
}

export interface RunningService {
  server: CouponServer;
  port: number;
  metricsPort: number;
  catalog: CampaignCatalog;
  ledgers: LedgerRegistry;
  clock: Clock;
  redis: RedisClient;
  admission: AdmissionControl;
}

/** The version of @coupons/coupon-service (its package.json), in metrics and the OpenAPI document. */
export function serviceVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@coupons/coupon-service') return pkg.version ?? 'unknown';
  }
  return 'unknown';
}
const SERVICE_VERSION = serviceVersion();

/** How often the Redis-tracked clock re-reads TIME (it runs on the monotonic clock between). */
const CLOCK_RESYNC_MS = 1000;

/** Assembles and starts the service; main.ts adds the process concerns (signals, exit codes). */
// Long: the wiring of the parts in start-up order, each line one part; split, the order hides.
export async function startService(deps: ServiceDeps): Promise<RunningService> {
  const { config, logger } = deps;
  const redis = createRedisClient(deps.redisTarget, config.redisCommandTimeoutMs);
  const redisClock = new RedisTimeClock(redis);
  const clock = deps.clock ?? redisClock;
  redis.on('error', (err: Error) =>
    logger.warn({ err: { message: err.message } }, 'redis connection error'),
  );
  redis.on('ready', () => {
    logger.info('redis ready');
    redisClock
      .sync()
      .catch((err: unknown) => logger.warn({ err }, 'redis TIME: first reading failed'));
  });
  // A failed reading keeps the last one; the connection errors are logged above already.
  redisClock.start(CLOCK_RESYNC_MS);
  // Not awaited on purpose: a pod starts, reports not-ready, and becomes ready when Redis answers.
  redis
    .connect()
    .catch((err: unknown) => logger.error({ err }, 'redis: first connection failed, retrying'));

  const catalog = new CampaignCatalog(deps.campaigns);
  const metrics = createServiceMetrics(new Registry());
  metrics.coupons.redisSettingsOk.set(0);
  metrics.buildInfo.set({ version: SERVICE_VERSION, node: process.version }, 1);
  metrics.claimCapacityPerPod.set(config.metrics.claimCapacityPerPod);
  const ledgers = new LedgerRegistry(redis, catalog, clock, logger, {
    config: config.ledger,
    production: config.production,
    onSettings: (safe) => metrics.coupons.redisSettingsOk.set(safe ? 1 : 0),
  });
  ledgers.start();
  const budgetSampler = new BudgetSampler(ledgers, metrics.budget, logger);
  budgetSampler.start(config.metrics.budgetSampleMs);
  initialiseSeries(metrics, {
    campaigns: catalog.all().map(({ campaign }) => campaign.id),
    routes: ROUTES.map(({ method, path }) => ({ method, route: path })),
  });
  const readiness = new ReadinessProbe(redis, deps.campaigns.length, config.redisCommandTimeoutMs);
  const authenticator = new Authenticator(new ApiKeyStore(deps.apiKeys));
  const admission = new AdmissionControl({
    config: config.admission,
    redis,
    clock,
    catalog,
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  registerAdmissionMetrics(metrics.registry, () => admission.reading());
  const http = createApp({
    catalog,
    ledgers,
    clock,
    logger,
    metrics,
    readiness,
    retry: admission.retry,
    redisCommandTimeoutMs: config.redisCommandTimeoutMs,
    version: SERVICE_VERSION,
  });
  const overload =
    admission.gate === undefined || !config.admission.overloadActions
      ? undefined
      : new OverloadActions(() => admission.pressure());
  if (overload !== undefined) registerOverloadMetrics(metrics.registry, () => overload.reading());
  const frontDoor = new FrontDoor({
    authenticator,
    admission,
    bodies: new BodyReader(config.http.bodyTimeoutMs),
    ...(overload === undefined ? {} : { overload }),
    metrics: metrics.http,
    catalog,
  });
  const server = new CouponServer(
    frontDoor.listener(http),
    metrics.registry,
    redis,
    readiness,
    logger,
    {
      host: config.http.host,
      port: config.http.port,
      metricsHost: config.http.metricsHost,
      metricsPort: config.http.metricsPort,
      maxConnections: config.http.maxConnections,
      listenBacklog: config.http.listenBacklog,
      requestTimeoutMs: config.http.requestTimeoutMs,
      shutdownGraceMs: config.shutdownGraceMs,
      onDrain: () => admission.startDraining(),
      beforeRedisQuit: () => {
        overload?.stop();
        redisClock.stop();
        budgetSampler.stop();
        ledgers.stop();
        admission.stop();
      },
    },
  );
  overload?.start(server.api);
  const { port, metricsPort } = await server.listen();
  return { server, port, metricsPort, catalog, ledgers, clock, redis, admission };
}

/** Resolves true once the client is ready, false after timeoutMs. */
export async function redisReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  // Not events.once: it would reject on the 'error' events a reconnecting client emits.
  const ready = new Promise<true>((resolve) => redis.once('ready', () => resolve(true)));
  return (await within(ready, timeoutMs)) === true;
}
