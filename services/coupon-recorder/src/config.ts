import { hostname } from 'node:os';
import { z } from 'zod';
import { deepFreeze } from '@coupons/campaign';
import {
  ConfigError,
  parseEnvironment,
  postgresUrl,
  secretFile,
  portNumber,
  runtimeConfig,
  runtimeEnvShape,
  wholeNumber,
  type RedisTarget,
} from '@coupons/runtime';

/**
 * The recorder's environment, parsed once into one frozen object. Redis, the campaigns file and
 * the log level are read as the service reads them (the runtime variables: same names, same
 * defaults, same checks), so the recorder follows exactly the shards the service writes.
 */
export interface RecorderConfig {
  readonly production: boolean;
  readonly databaseUrl: string;
  readonly redis: RedisTarget;
  readonly redisCommandTimeoutMs: number;
  readonly campaignsFile: string;
  readonly logLevel: string;
  /** Stream entries per shard per batch (one PostgreSQL transaction). */
  readonly batchSize: number;
  /** How long to wait after a round that found nothing to record (or failed). */
  readonly blockMs: number;
  /** Entries delivered to a consumer and unacknowledged this long are claimed (it crashed). */
  readonly claimIdleMs: number;
  /** How often lag and age are sampled (every round verifies each shard against the record). */
  readonly sampleMs: number;
  readonly metricsHost: string;
  readonly metricsPort: number;
  /** This process in the consumer group: unique per process (pod or host, and pid). */
  readonly consumerName: string;
  /** How long the batch in flight gets after SIGTERM. */
  readonly shutdownGraceMs: number;
}

const recorderSchema = z.object({
  ...runtimeEnvShape,
  DATABASE_URL: postgresUrl.optional(),
  /** A mounted secret holding DATABASE_URL (Kubernetes: the Secret's key as a file). */
  DATABASE_URL_FILE: z.string().optional(),
  RECORDER_BATCH_SIZE: wholeNumber(1, 10_000).default(500),
  RECORDER_BLOCK_MS: wholeNumber(1, 60_000).default(1000),
  RECORDER_CLAIM_IDLE_MS: wholeNumber(100, 86_400_000).default(30_000),
  RECORDER_SAMPLE_MS: wholeNumber(100, 600_000).default(5000),
  RECORDER_METRICS_PORT: portNumber(9465),
  RECORDER_CONSUMER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, '1-128 letters, digits, ".", "_", ":" or "-"')
    .optional(),
});

/** Every variable the recorder reads (the runtime ones among them). */
export const RECORDER_ENV_NAMES: readonly string[] = Object.keys(recorderSchema.shape);

/** The default consumer: the pod's name (HOSTNAME in Kubernetes) and the pid. */
function defaultConsumerName(env: Readonly<Record<string, string | undefined>>): string {
  const host = (env.HOSTNAME ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_') || 'recorder';
  return `${host}-${process.pid}`;
}

/**
 * Parses the environment once; every problem is listed in one ConfigError.
 * Tests call it with a plain object, never through process.env.
 */
export function parseRecorderEnv(
  env: Readonly<Record<string, string | undefined>>,
  cwd = process.cwd(),
): RecorderConfig {
  const parsed = parseEnvironment(recorderSchema, env);
  const { data, issues } = parsed;
  const runtime = runtimeConfig(parsed, cwd);
  const fromFile = secretFile('DATABASE_URL_FILE', data?.DATABASE_URL_FILE, cwd, issues);
  if (fromFile !== undefined && !postgresUrl.safeParse(fromFile).success)
    issues.push('DATABASE_URL_FILE: the file does not hold a postgres:// or postgresql:// URL');
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL_FILE !== undefined)
    issues.push('DATABASE_URL, DATABASE_URL_FILE: set one of them, not both');
  const databaseUrl = data?.DATABASE_URL ?? fromFile;
  if (env.DATABASE_URL === undefined && env.DATABASE_URL_FILE === undefined)
    issues.push(
      'DATABASE_URL: required, or DATABASE_URL_FILE (the PostgreSQL database the recorder writes to)',
    );
  if (data === undefined || runtime === undefined || databaseUrl === undefined || issues.length > 0)
    throw new ConfigError(issues);
  return deepFreeze({
    production: runtime.production,
    databaseUrl,
    redis: runtime.redis,
    redisCommandTimeoutMs: runtime.redisCommandTimeoutMs,
    campaignsFile: runtime.campaignsFile,
    logLevel: runtime.logLevel,
    batchSize: data.RECORDER_BATCH_SIZE,
    blockMs: data.RECORDER_BLOCK_MS,
    claimIdleMs: data.RECORDER_CLAIM_IDLE_MS,
    sampleMs: data.RECORDER_SAMPLE_MS,
    metricsHost: runtime.metricsHost,
    metricsPort: data.RECORDER_METRICS_PORT,
    consumerName: data.RECORDER_CONSUMER_NAME ?? defaultConsumerName(env),
    shutdownGraceMs: runtime.shutdownGraceMs,
  });
}
