import {
  findRedisServerBinary,
  startRedisServer,
  type RedisServerHandle,
} from '@coupons/redis-local';
import type { Logger } from '@coupons/telemetry';
import type { ServiceConfig } from '../config/env';
import { redisAnswers, type RedisTarget } from './client';

export class NoRedisError extends Error {
  constructor(url: string) {
    super(
      `No Redis answers at ${url} and no redis-server is on PATH: install Redis 7 (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.`,
    );
    this.name = 'NoRedisError';
  }
}

export interface DevFallbackDeps {
  answers: (url: string, timeoutMs: number) => Promise<boolean>;
  findBinary: () => string | undefined;
  start: () => Promise<RedisServerHandle>;
}

const realDeps: DevFallbackDeps = {
  answers: redisAnswers,
  findBinary: findRedisServerBinary,
  start: () => startRedisServer(),
};

/**
 * Development convenience only: when REDIS_URL was not set and nothing answers at the default,
 * start a private redis-server. An explicit REDIS_URL, a cluster, or production never falls back:
 * there the pod starts not-ready and waits for the Redis it was told about.
 */
export async function resolveRedisTarget(
  config: ServiceConfig,
  logger: Logger,
  deps: DevFallbackDeps = realDeps,
): Promise<{ target: RedisTarget; devServer?: RedisServerHandle }> {
  const target = config.redis;
  if (target.mode === 'cluster' || config.production || target.urlFromEnv) return { target };
  if (await deps.answers(target.url, 1000)) return { target };
  if (deps.findBinary() === undefined) throw new NoRedisError(target.url);
  const devServer = await deps.start();
  logger.warn(
    { port: devServer.port, pid: devServer.pid },
    `no Redis answered at ${target.url}; started a private redis-server at ${devServer.url} (development only, nothing persisted); it stops when the service exits`,
  );
  return { target: { mode: 'standalone', url: devServer.url, urlFromEnv: false }, devServer };
}
