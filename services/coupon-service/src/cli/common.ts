import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RedisTimeClock } from '@coupons/budget-ledger';
import {
  CampaignCalendar,
  CampaignConfigError,
  loadCampaignsFile,
  toZonedIso,
} from '@coupons/campaign';
import { LedgerRecord } from '@coupons/ledger-record';
import { createRedisClient, describeRedisTarget, type RedisClient } from '@coupons/runtime';
import { ConfigError, parseEnv, type ServiceConfig } from '../config/env';

/** What an operator CLI prints is for people: plain lines, no JSON, no console (eslint). */
export const out = (line = ''): void => void process.stdout.write(`${line}\n`);
export const err = (line: string): void => void process.stderr.write(`${line}\n`);

/** Exit codes: 0 done, 1 refused or found problems, 2 usage or configuration. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

export interface CliContext {
  config: ServiceConfig;
  calendar: CampaignCalendar;
  values: Record<string, string | boolean | undefined>;
}

/**
 * Reads the arguments, the environment and the campaigns file the way the service does (same
 * variables, same file), and picks the campaign named by --campaign.
 */
export function cliContext(
  usage: string,
  options: NonNullable<ParseArgsConfig['options']>,
  argv = process.argv.slice(2),
): CliContext {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, campaign: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    // parseArgs keeps the last of a repeated option; two --campaign are a slip, not a choice.
    const seen = new Set<string>();
    for (const token of parsed.tokens) {
      if (token.kind !== 'option') continue;
      if (seen.has(token.name)) throw new CliExit(2, `--${token.name} given twice\n${usage}`);
      seen.add(token.name);
    }
  } catch (error) {
    if (error instanceof CliExit) throw error;
    throw new CliExit(2, `${(error as Error).message}\n${usage}`);
  }
  if (values.help === true) throw new CliExit(0, usage);
  const id = values.campaign;
  if (typeof id !== 'string' || id === '') throw new CliExit(2, `--campaign is required\n${usage}`);

  let config: ServiceConfig;
  let campaigns;
  try {
    config = parseEnv(process.env, process.cwd(), { apiKeys: 'ignore' });
    campaigns = loadCampaignsFile(config.campaignsFile);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliExit(2, error.message);
    if (error instanceof CampaignConfigError)
      throw new CliExit(2, `Invalid campaigns file:\n${error.message}`);
    throw error;
  }
  const campaign = campaigns.find((c) => c.id === id);
  if (campaign === undefined)
    throw new CliExit(
      2,
      `no campaign "${id}" in ${config.campaignsFile} (there: ${campaigns.map((c) => c.id).join(', ')})`,
    );
  return { config, calendar: new CampaignCalendar(campaign), values };
}

/**
 * One connection attempt, no reconnecting: an operator wants "cannot reach Redis" at once, not a
 * process that retries forever. Commands get at least 5 s (reconcile walks whole shards).
 */
async function connectOnce(config: ServiceConfig): Promise<RedisClient> {
  const redis = createRedisClient(config.redis, Math.max(config.redisCommandTimeoutMs, 5000), {
    reconnect: 'never',
    connectTimeoutMs: 3000,
  });
  let cause: Error | undefined;
  redis.on('error', (error: Error) => (cause ??= error)); // reported below
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = cause?.message ?? (error as Error).message;
    throw new CliExit(1, `cannot reach ${describeRedisTarget(config.redis)}: ${reason}`);
  }
  return redis;
}

/** Redis TIME, not this machine's clock: the same time the ledger scripts go by. */
async function redisClock(redis: RedisClient): Promise<RedisTimeClock> {
  const clock = new RedisTimeClock(redis);
  await clock.sync();
  return clock;
}

export function zoned(calendar: CampaignCalendar, ms: number): string {
  return toZonedIso(ms, calendar.campaign.timeZone);
}

/** [0,1,2,5,7,8] -> "0-2, 5, 7-8"; [] -> "none". */
export function shardRanges(shards: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < shards.length) {
    let j = i;
    while (j + 1 < shards.length && shards[j + 1] === shards[j]! + 1) j += 1;
    parts.push(i === j ? String(shards[i]) : `${shards[i]}-${shards[j]}`);
    i = j + 1;
  }
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** Runs a CLI body and turns its outcome into an exit code; Redis is always closed. */
export function runCli(body: () => Promise<number>): void {
  // `npm run reconcile | head`: a reader that stops early is not a failure of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  // Exit once the output is flushed: a client that never connected may hold timers for seconds.
  const exit = (code: number) =>
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  body().then(exit, (error: unknown) => {
    if (error instanceof CliExit) {
      (error.exitCode === 0 ? out : err)(error.message);
      exit(error.exitCode);
      return;
    }
    err(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    exit(1);
  });
}

async function closeQuietly(redis: RedisClient): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/**
 * Redis for the body of one CLI run: connected once (connectOnce), its TIME as the clock, and
 * closed however the body ends.
 */
export async function withRedis<T>(
  config: ServiceConfig,
  body: (redis: RedisClient, clock: RedisTimeClock) => Promise<T>,
): Promise<T> {
  const redis = await connectOnce(config);
  try {
    return await body(redis, await redisClock(redis));
  } finally {
    await closeQuietly(redis);
  }
}

/** The book of record (DATABASE_URL) for the body of one CLI run, closed however it ends. */
export async function withRecord<T>(
  databaseUrl: string,
  body: (record: LedgerRecord) => Promise<T>,
): Promise<T> {
  const record = LedgerRecord.connect(databaseUrl, { max: 2 });
  try {
    return await body(record);
  } finally {
    await record.close();
  }
}

/** Which book of record, for people: host and database, without the credentials. */
export function recordName(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.host}${url.pathname}`;
}
