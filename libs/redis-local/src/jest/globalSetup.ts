import { findRedisCliBinary, findRedisServerBinary, redisInstallHint } from '../binaries';
import { startLocalCluster } from '../cluster';
import { isCi, TEST_REDIS_CLUSTER_NODES_ENV, TEST_REDIS_URL_ENV } from '../env';
import { startRedisServer } from '../server';
import { saveState } from './state';

/**
 * Starts one standalone redis-server and one local Redis Cluster for the whole jest run and hands
 * them to the test workers through COUPONS_TEST_REDIS_URL and COUPONS_TEST_REDIS_CLUSTER_NODES.
 * Without redis-server: an error on CI (CI=true), else one warning and Redis tests are skipped.
 */
export default async function globalSetup(): Promise<void> {
  // Never inherit targets from the shell: tests must only ever see servers started here.
  delete process.env[TEST_REDIS_URL_ENV];
  delete process.env[TEST_REDIS_CLUSTER_NODES_ENV];

  const missing =
    findRedisServerBinary() === undefined
      ? 'redis-server'
      : findRedisCliBinary() === undefined
        ? 'redis-cli'
        : undefined;
  if (missing !== undefined) {
    const hint = redisInstallHint(missing);
    if (isCi()) throw new Error(`${missing} missing: Redis integration tests cannot run. ${hint}`);
    console.warn(`[redis-local] ${missing} missing, skipping Redis integration tests. ${hint}`);
    return;
  }

  const [standalone, cluster] = await Promise.allSettled([startRedisServer(), startLocalCluster()]);
  if (standalone.status === 'rejected' || cluster.status === 'rejected') {
    await Promise.allSettled([
      standalone.status === 'fulfilled' ? standalone.value.stop() : undefined,
      cluster.status === 'fulfilled' ? cluster.value.stop() : undefined,
    ]);
    throw standalone.status === 'rejected'
      ? standalone.reason
      : (cluster as PromiseRejectedResult).reason;
  }

  saveState({
    standalone: standalone.value,
    cluster: cluster.value,
    pids: [standalone.value.pid, ...cluster.value.nodes.map((n) => n.pid)],
  });
  process.env[TEST_REDIS_URL_ENV] = standalone.value.url;
  process.env[TEST_REDIS_CLUSTER_NODES_ENV] = cluster.value.startupNodes
    .map((n) => `${n.host}:${n.port}`)
    .join(',');
}
