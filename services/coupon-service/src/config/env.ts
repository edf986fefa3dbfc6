import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { RedisSettingsMode } from '@coupons/budget-ledger';
import { deepFreeze } from '@coupons/campaign';
import {
  ConfigError,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  decimal,
  formatIssues,
  isProduction,
  parseEnvironment,
  postgresUrl,
  portNumber,
  resolvePath,
  runtimeConfig,
  runtimeEnvShape,
  wholeNumber,
  type RedisTarget,
} from '@coupons/runtime';
import { API_SCOPES, type ApiKeyRecord } from '../frontDoor/apiKeys';

/** The whole environment, parsed once at start-up into one frozen object. */
export { ConfigError };

export interface ServiceConfig {
  /** Not NODE_ENV=development or test: keys required, no development key, no auto-init. */
  readonly production: boolean;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** The metrics port's address: internal only (Prometheus scrapes it), HOST unless set. */
    readonly metricsHost: string;
    readonly metricsPort: number;
    /** How long a body may take to arrive once its route accepted the request. */
    readonly bodyTimeoutMs: number;
    /** Open API connections at most; past it a new connection is closed at once. */
    readonly maxConnections: number;
    /** The kernel's queue of connections not yet accepted (listen backlog). */
    readonly listenBacklog: number;
    /** A client's time to send its headers, and its whole request. */
    readonly requestTimeoutMs: number;
  };
  readonly redis: RedisTarget;
  readonly redisCommandTimeoutMs: number;
  readonly campaignsFile: string;
  /** undefined: none configured (development then makes a dev key; production refuses to start). */
  readonly apiKeys: readonly ApiKeyRecord[] | undefined;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  readonly ledger: LedgerConfig;
  readonly admission: AdmissionConfig;
  readonly metrics: {
    /** Claims/s one pod is planned for (from npm run bench): the autoscaler divides demand by it. */
    readonly claimCapacityPerPod: number;
    /** How often the budget gauges are read from Redis. */
    readonly budgetSampleMs: number;
    /** Where `npm run reconcile` pushes its result (a Prometheus Pushgateway); none when unset. */
    readonly pushgatewayUrl: string | undefined;
  };
}

/** How the service treats the Redis ledgers beyond single claims. */
export interface LedgerConfig {
  /**
   * Initialise at start-up the ledgers of campaigns without any trace in Redis (never one with a
   * trace). Off unless LEDGER_AUTO_INIT=true; the private Redis `npm start` starts for itself
   * opts in on its own, since nothing can have been issued there.
   */
  readonly autoInit: boolean;
  /** enforce | warn | skip: whether money moves on a Redis whose settings could lose it. */
  readonly settingsCheck: RedisSettingsMode;
  /** How often transfers left in transit (a crashed pod) are completed or written off. */
  readonly transferSweepMs: number;
  /**
   * REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS: a claim, redemption or reversal answers its 2xx
   * only once this many replicas hold it (503 UNAVAILABLE when they do not in time). Off when 0.
   */
  readonly replication: { readonly replicas: number; readonly timeoutMs: number } | undefined;
  /**
   * DATABASE_URL: the book of record (PostgreSQL), for the operator CLIs (reconcile against it,
   * ledger:init --from-record). The service itself never connects to it: no request waits on it.
   */
  readonly databaseUrl: string | undefined;
}

/** A request limit: `points` requests per `durationSeconds`, per id. */
export interface RateLimitConfig {
  readonly points: number;
  readonly durationSeconds: number;
}

/** Load shedding before express; `enabled: false` only to measure or in an emergency. */
export interface AdmissionConfig {
  readonly enabled: boolean;
  /**
   * The actions below HTTP (frontDoor/overloadActions.ts), OVERLOAD_ACTIONS=on. Off by default:
   * measured, closing and refusing connections made a shed answer cost 2.7x as much (the caller
   * reconnects at once) and lifted no capped goodput (docs/capacity.md).
   */
  readonly overloadActions: boolean;
  /** The per-pod token bucket; off unless ADMISSION_RATE is set. */
  readonly tokenBucket: { readonly ratePerSecond: number; readonly burst: number } | undefined;
  readonly concurrency: {
    readonly minLimit: number;
    readonly maxLimit: number;
    readonly claimShare: number;
    readonly latencyTargetMs: number;
  };
  readonly eventLoop: { readonly delayP99Ms: number; readonly utilization: number };
  /** The deadline of a request without X-Request-Timeout-Ms. */
  readonly defaultTimeoutMs: number;
  readonly userLimit: RateLimitConfig | undefined;
  readonly keyLimit: RateLimitConfig | undefined;
  readonly soldOut: { readonly retrySpreadSeconds: number; readonly probeIntervalMs: number };
}

const apiKeySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 letters, digits, ".", "_" or "-"'),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the key, as 64 hex characters')
    .transform((hex) => hex.toLowerCase()),
  scopes: z.array(z.enum(API_SCOPES)).min(1),
});

const apiKeysSchema = z
  .array(apiKeySchema)
  .min(1, 'at least one key')
  .superRefine((keys, ctx) => {
    const ids = new Set<string>();
    const hashes = new Set<string>();
    keys.forEach((key, index) => {
      if (ids.has(key.id))
        ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate id "${key.id}"` });
      if (hashes.has(key.sha256))
        ctx.addIssue({ code: 'custom', path: [index, 'sha256'], message: 'duplicate key hash' });
      ids.add(key.id);
      hashes.add(key.sha256);
    });
  });

/** `N/S`: N requests per S seconds; `off` (or `0`) disables the limit. */
const rateLimit = z
  .string()
  .regex(/^(off|0|[1-9]\d{0,8}\/[1-9]\d{0,5})$/, '"N/S" (N requests per S seconds) or "off"')
  .transform((text): RateLimitConfig | undefined => {
    if (text === 'off' || text === '0') return undefined;
    const [points, seconds] = text.split('/').map(Number) as [number, number];
    return { points, durationSeconds: seconds };
  });

/** Every variable the service reads, with its default and its check. */
export const serviceEnvSchema = z.object({
  ...runtimeEnvShape,
  PORT: portNumber(8080),
  METRICS_PORT: portNumber(9464),
  BODY_TIMEOUT_MS: wholeNumber(10, 60_000).default(1000),
  HTTP_MAX_CONNECTIONS: wholeNumber(1, 1_000_000).default(DEFAULT_MAX_CONNECTIONS),
  HTTP_LISTEN_BACKLOG: wholeNumber(1, 65535).default(511),
  HTTP_REQUEST_TIMEOUT_MS: wholeNumber(100, 120_000).default(DEFAULT_REQUEST_TIMEOUT_MS),
  COUPON_API_KEYS: z.string().optional(),
  COUPON_API_KEYS_FILE: z.string().optional(),
  LEDGER_AUTO_INIT: z.enum(['true', 'false']).default('false'),
  REDIS_SETTINGS_CHECK: z.enum(['enforce', 'warn', 'skip']).default('enforce'),
  TRANSFER_SWEEP_MS: wholeNumber(100, 3_600_000).default(30_000),
  REDIS_WAIT_REPLICAS: wholeNumber(0, 16).default(0),
  REDIS_WAIT_TIMEOUT_MS: wholeNumber(1, 10_000).default(200),
  DATABASE_URL: postgresUrl.optional(),
  CLAIM_CAPACITY_PER_POD: decimal(z.number().positive().max(1e6)).default(350),
  BUDGET_SAMPLE_MS: wholeNumber(100, 600_000).default(5_000),
  PUSHGATEWAY_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
    .optional(),
  ADMISSION: z.enum(['on', 'off']).default('on'),
  OVERLOAD_ACTIONS: z.enum(['on', 'off']).default('off'),
  ADMISSION_RATE: decimal(z.number().positive().max(1e7)).optional(),
  ADMISSION_BURST: wholeNumber(1, 1e7).optional(),
  ADMISSION_CONCURRENCY_MIN: wholeNumber(1, 100000).default(8),
  ADMISSION_CONCURRENCY_MAX: wholeNumber(1, 100000).default(256),
  ADMISSION_CLAIM_SHARE: decimal(z.number().gt(0).max(1)).default(0.8),
  ADMISSION_LATENCY_TARGET_MS: decimal(z.number().positive().max(60000)).default(50),
  ADMISSION_EVENT_LOOP_DELAY_MS: decimal(z.number().positive().max(60000)).default(200),
  ADMISSION_EVENT_LOOP_UTILIZATION: decimal(z.number().gt(0).max(1)).optional(),
  REQUEST_TIMEOUT_DEFAULT_MS: wholeNumber(1, 10000).default(2000),
  USER_RATE_LIMIT: rateLimit.prefault('30/60'),
  API_KEY_RATE_LIMIT: rateLimit.prefault('off'),
  SOLD_OUT_RETRY_SPREAD_SECONDS: wholeNumber(0, 3600).default(60),
  SOLD_OUT_PROBE_MS: wholeNumber(10, 3600000).default(1000),
});

function parseApiKeys(source: string, text: string, issues: string[]): ApiKeyRecord[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which may be a key pasted by mistake.
    issues.push(`${source}: not valid JSON`);
    return undefined;
  }
  const parsed = apiKeysSchema.safeParse(json);
  if (!parsed.success) {
    issues.push(...formatIssues(source, parsed.error));
    return undefined;
  }
  return parsed.data;
}

function readApiKeys(
  present: Record<string, string | undefined>,
  cwd: string,
  issues: string[],
): ApiKeyRecord[] | undefined {
  if (present.COUPON_API_KEYS !== undefined && present.COUPON_API_KEYS_FILE !== undefined) {
    issues.push('COUPON_API_KEYS, COUPON_API_KEYS_FILE: set one of them, not both');
    return undefined;
  }
  if (present.COUPON_API_KEYS !== undefined)
    return parseApiKeys('COUPON_API_KEYS', present.COUPON_API_KEYS, issues);
  if (present.COUPON_API_KEYS_FILE === undefined) return undefined;
  const file = resolvePath(present.COUPON_API_KEYS_FILE, cwd);
  try {
    return parseApiKeys('COUPON_API_KEYS_FILE', readFileSync(file, 'utf8'), issues);
  } catch (err) {
    issues.push(
      `COUPON_API_KEYS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return undefined;
  }
}

/** Every variable the service reads (a manifest naming another is a typo the service ignores). */
export const ENV_NAMES: readonly string[] = Object.keys(serviceEnvSchema.shape);

/**
 * Parses the environment once; every problem is collected, so an operator fixes them in one go.
 * Tests call this with a plain object, never through process.env.
 */
// Long: a flat mapping from each variable to its place in the frozen config, a table.
export function parseEnv(
  env: Readonly<Record<string, string | undefined>>,
  cwd = process.cwd(),
  options: { apiKeys?: 'ignore' } = {},
): ServiceConfig {
  const parsed = parseEnvironment(serviceEnvSchema, env);
  const { data, present, issues } = parsed;
  const runtime = runtimeConfig(parsed, cwd);

  // The operator CLIs talk to Redis only: they neither need nor read the API keys.
  const readKeys = options.apiKeys !== 'ignore';
  const apiKeys = readKeys ? readApiKeys(present, cwd, issues) : undefined;

  const production = isProduction(present.NODE_ENV);
  if (
    production &&
    readKeys &&
    apiKeys === undefined &&
    !issues.some((issue) => issue.startsWith('COUPON_API_KEYS'))
  )
    issues.push(
      'COUPON_API_KEYS or COUPON_API_KEYS_FILE: required in production (NODE_ENV unset or production; development keys need NODE_ENV=development)',
    );

  if (production && present.LEDGER_AUTO_INIT === 'true')
    issues.push(
      'LEDGER_AUTO_INIT: never in production (NODE_ENV unset or production): a Redis that lost everything would start the campaign from zero; run npm run ledger:init',
    );
  if (present.ADMISSION_BURST !== undefined && present.ADMISSION_RATE === undefined)
    issues.push('ADMISSION_BURST: needs ADMISSION_RATE (the token bucket is off without it)');
  if (
    data !== undefined &&
    data.REDIS_WAIT_REPLICAS > 0 &&
    data.REDIS_WAIT_TIMEOUT_MS >= data.REDIS_COMMAND_TIMEOUT_MS
  )
    issues.push(
      `REDIS_WAIT_TIMEOUT_MS, REDIS_COMMAND_TIMEOUT_MS: the WAIT (${data.REDIS_WAIT_TIMEOUT_MS} ms) must end before the Redis command timeout (${data.REDIS_COMMAND_TIMEOUT_MS} ms), or a short replication is reported as a timed-out command`,
    );
  if (data !== undefined && data.ADMISSION_CONCURRENCY_MIN > data.ADMISSION_CONCURRENCY_MAX)
    issues.push('ADMISSION_CONCURRENCY_MIN, ADMISSION_CONCURRENCY_MAX: min must not exceed max');

  if (issues.length > 0 || data === undefined || runtime === undefined)
    throw new ConfigError(issues);

  const config: ServiceConfig = {
    production: runtime.production,
    http: {
      host: runtime.host,
      port: data.PORT,
      metricsHost: runtime.metricsHost,
      metricsPort: data.METRICS_PORT,
      bodyTimeoutMs: data.BODY_TIMEOUT_MS,
      maxConnections: data.HTTP_MAX_CONNECTIONS,
      listenBacklog: data.HTTP_LISTEN_BACKLOG,
      requestTimeoutMs: data.HTTP_REQUEST_TIMEOUT_MS,
    },
    redis: runtime.redis,
    redisCommandTimeoutMs: runtime.redisCommandTimeoutMs,
    campaignsFile: runtime.campaignsFile,
    apiKeys,
    logLevel: runtime.logLevel,
    shutdownGraceMs: runtime.shutdownGraceMs,
    metrics: {
      claimCapacityPerPod: data.CLAIM_CAPACITY_PER_POD,
      budgetSampleMs: data.BUDGET_SAMPLE_MS,
      pushgatewayUrl: data.PUSHGATEWAY_URL,
    },
    ledger: {
      autoInit: data.LEDGER_AUTO_INIT === 'true',
      settingsCheck: data.REDIS_SETTINGS_CHECK,
      transferSweepMs: data.TRANSFER_SWEEP_MS,
      replication:
        data.REDIS_WAIT_REPLICAS === 0
          ? undefined
          : Object.freeze({
              replicas: data.REDIS_WAIT_REPLICAS,
              timeoutMs: data.REDIS_WAIT_TIMEOUT_MS,
            }),
      databaseUrl: data.DATABASE_URL,
    },
    admission: {
      enabled: data.ADMISSION === 'on',
      overloadActions: data.OVERLOAD_ACTIONS === 'on',
      tokenBucket:
        data.ADMISSION_RATE === undefined
          ? undefined
          : {
              ratePerSecond: data.ADMISSION_RATE,
              // One second of tokens unless told otherwise.
              burst: data.ADMISSION_BURST ?? Math.max(1, Math.ceil(data.ADMISSION_RATE)),
            },
      concurrency: {
        minLimit: data.ADMISSION_CONCURRENCY_MIN,
        maxLimit: data.ADMISSION_CONCURRENCY_MAX,
        claimShare: data.ADMISSION_CLAIM_SHARE,
        latencyTargetMs: data.ADMISSION_LATENCY_TARGET_MS,
      },
      eventLoop: {
        delayP99Ms: data.ADMISSION_EVENT_LOOP_DELAY_MS,
        // Off unless set: measured, it throttled pods at 1x and amplified instant-retry spirals
        // (docs/capacity.md). Set, it acts only under excess demand (EventLoopGuard.excessDemand).
        utilization: data.ADMISSION_EVENT_LOOP_UTILIZATION ?? Infinity,
      },
      defaultTimeoutMs: data.REQUEST_TIMEOUT_DEFAULT_MS,
      userLimit: data.USER_RATE_LIMIT,
      keyLimit: data.API_KEY_RATE_LIMIT,
      soldOut: {
        retrySpreadSeconds: data.SOLD_OUT_RETRY_SPREAD_SECONDS,
        probeIntervalMs: data.SOLD_OUT_PROBE_MS,
      },
    },
  };
  return deepFreeze(config);
}
