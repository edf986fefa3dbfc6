import {
  redisInstallHint,
  startRedisServer,
  type RedisServerHandle,
  type StartRedisServerOptions,
} from '@coupons/redis-local';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type Cluster } from 'ioredis';
import { describeIfExecutables } from './executables';
import type { RedisTestTarget } from './redisTargets';
import { until } from './polling';

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

/**
 * A redis-server of each test's own in a fresh directory, so that its snapshots can be restarted
 * from, and a client on it (handed to `connected`; one retry per command, so it reconnects after a
 * restart); stopped and the directory removed after the test. The returned function saves nothing:
 * it stops the server with SHUTDOWN NOSAVE and restarts it on the same port from the last SAVE.
 */
export function useRestartableRedis(
  prefix: string,
  connected: (redis: Redis) => void,
): () => Promise<void> {
  let dir: string;
  let server: RedisServerHandle | undefined;
  let redis: Redis | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    server = await startRedisServer({ dir });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    connected(redis);
  });
  afterEach(async () => {
    redis?.disconnect();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return async () => {
    const port = server!.port;
    await redis!.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    await server!.stop();
    server = await startRedisServer({ dir, port });
    await redis!.ping();
  };
}

/**
 * A client of a describeWithRedis target for the block's tests: connected before them and handed
 * to `connected`; the target quits it after them.
 */
export function connectBeforeAll(
  target: RedisTestTarget,
  connected: (client: Redis | Cluster) => void,
): void {
  beforeAll(() => connected(target.connect()));
}

/**
 * Waits until a replica's initial sync is done as both ends see it: the replica reports its link
 * up, and its master counts it online (a WAIT there for one replica returns at once), which is
 * what a write's WAIT needs.
 */
export async function untilReplicaInSync(replica: RedisServerHandle): Promise<void> {
  const reader = new Redis(replica.url);
  let master: Redis | undefined;
  try {
    const info = await until('the replica in sync', async () => {
      const replication = await reader.info('replication');
      return /master_link_status:up/.test(replication) ? replication : undefined;
    });
    const host = /master_host:(\S+)/.exec(info)?.[1];
    const port = Number(/master_port:(\d+)/.exec(info)?.[1]);
    master = new Redis({ host, port });
    const connection = master;
    await until('the master counting its replica online', async () =>
      (await connection.wait(1, 100)) >= 1 ? true : undefined,
    );
  } finally {
    reader.disconnect();
    master?.disconnect();
  }
}
