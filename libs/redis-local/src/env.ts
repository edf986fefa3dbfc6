/** Set by the jest globalSetup for test workers: redis://127.0.0.1:<port> of the standalone server. */
export const TEST_REDIS_URL_ENV = 'COUPONS_TEST_REDIS_URL';
/** Set by the jest globalSetup for test workers: the local cluster's nodes, `host:port,host:port`. */
export const TEST_REDIS_CLUSTER_NODES_ENV = 'COUPONS_TEST_REDIS_CLUSTER_NODES';

export function isCi(): boolean {
  return process.env['CI'] === 'true';
}
