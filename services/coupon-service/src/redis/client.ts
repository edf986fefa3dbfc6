import { Cluster, Redis } from 'ioredis';
import type { ServiceConfig } from '../config/env';

export type RedisClient = Redis | Cluster;

export type RedisTarget = ServiceConfig['redis'];

/** Reconnect quickly at first, then every 2 s (or `capMs`); never give up (Redis may come back). */
const reconnectDelay =
  (capMs = 2000) =>
  (attempt: number) =>
    Math.min(50 * 2 ** attempt, capMs);

/**
 * Money fails closed and fast: no offline queue (a command while disconnected errors at once),
 * a command timeout, and no silent retries of a command that may already have run.
 */
export function createRedisClient(
  target: RedisTarget,
  commandTimeoutMs: number,
  /** The longest wait between reconnects (the recorder's is short: it opens fenced shards). */
  reconnectCapMs?: number,
): RedisClient {
  const reconnectDelayMs = reconnectDelay(reconnectCapMs);
  const common = {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    lazyConnect: true,
  };
  if (target.mode === 'cluster') {
    return new Cluster(
      target.nodes.map((node) => ({ host: node.host, port: node.port })),
      {
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: reconnectDelayMs,
        slotsRefreshTimeout: 2000,
        redisOptions: common,
      },
    );
  }
  return new Redis(target.url, { ...common, retryStrategy: reconnectDelayMs });
}

/** One PING with its own short-lived connection: is anything answering at this URL? */
export async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
