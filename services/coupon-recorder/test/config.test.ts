import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '@coupons/runtime';
import { parseRecorderEnv, RECORDER_ENV_NAMES } from '../src';

const DATABASE_URL = 'postgresql://recorder@db:5432/coupons';

describe('the recorder configuration', () => {
  it('reads the service’s Redis and campaigns settings and its own, frozen', () => {
    const config = parseRecorderEnv(
      {
        DATABASE_URL,
        REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1:6379',
        REDIS_COMMAND_TIMEOUT_MS: '800',
        CAMPAIGNS_FILE: 'campaigns.json',
        RECORDER_BATCH_SIZE: '200',
        RECORDER_BLOCK_MS: '250',
        RECORDER_CLAIM_IDLE_MS: '45000',
        RECORDER_METRICS_PORT: '9500',
        RECORDER_CONSUMER_NAME: 'recorder-7f9c-1',
      },
      '/etc/coupons',
    );
    expect(config).toMatchObject({
      databaseUrl: DATABASE_URL,
      redis: {
        mode: 'cluster',
        nodes: [
          { host: 'redis-0', port: 6379 },
          { host: 'redis-1', port: 6379 },
        ],
      },
      redisCommandTimeoutMs: 800,
      campaignsFile: '/etc/coupons/campaigns.json',
      batchSize: 200,
      blockMs: 250,
      claimIdleMs: 45_000,
      metricsPort: 9500,
      consumerName: 'recorder-7f9c-1',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.redis)).toBe(true);
  });

  it('defaults the consumer to the pod name and pid, and the rest to documented values', () => {
    const config = parseRecorderEnv({ DATABASE_URL, HOSTNAME: 'coupon-recorder-5d8f7' });
    expect(config.consumerName).toBe(`coupon-recorder-5d8f7-${process.pid}`);
    expect(config).toMatchObject({
      redis: { mode: 'standalone', url: 'redis://127.0.0.1:6379' },
      batchSize: 500,
      blockMs: 1000,
      claimIdleMs: 30_000,
      metricsPort: 9465,
    });
  });

  it('lists every problem of both parsers in one error', () => {
    let error: unknown;
    try {
      parseRecorderEnv({
        REDIS_URL: 'http://not-redis',
        RECORDER_BATCH_SIZE: '0',
        RECORDER_CONSUMER_NAME: 'has space',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.join('\n');
    expect(issues).toMatch(/^REDIS_URL:/m);
    expect(issues).toMatch(/^RECORDER_BATCH_SIZE:/m);
    expect(issues).toMatch(/^RECORDER_CONSUMER_NAME:/m);
    expect(issues).toMatch(/^DATABASE_URL: required/m);
  });
});

describe('the recorder configuration, strictly', () => {
  const issuesOf = (env: Record<string, string>): readonly string[] => {
    try {
      parseRecorderEnv({ DATABASE_URL, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('is in production unless NODE_ENV is exactly development or test, and refuses other spellings', () => {
    expect(parseRecorderEnv({ DATABASE_URL }).production).toBe(true);
    expect(parseRecorderEnv({ DATABASE_URL, NODE_ENV: 'test' }).production).toBe(false);
    for (const typo of ['Production', 'prod', 'production '])
      expect(issuesOf({ NODE_ENV: typo })).toEqual([
        'NODE_ENV: exactly "production", "development" or "test" (unset means production)',
      ]);
  });

  it('refuses blank values and numbers that are not decimal digits, naming the variable', () => {
    expect(issuesOf({ RECORDER_METRICS_PORT: '  ', RECORDER_BATCH_SIZE: '1e3' })).toEqual([
      'RECORDER_METRICS_PORT: empty; give it a value or leave it unset',
      'RECORDER_BATCH_SIZE: a whole number in decimal digits',
    ]);
    expect(issuesOf({ DATABASE_URL: '' })).toEqual(
      expect.arrayContaining(['DATABASE_URL: empty; give it a value or leave it unset']),
    );
  });
});

describe('the environments the repository ships for the recorder', () => {
  const root = resolve(__dirname, '../../..');
  type EnvVar = { name: string; value?: string };
  const known = new Set([...RECORDER_ENV_NAMES, 'NODE_OPTIONS']);

  const deployment = () => {
    const object = parse(
      readFileSync(join(root, 'k8s', 'base', 'recorder-deployment.yaml'), 'utf8'),
    ) as { spec: { template: { spec: { containers: { name: string; env: EnvVar[] }[] } } } };
    return object.spec.template.spec.containers.find((c) => c.name === 'coupon-recorder')!.env;
  };
  const compose = () =>
    (
      parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as {
        services: Record<string, { environment: Record<string, string> }>;
      }
    ).services['coupon-recorder']!.environment;

  it('names only variables the recorder reads (a typo would be silently ignored)', () => {
    const unknown = [
      ...deployment().map((v) => `recorder-deployment.yaml: ${v.name}`),
      ...Object.keys(compose()).map((name) => `compose.yaml: ${name}`),
    ].filter((entry) => !known.has(entry.split(': ')[1]!));
    expect(unknown).toEqual([]);
  });

  it('parses the base deployment’s and compose’s values', () => {
    const values = Object.fromEntries(
      deployment().flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])),
    );
    // The Secret's key, mounted where DATABASE_URL_FILE says, holds the URL.
    expect(values.DATABASE_URL_FILE).toBeDefined();
    const mounted = join(mkdtempSync(join(tmpdir(), 'recorder-secret-')), 'url');
    writeFileSync(mounted, `${DATABASE_URL}\n`);
    const config = parseRecorderEnv({ ...values, DATABASE_URL_FILE: mounted }, '/srv');
    expect(config.databaseUrl).toBe(DATABASE_URL);
    expect(config.production).toBe(true);
    expect(config.metricsPort).toBe(9465);
    expect(parseRecorderEnv(compose(), '/srv').production).toBe(false);
  });
});
