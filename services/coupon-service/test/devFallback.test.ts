import { createLogger } from '@coupons/telemetry';
import { NoRedisError, parseEnv, resolveRedisTarget, type DevFallbackDeps } from '../src';
import { memoryLog } from './support';

const handle = {
  port: 31999,
  pid: 4242,
  url: 'redis://127.0.0.1:31999',
  dir: '/tmp/x',
  stop: async () => undefined,
};

function deps(overrides: Partial<DevFallbackDeps>): DevFallbackDeps & { started: () => number } {
  let started = 0;
  return {
    answers: async () => false,
    findBinary: () => '/usr/bin/redis-server',
    start: async () => {
      started += 1;
      return handle;
    },
    ...overrides,
    started: () => started,
  };
}

describe('resolveRedisTarget (development fallback)', () => {
  const logger = () => {
    const log = memoryLog();
    return { log, logger: createLogger({ level: 'info', destination: log.stream }) };
  };

  it('uses the default URL when something answers there', async () => {
    const d = deps({ answers: async () => true });
    const { target } = await resolveRedisTarget(
      parseEnv({ NODE_ENV: 'development' }),
      logger().logger,
      d,
    );
    expect(target).toEqual({
      mode: 'standalone',
      url: 'redis://127.0.0.1:6379',
      urlFromEnv: false,
    });
    expect(d.started()).toBe(0);
  });

  it('starts a private redis-server when nothing answers at the default, and says so', async () => {
    const d = deps({});
    const { log, logger: l } = logger();
    const { target, devServer } = await resolveRedisTarget(
      parseEnv({ NODE_ENV: 'development' }),
      l,
      d,
    );
    expect(target).toEqual({ mode: 'standalone', url: handle.url, urlFromEnv: false });
    expect(devServer).toBe(handle);
    expect(log.text()).toMatch(/started a private redis-server at redis:\/\/127\.0\.0\.1:31999/);
  });

  it('says how to get Redis when none is installed', async () => {
    await expect(
      resolveRedisTarget(
        parseEnv({ NODE_ENV: 'development' }),
        logger().logger,
        deps({ findBinary: () => undefined }),
      ),
    ).rejects.toThrow(NoRedisError);
    await expect(
      resolveRedisTarget(
        parseEnv({ NODE_ENV: 'development' }),
        logger().logger,
        deps({ findBinary: () => undefined }),
      ),
    ).rejects.toThrow(/apt-get install redis-server/);
  });

  it('never falls back in production, for an explicit REDIS_URL, or for a cluster', async () => {
    for (const env of [
      {
        NODE_ENV: 'production',
        COUPON_API_KEYS: '[{"id":"a","sha256":"' + 'a'.repeat(64) + '","scopes":["budget:read"]}]',
      },
      { REDIS_URL: 'redis://10.1.2.3:6379' },
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000' },
    ]) {
      const d = deps({});
      const { devServer } = await resolveRedisTarget(
        parseEnv({ NODE_ENV: 'development', ...env }),
        logger().logger,
        d,
      );
      expect(devServer).toBeUndefined();
      expect(d.started()).toBe(0);
    }
  });
});
