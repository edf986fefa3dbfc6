import { EVENT_TYPES, LedgerRecord } from '@coupons/ledger-record';
import {
  configAndCampaignsOrExit,
  createRedisClient,
  exitWith,
  runDeployable,
  stopOnSignals,
} from '@coupons/runtime';
import {
  createLogger,
  createRecorderMetrics,
  initialiseRecorderSeries,
  type Logger,
} from '@coupons/telemetry';
import { parseRecorderEnv } from './config';
import { startMetricsServer } from './http';
import { RecorderLoop } from './loop';
import { Recorder } from './recorder';
import { shardsOf } from './streams';

async function main(): Promise<void> {
  const { config, campaigns } = configAndCampaignsOrExit(() => parseRecorderEnv(process.env));
  const logger = createLogger({ level: config.logLevel, name: 'coupon-recorder' });
  const shards = shardsOf(campaigns);
  const metrics = createRecorderMetrics(EVENT_TYPES);
  initialiseRecorderSeries(metrics, shards);

  // The service's client settings: no offline queue, a command timeout, reconnect forever.
  // Reconnects at least every 200 ms: a fenced shard on a restarted Redis serves only once this
  // process is back and has verified it (at most one more reconnect attempt of outage).
  const redis = createRedisClient(config.redis, config.redisCommandTimeoutMs, {
    reconnectCapMs: 200,
  });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'recorder: Redis error'));
  const record = LedgerRecord.connect(config.databaseUrl, { max: 4 });
  const recorder = new Recorder({
    redis,
    record,
    shards,
    consumer: config.consumerName,
    batchSize: config.batchSize,
    claimIdleMs: config.claimIdleMs,
    metrics,
    logger,
  });
  const loop = new RecorderLoop({
    recorder,
    metrics,
    logger,
    idleMs: config.blockMs,
    sampleMs: config.sampleMs,
  });
  const http = await startMetricsServer({
    registry: metrics.registry,
    host: config.metricsHost,
    port: config.metricsPort,
    ready: () => loop.ready,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE')
      exitWith(`Port in use: ${err.message}. Set RECORDER_METRICS_PORT to a free port.`);
    throw err;
  });
  await redis.connect().catch((err: Error) => {
    // Reconnects by itself; the loop reports each shard until Redis answers.
    logger.warn({ err: err.message }, 'recorder: Redis not answering yet');
  });

  stopOnSignals(
    logger,
    finishThenExit(loop, logger, config.shutdownGraceMs, async () => {
      http.server.close();
      redis.disconnect();
      await record.close();
    }),
  );

  logger.info(
    {
      consumer: config.consumerName,
      shards: shards.length,
      campaigns: campaigns.length,
      metricsPort: http.port,
    },
    'coupon-recorder running',
  );
  void loop.start();
}

/**
 * On SIGTERM/SIGINT: the batch in flight finished, then `close` and exit 0; the grace running
 * out exits 1 (unacknowledged entries are delivered again).
 */
function finishThenExit(
  loop: RecorderLoop,
  logger: Logger,
  graceMs: number,
  close: () => Promise<void>,
): (signal: NodeJS.Signals) => void {
  return (signal) => {
    logger.info({ signal }, 'recorder: finishing the batch in flight, then exiting');
    const grace = setTimeout(() => {
      logger.error('recorder: shutdown grace ran out; unacknowledged entries are delivered again');
      process.exit(1);
    }, graceMs);
    grace.unref();
    void loop
      .stop()
      .then(async () => {
        await close();
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
}

runDeployable('coupon-recorder', main);
