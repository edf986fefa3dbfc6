import { withoutUserinfo } from '@coupons/telemetry';
import { Cluster, Redis } from 'ioredis';

/** Where a deployable's Redis is: one server by URL, or a cluster by its seed nodes. */
export type RedisTarget = (
  | { readonly mode: 'standalone'; readonly url: string; readonly urlFromEnv: boolean }
  | { readonly mode: 'cluster'; readonly nodes: readonly { host: string; port: number }[] }
) & {
  /** From REDIS_PASSWORD_FILE: AUTH on every connection (a URL's own password wins for it). */
  readonly password?: string;
  /** From REDIS_TLS_CA_FILE: TLS on every connection, verified against this CA. */
  readonly tlsCa?: string;
};

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /**
   * 'forever' (a deployable: Redis may come back, and the pod waits for it) or 'never' (an
   * operator CLI: "cannot reach Redis" at once, not a process that retries forever).
   */
  reconnect?: 'forever' | 'never';
  connectTimeoutMs?: number;
  /** The longest wait between reconnects (the recorder's is short: it opens fenced shards). */
  reconnectCapMs?: number;
}

/** Reconnect quickly at first, then every 2 s (or `capMs`); never give up (Redis may come back). */
const reconnectDelay =
  (capMs = 2000) =>
  (attempt: number) =>
    Math.min(50 * 2 ** attempt, capMs);

/**
 * Money fails closed and fast: no offline queue (a command while disconnected errors at once),
 * a command timeout, and no silent retries of a command that may already have run. The client
 * connects when told (lazyConnect).
 */
export function createRedisClient(
  target: RedisTarget,
  commandTimeoutMs: number,
  options: RedisClientOptions = {},
): RedisClient {
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const retry = options.reconnect === 'never' ? () => null : reconnectDelay(options.reconnectCapMs);
  const common = {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout,
    lazyConnect: true,
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tlsCa === undefined ? {} : { tls: { ca: target.tlsCa } }),
  };
  if (target.mode === 'cluster') {
    return new Cluster(
      target.nodes.map((node) => ({ host: node.host, port: node.port })),
      {
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: retry,
        slotsRefreshTimeout: connectTimeout,
        redisOptions: common,
      },
    );
  }
  return new Redis(target.url, { ...common, retryStrategy: retry });
}

/** The target for people to read: a password in the URL never leaves the process. */
export function describeRedisTarget(target: RedisTarget): string {
  return target.mode === 'cluster'
    ? `Redis Cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`
    : `Redis ${withoutUserinfo(target.url)}`;
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
