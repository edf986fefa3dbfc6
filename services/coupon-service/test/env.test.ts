import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, ENV_NAMES, parseEnv, sha256Hex } from '../src';

const key = (id: string, secret: string, scopes = ['coupons:issue']) => ({
  id,
  sha256: sha256Hex(secret),
  scopes,
});

/** NODE_ENV unset is production: the tests of development defaults ask for development. */
const DEV = { NODE_ENV: 'development' } as const;

function issuesOf(env: Record<string, string>): readonly string[] {
  try {
    parseEnv({ ...DEV, ...env }, '/srv');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('applies the documented defaults and freezes the result', () => {
    const config = parseEnv(DEV, '/srv');
    expect(config).toMatchObject({
      production: false,
      http: { host: '0.0.0.0', port: 8080, metricsPort: 9464 },
      redis: { mode: 'standalone', url: 'redis://127.0.0.1:6379', urlFromEnv: false },
      campaignsFile: '/srv/config/campaigns.json',
      apiKeys: undefined,
      logLevel: 'info',
      shutdownGraceMs: 10000,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('reads every variable', () => {
    const config = parseEnv(
      {
        NODE_ENV: 'production',
        PORT: '9000',
        METRICS_PORT: '9100',
        REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001',
        CAMPAIGNS_FILE: '/etc/coupons/campaigns.json',
        COUPON_API_KEYS: JSON.stringify([key('chat', 's3cret', ['coupons:issue', 'coupons:read'])]),
        LOG_LEVEL: 'warn',
        SHUTDOWN_GRACE_MS: '25000',
        HTTP_MAX_CONNECTIONS: '1000',
        HTTP_LISTEN_BACKLOG: '128',
        METRICS_HOST: '10.1.2.3',
        BODY_TIMEOUT_MS: '750',
      },
      '/srv',
    );
    expect(config.production).toBe(true);
    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: 9000,
      metricsHost: '10.1.2.3',
      metricsPort: 9100,
      bodyTimeoutMs: 750,
      maxConnections: 1000,
      listenBacklog: 128,
      requestTimeoutMs: 10_000,
    });
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
      ],
    });
    expect(config.campaignsFile).toBe('/etc/coupons/campaigns.json');
    expect(config.apiKeys).toEqual([
      { id: 'chat', sha256: sha256Hex('s3cret'), scopes: ['coupons:issue', 'coupons:read'] },
    ]);
    expect(config.logLevel).toBe('warn');
    expect(config.shutdownGraceMs).toBe(25000);
  });

  it('reads the admission settings, with defaults that shed before express', () => {
    expect(parseEnv(DEV, '/srv').admission).toEqual({
      enabled: true,
      overloadActions: false,
      tokenBucket: undefined,
      concurrency: { minLimit: 8, maxLimit: 256, claimShare: 0.8, latencyTargetMs: 50 },
      eventLoop: { delayP99Ms: 200, utilization: Infinity },
      defaultTimeoutMs: 2000,
      userLimit: { points: 30, durationSeconds: 60 },
      keyLimit: undefined,
      soldOut: { retrySpreadSeconds: 60, probeIntervalMs: 1000 },
    });
    const config = parseEnv(
      {
        ...DEV,
        ADMISSION: 'off',
        OVERLOAD_ACTIONS: 'on',
        ADMISSION_RATE: '1500',
        ADMISSION_CONCURRENCY_MIN: '4',
        ADMISSION_CONCURRENCY_MAX: '64',
        ADMISSION_CLAIM_SHARE: '0.5',
        ADMISSION_LATENCY_TARGET_MS: '50',
        ADMISSION_EVENT_LOOP_DELAY_MS: '100',
        ADMISSION_EVENT_LOOP_UTILIZATION: '0.95',
        REQUEST_TIMEOUT_DEFAULT_MS: '800',
        USER_RATE_LIMIT: 'off',
        API_KEY_RATE_LIMIT: '5000/1',
        SOLD_OUT_RETRY_SPREAD_SECONDS: '120',
        SOLD_OUT_PROBE_MS: '250',
      },
      '/srv',
    );
    expect(config.admission).toEqual({
      enabled: false,
      overloadActions: true,
      // One second of tokens when ADMISSION_BURST is not set.
      tokenBucket: { ratePerSecond: 1500, burst: 1500 },
      concurrency: { minLimit: 4, maxLimit: 64, claimShare: 0.5, latencyTargetMs: 50 },
      eventLoop: { delayP99Ms: 100, utilization: 0.95 },
      defaultTimeoutMs: 800,
      userLimit: undefined,
      keyLimit: { points: 5000, durationSeconds: 1 },
      soldOut: { retrySpreadSeconds: 120, probeIntervalMs: 250 },
    });
    expect(
      parseEnv({ ...DEV, ADMISSION_RATE: '10', ADMISSION_BURST: '3' }, '/srv').admission
        .tokenBucket,
    ).toEqual({ ratePerSecond: 10, burst: 3 });
  });

  it('refuses admission settings that cannot work', () => {
    const fields = (env: Record<string, string>) =>
      issuesOf(env).map((issue) => issue.split(':')[0]);
    expect(fields({ ADMISSION_BURST: '5' })).toEqual(['ADMISSION_BURST']);
    expect(fields({ ADMISSION_CONCURRENCY_MIN: '10', ADMISSION_CONCURRENCY_MAX: '5' })).toEqual([
      'ADMISSION_CONCURRENCY_MIN, ADMISSION_CONCURRENCY_MAX',
    ]);
    expect(fields({ ADMISSION: 'maybe' })).toEqual(['ADMISSION']);
    expect(
      fields({
        REDIS_WAIT_REPLICAS: '1',
        REDIS_WAIT_TIMEOUT_MS: '500',
        REDIS_COMMAND_TIMEOUT_MS: '500',
      }),
    ).toEqual(['REDIS_WAIT_TIMEOUT_MS, REDIS_COMMAND_TIMEOUT_MS']);
    expect(
      parseEnv(
        {
          ...DEV,
          REDIS_WAIT_REPLICAS: '1',
          REDIS_WAIT_TIMEOUT_MS: '499',
          REDIS_COMMAND_TIMEOUT_MS: '500',
        },
        '/srv',
      ).ledger.replication,
    ).toEqual({ replicas: 1, timeoutMs: 499 });
    expect(fields({ ADMISSION_CLAIM_SHARE: '0' })).toEqual(['ADMISSION_CLAIM_SHARE']);
    expect(fields({ USER_RATE_LIMIT: '10 per minute' })).toEqual(['USER_RATE_LIMIT']);
    expect(fields({ ADMISSION_RATE: '-1' })).toEqual(['ADMISSION_RATE']);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf({
      PORT: 'eighty',
      METRICS_PORT: '70000',
      REDIS_URL: 'http://nope',
      LOG_LEVEL: 'loud',
      SHUTDOWN_GRACE_MS: '-1',
      COUPON_API_KEYS: '[{"id":"a","sha256":"xyz","scopes":["coupons:everything"],"extra":1}]',
    });
    const fields = issues.map((issue) => issue.split(':')[0]);
    expect(fields).toEqual(
      expect.arrayContaining([
        'PORT',
        'METRICS_PORT',
        'REDIS_URL',
        'LOG_LEVEL',
        'SHUTDOWN_GRACE_MS',
        'COUPON_API_KEYS.0.sha256',
      ]),
    );
    expect(issues.join('\n')).toMatch(/COUPON_API_KEYS\.0\.scopes\.0/);
    expect(issues.join('\n')).toMatch(/COUPON_API_KEYS\.0: .*extra/i);
  });

  it('refuses production without keys, and ambiguous settings', () => {
    expect(issuesOf({ NODE_ENV: 'production' })).toEqual([
      'COUPON_API_KEYS or COUPON_API_KEYS_FILE: required in production (NODE_ENV unset or production; development keys need NODE_ENV=development)',
    ]);
    expect(issuesOf({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' })).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set one of them, not both',
    ]);
    expect(issuesOf({ COUPON_API_KEYS: '[]', COUPON_API_KEYS_FILE: 'keys.json' })).toEqual([
      'COUPON_API_KEYS, COUPON_API_KEYS_FILE: set one of them, not both',
    ]);
    expect(issuesOf({ COUPON_API_KEYS: 'not json' })[0]).toMatch(
      /^COUPON_API_KEYS: not valid JSON/,
    );
    expect(issuesOf({ COUPON_API_KEYS: JSON.stringify([key('a', 'x'), key('a', 'x')]) })).toEqual([
      'COUPON_API_KEYS.1.id: duplicate id "a"',
      'COUPON_API_KEYS.1.sha256: duplicate key hash',
    ]);
  });

  it('reads keys from a file, relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coupon-env-'));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify([key('ops', 'k', ['budget:read'])]));
    expect(parseEnv({ ...DEV, COUPON_API_KEYS_FILE: 'keys.json' }, dir).apiKeys).toEqual([
      { id: 'ops', sha256: sha256Hex('k'), scopes: ['budget:read'] },
    ]);
    expect(issuesOf({ COUPON_API_KEYS_FILE: join(dir, 'missing.json') })[0]).toMatch(
      /^COUPON_API_KEYS_FILE: cannot read .*missing\.json \(ENOENT\)/,
    );
  });

  it('refuses an empty or whitespace-only value, naming the variable, never as the default', () => {
    expect(issuesOf({ PORT: '  ' })).toEqual(['PORT: empty; give it a value or leave it unset']);
    expect(issuesOf({ REDIS_WAIT_REPLICAS: ' ', REDIS_URL: '' })).toEqual([
      'REDIS_URL: empty; give it a value or leave it unset',
      'REDIS_WAIT_REPLICAS: empty; give it a value or leave it unset',
    ]);
  });

  it('takes integers in decimal digits only', () => {
    for (const typo of ['0x2', '0b1010', '1e3', '+5', '8080 ', ' 8080', '1.0', '-1', 'Infinity'])
      expect(issuesOf({ PORT: typo }).map((issue) => issue.split(':')[0])).toEqual(['PORT']);
    expect(issuesOf({ REDIS_WAIT_REPLICAS: '0x2' })[0]).toMatch(/^REDIS_WAIT_REPLICAS: /);
    expect(issuesOf({ ADMISSION_RATE: '1e3' })[0]).toMatch(/^ADMISSION_RATE: /);
    expect(issuesOf({ ADMISSION_CLAIM_SHARE: '.5' })[0]).toMatch(/^ADMISSION_CLAIM_SHARE: /);
    expect(parseEnv({ ...DEV, PORT: '0', ADMISSION_CLAIM_SHARE: '0.5' }, '/srv')).toMatchObject({
      http: { port: 0 },
      admission: { concurrency: { claimShare: 0.5 } },
    });
  });
});

describe('the mode: production unless development or test is asked for', () => {
  const keys = JSON.stringify([key('chat', 's3cret')]);

  it('is production when NODE_ENV is unset, so keys are required and auto-init refused', () => {
    expect(parseEnv({ COUPON_API_KEYS: keys }, '/srv').production).toBe(true);
    let error: unknown;
    try {
      parseEnv({ LEDGER_AUTO_INIT: 'true' }, '/srv');
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).issues.map((issue) => issue.split(':')[0])).toEqual([
      'COUPON_API_KEYS or COUPON_API_KEYS_FILE',
      'LEDGER_AUTO_INIT',
    ]);
  });

  it('is development or test only when spelt exactly so', () => {
    expect(parseEnv({ NODE_ENV: 'development' }, '/srv').production).toBe(false);
    expect(parseEnv({ NODE_ENV: 'test' }, '/srv').production).toBe(false);
    expect(parseEnv({ NODE_ENV: 'production', COUPON_API_KEYS: keys }, '/srv').production).toBe(
      true,
    );
  });

  it('refuses any other spelling, and treats it as production meanwhile (no development key)', () => {
    for (const typo of ['Production', 'production ', 'prod', 'dev', 'Development', 'TEST']) {
      let error: unknown;
      try {
        parseEnv({ NODE_ENV: typo, LEDGER_AUTO_INIT: 'true' }, '/srv');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      expect(issues[0]).toMatch(/^NODE_ENV: exactly "production", "development" or "test"/);
      expect(issues.map((issue) => issue.split(':')[0])).toEqual([
        'NODE_ENV',
        'COUPON_API_KEYS or COUPON_API_KEYS_FILE',
        'LEDGER_AUTO_INIT',
      ]);
    }
  });
});

describe('the environments the repository ships', () => {
  const root = resolve(__dirname, '../../..');
  type EnvVar = { name: string; value?: string };
  type Container = { name: string; env?: EnvVar[] };

  /** The coupon-service container's variables in every manifest under k8s/ (base and patches). */
  function manifestEnvs(): { file: string; env: EnvVar[] }[] {
    const files = (readdirSync(join(root, 'k8s'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.yaml') && !f.includes('node_modules'))
      .map((f) => join('k8s', f));
    return files.flatMap((file) =>
      parseAllDocuments(readFileSync(join(root, file), 'utf8')).flatMap((document) => {
        const object = document.toJS() as {
          spec?: { template?: { spec?: { containers?: Container[] } } };
        } | null;
        const container = object?.spec?.template?.spec?.containers?.find(
          (c) => c.name === 'coupon-service',
        );
        return container?.env === undefined ? [] : [{ file, env: container.env }];
      }),
    );
  }
  const composeEnv = (): Record<string, string> =>
    (
      parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as {
        services: Record<string, { environment?: Record<string, string> }>;
      }
    ).services['coupon-service']!.environment!;
  // Node's own; the service never reads it.
  const known = new Set([...ENV_NAMES, 'NODE_OPTIONS']);

  it('names only variables the service reads (a typo would be silently ignored)', () => {
    const manifests = manifestEnvs();
    expect(manifests.map((m) => m.file)).toContain(join('k8s', 'base', 'deployment.yaml'));
    const unknown = [
      ...manifests.flatMap(({ file, env }) => env.map((v) => `${file}: ${v.name}`)),
      ...Object.keys(composeEnv()).map((name) => `compose.yaml: ${name}`),
    ].filter((entry) => !known.has(entry.split(': ')[1]!));
    expect(unknown).toEqual([]);
  });

  it("parses the base deployment's values as the pods' settings", () => {
    const base = manifestEnvs().find((m) => m.file === join('k8s', 'base', 'deployment.yaml'))!;
    const env = Object.fromEntries(
      base.env.flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])),
    );
    // The keys file is mounted from a Secret in the cluster.
    const config = parseEnv(env, '/srv', { apiKeys: 'ignore' });
    expect(config.production).toBe(true);
    expect(config.ledger.autoInit).toBe(false);
  });

  it('runs the compose stack in development with its ledgers initialised', () => {
    const config = parseEnv(composeEnv(), '/srv');
    expect(config.production).toBe(false);
    // Without it the laptop stack would answer every claim 503 ledger_missing.
    expect(config.ledger.autoInit).toBe(true);
  });
});
