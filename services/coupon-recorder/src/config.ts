import { hostname } from 'node:os';
import { z } from 'zod';
import { deepFreeze } from '@coupons/campaign';
import { ConfigError, parseEnv, type ServiceConfig } from '@coupons/coupon-service';

/**
 * The recorder's environment, parsed once into one frozen object. Redis, the campaigns file and
 * the log level are read by the service's own parser (same variables, same defaults, same
 * checks), so the recorder follows exactly the shards the service writes.
 */
export interface RecorderConfig {
  readonly production: boolean;
  readonly databaseUrl: string;
  readonly redis: ServiceConfig['redis'];
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
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'a postgres:// or postgresql:// URL')
    .optional(),
  RECORDER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  RECORDER_BLOCK_MS: z.coerce.number().int().min(1).max(60_000).default(1000),
  RECORDER_CLAIM_IDLE_MS: z.coerce.number().int().min(100).max(86_400_000).default(30_000),
  RECORDER_SAMPLE_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  RECORDER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  RECORDER_CONSUMER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, '1-128 letters, digits, ".", "_", ":" or "-"')
    .optional(),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  HOST: z.string().min(1).default('0.0.0.0'),
  METRICS_HOST: z.string().min(1).optional(),
});

/** Every variable the recorder reads besides the service's Redis, campaigns and log settings. */
export const RECORDER_ENV_NAMES: readonly string[] = Object.keys(recorderSchema.shape);

/** The default consumer: the pod's name (HOSTNAME in Kubernetes) and the pid. */
export function defaultConsumerName(env: Readonly<Record<string, string | undefined>>): string {
  const host = (env.HOSTNAME ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_') || 'recorder';
  return `${host}-${process.pid}`;
}

/**
 * Parses the environment once; every problem of both parsers is listed in one ConfigError.
 * Tests call it with a plain object, never through process.env.
 */
export function parseRecorderEnv(
  env: Readonly<Record<string, string | undefined>>,
  cwd = process.cwd(),
): RecorderConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const issues: string[] = [];
  let service: ServiceConfig | undefined;
  try {
    service = parseEnv(present, cwd, { apiKeys: 'ignore' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  const parsed = recorderSchema.safeParse(present);
  if (!parsed.success)
    issues.push(
      ...parsed.error.issues.map(
        (issue) => `${issue.path.map(String).join('.')}: ${issue.message}`,
      ),
    );
  if (present.DATABASE_URL === undefined)
    issues.push('DATABASE_URL: required (the PostgreSQL database the recorder writes to)');
  if (!parsed.success || service === undefined || issues.length > 0) throw new ConfigError(issues);
  const data = parsed.data;
  return deepFreeze({
    production: service.production,
    databaseUrl: data.DATABASE_URL as string,
    redis: service.redis,
    redisCommandTimeoutMs: service.redisCommandTimeoutMs,
    campaignsFile: service.campaignsFile,
    logLevel: service.logLevel,
    batchSize: data.RECORDER_BATCH_SIZE,
    blockMs: data.RECORDER_BLOCK_MS,
    claimIdleMs: data.RECORDER_CLAIM_IDLE_MS,
    sampleMs: data.RECORDER_SAMPLE_MS,
    metricsHost: data.METRICS_HOST ?? data.HOST,
    metricsPort: data.RECORDER_METRICS_PORT,
    consumerName: data.RECORDER_CONSUMER_NAME ?? defaultConsumerName(present),
    shutdownGraceMs: data.SHUTDOWN_GRACE_MS,
  });
}
