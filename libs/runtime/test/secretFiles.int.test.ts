import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import { describeIfRedis } from '@coupons/testing';
import {
  ConfigError,
  createRedisClient,
  parseEnvironment,
  runtimeConfig,
  runtimeEnvShape,
} from '../src';
import { z } from 'zod';

const schema = z.object(runtimeEnvShape);
const PASSWORD = 'file-mounted-redis-password';

/** The Redis target a deployable builds from this environment (throws what it refuses). */
function targetFrom(env: Record<string, string>) {
  const parsed = parseEnvironment(schema, { NODE_ENV: 'test', ...env });
  const runtime = runtimeConfig(parsed, '/');
  if (runtime === undefined || parsed.issues.length > 0) throw new ConfigError(parsed.issues);
  return runtime.redis;
}

describeIfRedis('secrets mounted as files (REDIS_PASSWORD_FILE)', () => {
  let server: RedisServerHandle;
  const dir = mkdtempSync(join(tmpdir(), 'secret-files-'));
  const passwordFile = join(dir, 'password');

  beforeAll(async () => {
    server = await startRedisServer();
    const admin = createRedisClient(targetFrom({ REDIS_URL: server.url }), 2000);
    await admin.connect();
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
    // As `kubectl create secret` leaves it: the value and a newline.
    writeFileSync(passwordFile, `${PASSWORD}\n`);
  });
  afterAll(() => server?.stop());

  it('authenticates with the password the file holds, and is refused without it', async () => {
    const withFile = createRedisClient(
      targetFrom({ REDIS_URL: server.url, REDIS_PASSWORD_FILE: passwordFile }),
      2000,
      { reconnect: 'never' },
    );
    const without = createRedisClient(targetFrom({ REDIS_URL: server.url }), 2000, {
      reconnect: 'never',
    });
    without.on('error', () => undefined);
    try {
      await withFile.connect();
      expect(await withFile.ping()).toBe('PONG');
      // ioredis's ready check meets NOAUTH and closes: the connection never becomes usable.
      await expect(without.connect().then(() => without.ping())).rejects.toThrow();
      expect(without.status).not.toBe('ready');
    } finally {
      withFile.disconnect();
      without.disconnect();
    }
  });

  it('names the variable, never the content, when the file is missing or empty', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => targetFrom({ REDIS_PASSWORD_FILE: join(dir, 'absent') })).toThrow(
      /REDIS_PASSWORD_FILE: cannot read .*absent \(ENOENT\)/,
    );
    expect(() => targetFrom({ REDIS_TLS_CA_FILE: empty })).toThrow(
      /REDIS_TLS_CA_FILE: .* is empty/,
    );
  });
});
