import {
  redisInstallHint,
  startRedisServer,
  type RedisServerHandle,
  type StartRedisServerOptions,
} from '@coupons/redis-local';
import { Redis } from 'ioredis';
import { describeIfExecutables } from './executables';

/** `describe` for tests that start redis-servers of their own (see describeIfExecutables). */
export function describeIfRedis(name: string, fn: () => void): void {
  describeIfExecutables(name, { 'redis-server': redisInstallHint() }, fn);
}

export interface PrivateRedis {
  readonly server: RedisServerHandle;
  readonly redis: Redis;
}

/**
 * A redis-server of this describe block's own (never a shared one: the tests may flush, stop or
 * reconfigure it) and a client, started before its tests and stopped after them.
 */
export function usePrivateRedis(options: StartRedisServerOptions = {}): PrivateRedis {
  let server: RedisServerHandle | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedisServer(options);
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      if (server === undefined) throw new Error('usePrivateRedis: used outside a test');
      return server;
    },
    get redis() {
      if (redis === undefined) throw new Error('usePrivateRedis: used outside a test');
      return redis;
    },
  };
}
