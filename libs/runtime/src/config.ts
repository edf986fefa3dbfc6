import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { RedisTarget } from './redis';

/** Every problem of an environment, listed together so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid environment:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A process runs in production unless asked otherwise: an unset NODE_ENV is production, and a
 * misspelt one (`Production`, `prod`, `"production "`) is refused rather than guessed.
 */
export const RUN_MODES = ['production', 'development', 'test'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/**
 * Whether NODE_ENV's value means production: anything but exactly `development` or `test`, so
 * a value being refused still closes the development paths while the other problems are listed.
 */
export function isProduction(nodeEnv: string | undefined): boolean {
  return nodeEnv !== 'development' && nodeEnv !== 'test';
}

/**
 * A whole number in decimal digits and nothing else: `0x2`, `0b1010`, `1e3`, `+5`, `1.0` and
 * `" 8"` are typos, never numbers.
 */
export function wholeNumber(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,16}$/, 'a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** A decimal like `0.8` or `1500`: digits with at most one fraction, no exponent, no sign. */
export function decimal(range: z.ZodNumber) {
  return z
    .string()
    .regex(/^\d{1,16}(\.\d{1,16})?$/, 'a decimal number like 0.5 or 1500')
    .transform(Number)
    .pipe(range);
}

/** A TCP port, 0 for any free one. */
export const portNumber = (fallback: number) => wholeNumber(0, 65535).default(fallback);

/** A PostgreSQL URL (the book of record): both deployables read DATABASE_URL with it. */
export const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'a postgres:// or postgresql:// URL');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port')
  .transform((entry) => {
    const at = entry.lastIndexOf(':');
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
  })
  .pipe(
    z.object({
      host: z.string(),
      port: z.number().int().min(1, 'a port from 1 to 65535').max(65535, 'a port from 1 to 65535'),
    }),
  );

/**
 * The variables every deployable reads the same way (the service, the recorder and the operator
 * CLIs): the mode, Redis, the campaigns file, logging, shutdown and the listening addresses.
 */
export const runtimeEnvShape = {
  NODE_ENV: z
    .enum(RUN_MODES, {
      error: 'exactly "production", "development" or "test" (unset means production)',
    })
    .default('production'),
  HOST: z.string().default('0.0.0.0'),
  /** The metrics port's address: internal only (Prometheus scrapes it), HOST unless set. */
  METRICS_HOST: z.string().optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'a redis:// or rediss:// URL')
    .optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(hostPort).min(1, 'at least one host:port'))
    .optional(),
  /** A mounted secret: the file holds Redis's password (AUTH on every node). */
  REDIS_PASSWORD_FILE: z.string().optional(),
  /** A mounted secret: the CA that signed Redis's TLS certificate (TLS on when set). */
  REDIS_TLS_CA_FILE: z.string().optional(),
  REDIS_COMMAND_TIMEOUT_MS: wholeNumber(10, 60_000).default(500),
  CAMPAIGNS_FILE: z.string().default('config/campaigns.json'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SHUTDOWN_GRACE_MS: wholeNumber(100, 600_000).default(10_000),
};

/** What every deployable knows of its runtime once its environment is parsed. */
export interface RuntimeConfig {
  readonly mode: RunMode;
  /** Not development or test: no development keys, no auto-init, Redis must persist. */
  readonly production: boolean;
  readonly host: string;
  readonly metricsHost: string;
  readonly redis: RedisTarget;
  readonly redisCommandTimeoutMs: number;
  readonly campaignsFile: string;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;
type RuntimeData = z.output<z.ZodObject<typeof runtimeEnvShape>>;

export interface ParsedEnvironment<Data> {
  /** undefined when the schema refused something (the issues say what). */
  readonly data: Data | undefined;
  /** The variables the schema reads that are set, as given. */
  readonly present: Readonly<Record<string, string>>;
  /** Every problem found so far; a parser adds its own cross-checks and throws ConfigError. */
  readonly issues: string[];
}

/**
 * Parses the variables `schema` names and nothing else. An empty or whitespace-only value is an
 * error that names the variable (it is a template or a quoting slip, never a wish for the
 * default: `PORT="  "` must not listen on a random port).
 */
export function parseEnvironment<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  env: Env,
): ParsedEnvironment<z.output<z.ZodObject<Shape>>> {
  const issues: string[] = [];
  const present: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = env[name];
    if (value === undefined) continue;
    if (value.trim() === '') issues.push(`${name}: empty; give it a value or leave it unset`);
    else present[name] = value;
  }
  const parsed = schema.safeParse(present);
  if (!parsed.success) issues.push(...formatIssues('', parsed.error));
  return { data: parsed.success ? parsed.data : undefined, present, issues };
}

/** `PATH.TO.FIELD: message` per zod issue, under `prefix` (a variable name) when given. */
export function formatIssues(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path}: ${issue.message}`;
  });
}

/**
 * The runtime part of an environment parsed by a schema that spreads runtimeEnvShape; adds to
 * `issues` what only the whole can show.
 */
export function runtimeConfig(
  parsed: ParsedEnvironment<RuntimeData>,
  cwd: string,
): RuntimeConfig | undefined {
  const { data, present, issues } = parsed;
  if (present.REDIS_URL !== undefined && present.REDIS_CLUSTER_NODES !== undefined)
    issues.push('REDIS_URL, REDIS_CLUSTER_NODES: set one of them, not both');
  if (data === undefined) return undefined;
  const password = secretFile('REDIS_PASSWORD_FILE', data.REDIS_PASSWORD_FILE, cwd, issues);
  const tlsCa = secretFile('REDIS_TLS_CA_FILE', data.REDIS_TLS_CA_FILE, cwd, issues);
  const secrets = {
    ...(password === undefined ? {} : { password }),
    ...(tlsCa === undefined ? {} : { tlsCa }),
  };
  return {
    mode: data.NODE_ENV,
    production: isProduction(data.NODE_ENV),
    host: data.HOST,
    metricsHost: data.METRICS_HOST ?? data.HOST,
    redis:
      data.REDIS_CLUSTER_NODES !== undefined
        ? { mode: 'cluster', nodes: data.REDIS_CLUSTER_NODES, ...secrets }
        : {
            mode: 'standalone',
            url: data.REDIS_URL ?? 'redis://127.0.0.1:6379',
            urlFromEnv: data.REDIS_URL !== undefined,
            ...secrets,
          },
    redisCommandTimeoutMs: data.REDIS_COMMAND_TIMEOUT_MS,
    campaignsFile: resolvePath(data.CAMPAIGNS_FILE, cwd),
    logLevel: data.LOG_LEVEL,
    shutdownGraceMs: data.SHUTDOWN_GRACE_MS,
  };
}

/**
 * The content of a mounted secret file named by `variable` (`*_FILE`), trimmed of the newline an
 * editor or `kubectl create secret` leaves; undefined when the variable is unset. A missing,
 * unreadable or empty file is an issue that names the variable, never the content.
 */
export function secretFile(
  variable: string,
  path: string | undefined,
  cwd: string,
  issues: string[],
): string | undefined {
  if (path === undefined) return undefined;
  let content: string;
  try {
    content = readFileSync(resolvePath(path, cwd), 'utf8').trim();
  } catch (error) {
    issues.push(
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return undefined;
  }
  if (content === '') issues.push(`${variable}: ${path} is empty`);
  return content === '' ? undefined : content;
}

/** A path as given when absolute, else from the working directory. */
export function resolvePath(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}
