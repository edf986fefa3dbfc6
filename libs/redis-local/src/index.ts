export {
  findExecutableOnPath,
  findRedisCliBinary,
  findRedisServerBinary,
  redisInstallHint,
} from './binaries';
export { canBind, CLUSTER_BUS_OFFSET, findFreePort, type FindFreePortOptions } from './ports';
export { RedisReplyError, sendRawCommand, type RawReply } from './resp';
export {
  isAlive,
  startRedisServer,
  stopPid,
  type RedisServerHandle,
  type StartRedisServerOptions,
} from './server';
export {
  startLocalCluster,
  type ClusterNodeAddress,
  type LocalClusterHandle,
  type LocalClusterOptions,
} from './cluster';
export { isCi, TEST_REDIS_CLUSTER_NODES_ENV, TEST_REDIS_URL_ENV } from './env';
