import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import {
  findRedisServerBinary,
  isCi,
  redisInstallHint,
  TEST_REDIS_CLUSTER_NODES_ENV,
  TEST_REDIS_URL_ENV,
  type ClusterNodeAddress,
} from '@coupons/redis-local';

export type RedisMode = 'standalone' | 'cluster';

export interface RedisTestTarget {
  mode: RedisMode;
  /**
   * Unique to one describeWithRedis block and mode, e.g. `t:3f9a1c0b:`. Start every key with it;
   * it holds no `{`, so a hash tag later in the key still decides the slot.
   */
  keyPrefix: string;
  /**
   * A new ioredis client for this mode (Redis or Cluster). Clients are quit in an afterAll of the
   * block, so call it in a hook or a test, not in the describe body itself.
   */
  connect(): Redis | Cluster;
}

export interface RedisTestTargets {
  standalone?: string;
  clusterNodes?: ClusterNodeAddress[];
}

/** The servers the jest globalSetup started, read from the environment of the test worker. */
export function redisTestTargets(): RedisTestTargets {
  const targets: RedisTestTargets = {};
  const url = process.env[TEST_REDIS_URL_ENV];
  if (url !== undefined && url !== '') targets.standalone = url;
  const nodes = process.env[TEST_REDIS_CLUSTER_NODES_ENV];
  if (nodes !== undefined && nodes !== '') {
    targets.clusterNodes = nodes.split(',').map((entry) => {
      const at = entry.lastIndexOf(':');
      const port = Number(entry.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port)) {
        throw new Error(`${TEST_REDIS_CLUSTER_NODES_ENV}: bad node ${JSON.stringify(entry)}`);
      }
      return { host: entry.slice(0, at), port };
    });
  }
  return targets;
}

/**
 * Declares `${name} [standalone]` and `${name} [cluster]`, each calling fn with a target for that
 * mode. Without the servers (redis-server missing): on CI (CI=true) each block holds one failing
 * test saying so; elsewhere both blocks are skipped.
 */
export function describeWithRedis(name: string, fn: (target: RedisTestTarget) => void): void {
  const targets = redisTestTargets();
  describeMode(name, 'standalone', targets.standalone !== undefined, fn, () =>
    connectStandalone(targets.standalone as string),
  );
  describeMode(name, 'cluster', targets.clusterNodes !== undefined, fn, () =>
    connectCluster(targets.clusterNodes as ClusterNodeAddress[]),
  );
}

function describeMode(
  name: string,
  mode: RedisMode,
  available: boolean,
  fn: (target: RedisTestTarget) => void,
  open: () => Redis | Cluster,
): void {
  const title = `${name} [${mode}]`;
  const keyPrefix = `t:${randomBytes(4).toString('hex')}:`;
  if (!available) {
    const envVar = mode === 'standalone' ? TEST_REDIS_URL_ENV : TEST_REDIS_CLUSTER_NODES_ENV;
    const missing =
      `redis-server missing: no ${mode} Redis for tests (${envVar} is unset; the jest ` +
      `globalSetup of @coupons/redis-local sets it)` +
      (findRedisServerBinary() === undefined ? `. ${redisInstallHint()}` : '');
    if (isCi()) {
      describe(title, () => {
        it('has a Redis to run against', () => {
          throw new Error(missing);
        });
      });
    } else {
      describe.skip(title, () =>
        fn({
          mode,
          keyPrefix,
          connect: () => {
            throw new Error(missing);
          },
        }),
      );
    }
    return;
  }
  describe(title, () => {
    const clients: (Redis | Cluster)[] = [];
    afterAll(async () => {
      await Promise.all(clients.splice(0).map(closeClient));
    });
    fn({
      mode,
      keyPrefix,
      connect: () => {
        const client = open();
        clients.push(client);
        return client;
      },
    });
  });
}

function connectStandalone(url: string): Redis {
  return new Redis(url, {
    connectTimeout: 2000,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => (times > 10 ? null : Math.min(50 * 2 ** times, 1000)),
  });
}

function connectCluster(nodes: ClusterNodeAddress[]): Cluster {
  return new Cluster(nodes, {
    scaleReads: 'master',
    enableReadyCheck: true,
    slotsRefreshTimeout: 2000,
    maxRedirections: 16,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    clusterRetryStrategy: (times) => (times > 10 ? null : Math.min(100 * times, 1000)),
    redisOptions: { connectTimeout: 2000, maxRetriesPerRequest: 3 },
  });
}

async function closeClient(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
