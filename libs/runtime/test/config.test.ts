import { z } from 'zod';
import {
  ConfigError,
  decimal,
  isProduction,
  parseEnvironment,
  runtimeConfig,
  runtimeEnvShape,
  wholeNumber,
} from '../src';

const schema = z.object({
  ...runtimeEnvShape,
  COUNT: wholeNumber(0, 100).default(7),
  SHARE: decimal(z.number().gt(0).max(1)).optional(),
});

const parse = (env: Record<string, string | undefined>) => {
  const parsed = parseEnvironment(schema, env);
  const runtime = runtimeConfig(parsed, '/srv');
  return { ...parsed, runtime };
};

describe('parseEnvironment', () => {
  it('reads only the variables its schema names, with their defaults', () => {
    const { data, issues, present } = parse({ NODE_ENV: 'test', COUNT: '12', PATH: '/bin' });
    expect(issues).toEqual([]);
    expect(present).toEqual({ NODE_ENV: 'test', COUNT: '12' });
    expect(data).toMatchObject({ COUNT: 12, REDIS_COMMAND_TIMEOUT_MS: 500 });
    expect(data?.SHARE).toBeUndefined();
  });

  it('names every empty or whitespace-only variable instead of taking its default', () => {
    expect(parse({ COUNT: '', SHARE: ' \t', LOG_LEVEL: '  ' }).issues).toEqual([
      'LOG_LEVEL: empty; give it a value or leave it unset',
      'COUNT: empty; give it a value or leave it unset',
      'SHARE: empty; give it a value or leave it unset',
    ]);
  });

  it('takes whole numbers in decimal digits and nothing else', () => {
    for (const typo of ['0x2', '0b1010', '0o7', '1e3', '+5', '-1', '1.0', ' 5', '5 ', '٣', 'NaN'])
      expect(parse({ COUNT: typo }).issues).toEqual(['COUNT: a whole number in decimal digits']);
    expect(parse({ COUNT: '101' }).issues[0]).toMatch(/^COUNT: /);
    expect(parse({ COUNT: '007' }).data?.COUNT).toBe(7);
  });

  it('takes decimals without exponent or sign', () => {
    expect(parse({ SHARE: '0.25' }).data?.SHARE).toBe(0.25);
    for (const typo of ['1e-1', '.5', '5.', '-0.5', '0x1'])
      expect(parse({ SHARE: typo }).issues[0]).toMatch(/^SHARE: a decimal number/);
  });
});

describe('the run mode', () => {
  it('is production unless NODE_ENV is exactly development or test', () => {
    expect(isProduction(undefined)).toBe(true);
    expect(isProduction('production')).toBe(true);
    expect(isProduction('Production')).toBe(true);
    expect(isProduction('development')).toBe(false);
    expect(isProduction('test')).toBe(false);
    expect(parse({}).runtime).toMatchObject({ mode: 'production', production: true });
    expect(parse({ NODE_ENV: 'development' }).runtime).toMatchObject({ production: false });
  });

  it('refuses any other spelling, with a message that says the choices', () => {
    for (const typo of ['Production', 'production ', 'prod', 'DEVELOPMENT', 'tests'])
      expect(parse({ NODE_ENV: typo }).issues).toEqual([
        'NODE_ENV: exactly "production", "development" or "test" (unset means production)',
      ]);
  });
});

describe('runtimeConfig', () => {
  it('reads Redis, the campaigns file and the listening addresses', () => {
    expect(
      parse({ REDIS_CLUSTER_NODES: 'a:7000, b:7001', CAMPAIGNS_FILE: 'c.json', HOST: '::1' })
        .runtime,
    ).toMatchObject({
      redis: {
        mode: 'cluster',
        nodes: [
          { host: 'a', port: 7000 },
          { host: 'b', port: 7001 },
        ],
      },
      campaignsFile: '/srv/c.json',
      host: '::1',
      metricsHost: '::1',
    });
    expect(parse({ REDIS_CLUSTER_NODES: 'a:0x10' }).issues[0]).toMatch(/^REDIS_CLUSTER_NODES/);
  });

  it('refuses two Redis targets at once', () => {
    expect(parse({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }).issues).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set one of them, not both',
    ]);
  });

  it('lists the issues in a ConfigError message, one a line', () => {
    expect(new ConfigError(['A: x', 'B: y']).message).toBe(
      'Invalid environment:\n  - A: x\n  - B: y',
    );
  });
});
