import { systemClock } from '@coupons/campaign';
import {
  configAndCampaignsOrExit,
  exitWith,
  runDeployable,
  say,
  stopOnSignals,
} from '@coupons/runtime';
import { createLogger, type Logger } from '@coupons/telemetry';
import { createDevKey, type ApiKeyRecord } from './frontDoor/apiKeys';
import { parseEnv, type ServiceConfig } from './config/env';
import { NoRedisError, resolveRedisTarget } from './redis/devFallback';
import { initDevelopmentLedgers, warnUnfencedLedgers } from './ledger/devLedgers';
import { redisReady, startService, type RunningService } from './service';

function resolveApiKeys(
  config: ServiceConfig,
  logger: Logger,
): { records: ApiKeyRecord[]; devKey?: string } {
  if (config.apiKeys !== undefined) return { records: [...config.apiKeys] };
  // parseEnv refuses production without keys; this keeps a development key out of it whatever.
  if (config.production)
    exitWith('COUPON_API_KEYS or COUPON_API_KEYS_FILE: required in production');
  const dev = createDevKey();
  logger.warn(
    'no COUPON_API_KEYS configured: using a development key with every scope, new at each start (production refuses to start without keys)',
  );
  return { records: [dev.record], devKey: dev.key };
}

async function main(): Promise<void> {
  const { config, campaigns } = configAndCampaignsOrExit(() => parseEnv(process.env));
  const logger = createLogger({ level: config.logLevel, name: 'coupon-service' });

  let resolved;
  try {
    resolved = await resolveRedisTarget(config, logger);
  } catch (err) {
    if (err instanceof NoRedisError) exitWith(err.message);
    throw err;
  }
  const { target, devServer } = resolved;
  const stopDevServer = () => devServer?.stop().catch(() => undefined);
  const keys = resolveApiKeys(config, logger);

  let service;
  try {
    service = await startService({
      config,
      redisTarget: target,
      campaigns,
      apiKeys: keys.records,
      logger,
    });
  } catch (err) {
    await stopDevServer();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      exitWith(`Port in use: ${(err as Error).message}. Set PORT / METRICS_PORT to free ports.`);
    throw err;
  }

  // Explicit opt-in only; the private Redis started just now cannot hold anything issued.
  if (config.ledger.autoInit || devServer !== undefined)
    await initLedgersForDevelopment(service, logger);
  await warnUnfencedLedgers(service.ledgers, service.redis, logger).catch((err: unknown) =>
    logger.warn({ err }, 'could not read whether the ledgers are fenced'),
  );

  stopOnSignals(logger, (signal) => {
    void service.server.shutdown(signal).then(async (outcome) => {
      await stopDevServer();
      process.exit(outcome === 'clean' ? 0 : 1);
    });
  });

  const featured = service.catalog.featured(systemClock.now());
  const base = `http://127.0.0.1:${service.port}`;
  const bearer = keys.devKey ?? '$COUPON_API_KEY';
  logger.info(
    {
      port: service.port,
      metricsPort: service.metricsPort,
      campaigns: campaigns.length,
      node: process.version,
    },
    'coupon-service ready',
  );
  say(
    [
      `coupon-service ready on ${base} (metrics on http://127.0.0.1:${service.metricsPort}/metrics)`,
      ...(keys.devKey === undefined
        ? []
        : [`development API key (all scopes, this run only): ${keys.devKey}`]),
      `try: curl -s -H "Authorization: Bearer ${bearer}" ${base}/v1/campaigns/${featured?.campaign.id ?? '<campaignId>'}`,
    ].join('\n'),
  );
}

/**
 * At start-up only, when asked for: campaigns without any trace in this Redis get a ledger, and
 * the log says so. Without LEDGER_AUTO_INIT nothing initialises by itself: npm run ledger:init does.
 */
async function initLedgersForDevelopment(service: RunningService, logger: Logger): Promise<void> {
  if (!(await redisReady(service.redis, 5000))) {
    logger.warn(
      'auto-init: Redis not ready within 5 s, so no ledger was initialised; claims answer 503 until npm run ledger:init',
    );
    return;
  }
  try {
    await initDevelopmentLedgers(service.ledgers, service.clock, logger);
  } catch (err) {
    logger.error({ err }, 'auto-init: initialising the ledgers failed');
  }
}

runDeployable('coupon-service', main);
