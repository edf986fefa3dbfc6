import { Writable } from 'node:stream';
import { ManualClock, parseCampaigns, type Clock } from '@coupons/campaign';
import {
  campaignInput,
  liveCampaign,
  uniqueId,
  type CampaignInput,
  type LiveCampaignOptions,
  type RedisMode,
  redisTestTargets,
} from '@coupons/testing';
import {
  findRedisServerBinary,
  startRedisServer,
  type RedisServerHandle,
} from '@coupons/redis-local';
import { createLogger } from '@coupons/telemetry';
import { Cluster, Redis } from 'ioredis';
import { parseEnv, sha256Hex, startService, type ApiScope, type RunningService } from '../src';

export const KEYS = {
  all: 'test-key-all-scopes',
  /** coupons:read only */
  readOnly: 'test-key-coupons-read',
  /** one scope each, for the auth matrix and for callers that may do one thing */
  issueOnly: 'test-key-coupons-issue',
  redeemOnly: 'test-key-coupons-redeem',
  budgetOnly: 'test-key-budget-read',
} as const;

export const TEST_CAMPAIGN = campaignInput({
  id: 'test-festival',
  name: 'Test festival',
  poolFen: 2500 * 2300,
  shards: 4,
});

export type { CampaignInput } from '@coupons/testing';

/** Log lines as objects, for tests that check what was (not) logged. */
export function memoryLog(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export function standaloneRedisUrl(): string {
  const url = redisTestTargets().standalone;
  if (url === undefined)
    throw new Error('the jest harness started no redis-server (is redis-server installed?)');
  return url;
}

export type { RedisMode } from '@coupons/testing';

/** The harness's cluster nodes as REDIS_CLUSTER_NODES wants them. */
function clusterNodesEnv(): string {
  const nodes = redisTestTargets().clusterNodes;
  if (nodes === undefined) throw new Error('the jest harness started no Redis Cluster');
  return nodes.map((node) => `${node.host}:${node.port}`).join(',');
}

/** The variables that point a service or a CLI at the harness Redis of this mode. */
export function redisEnv(mode: RedisMode): Record<string, string> {
  return mode === 'cluster'
    ? { REDIS_CLUSTER_NODES: clusterNodesEnv() }
    : { REDIS_URL: standaloneRedisUrl() };
}

export { liveCampaign, uniqueId, until } from '@coupons/testing';
export * from './rawHttp';

/**
 * describe.each over the harness's Redis modes, like describeWithRedis: without the servers the
 * blocks are skipped locally and fail under CI=true.
 */
export function describeEachRedisMode(name: string, fn: (mode: RedisMode) => void): void {
  const targets = redisTestTargets();
  const available: Record<RedisMode, boolean> = {
    standalone: targets.standalone !== undefined,
    cluster: targets.clusterNodes !== undefined,
  };
  for (const mode of ['standalone', 'cluster'] as const) {
    const title = `${name} [${mode}]`;
    if (available[mode]) describe(title, () => fn(mode));
    else if (process.env.CI === 'true')
      describe(title, () => {
        it('has a Redis to run against', () => {
          throw new Error(
            `no ${mode} Redis from the jest harness${findRedisServerBinary() === undefined ? ' (redis-server missing)' : ''}`,
          );
        });
      });
    else describe.skip(title, () => fn(mode));
  }
}

/** A plain ioredis client on the harness (or a given URL), for set-up and tampering in tests. */
export function testRedisClient(target: RedisMode | { url: string }): Redis | Cluster {
  if (typeof target === 'object') return new Redis(target.url, { maxRetriesPerRequest: 1 });
  if (target === 'standalone') return new Redis(standaloneRedisUrl(), { maxRetriesPerRequest: 1 });
  const nodes = redisTestTargets().clusterNodes ?? [];
  return new Cluster(nodes, { scaleReads: 'master', redisOptions: { maxRetriesPerRequest: 1 } });
}

export interface TestService extends RunningService {
  base: string;
  metricsBase: string;
  log: () => string;
  stop: () => Promise<void>;
}

export interface TestServiceOptions {
  redisUrl?: string;
  mode?: RedisMode;
  now?: string;
  clock?: Clock | 'redis';
  campaigns?: readonly CampaignInput[];
  shutdownGraceMs?: number;
  /** More environment (ADMISSION_*, USER_RATE_LIMIT...). */
  env?: Record<string, string>;
  /** Retry-After jitter; 0 (none) by default, so hints are exact. */
  random?: () => number;
}

/**
 * A real service on loopback (random ports) and real Redis from the harness. Time: a ManualClock
 * at `now` by default, a given clock, or `'redis'` for the service's own Redis-tracked clock.
 */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const redis =
    options.mode === 'cluster' || options.redisUrl === undefined
      ? redisEnv(options.mode ?? 'standalone')
      : { REDIS_URL: options.redisUrl };
  const config = parseEnv(
    {
      // The test Redis keeps no append-only file: production would refuse to move money on it.
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      ...redis,
      REDIS_COMMAND_TIMEOUT_MS: '300',
      SHUTDOWN_GRACE_MS: String(options.shutdownGraceMs ?? 5000),
      ...options.env,
    },
    process.cwd(),
  );
  const clock =
    options.clock === 'redis'
      ? undefined
      : (options.clock ?? new ManualClock(Date.parse(options.now ?? '2026-02-10T12:30:00+08:00')));
  const log = memoryLog();
  const scopes = (list: ApiScope[]) => list;
  const service = await startService({
    config,
    redisTarget: config.redis,
    campaigns: parseCampaigns({ campaigns: options.campaigns ?? [TEST_CAMPAIGN] }),
    apiKeys: [
      {
        id: 'all',
        sha256: sha256Hex(KEYS.all),
        scopes: scopes(['coupons:issue', 'coupons:read', 'coupons:redeem', 'budget:read']),
      },
      { id: 'reader', sha256: sha256Hex(KEYS.readOnly), scopes: scopes(['coupons:read']) },
      { id: 'issuer', sha256: sha256Hex(KEYS.issueOnly), scopes: scopes(['coupons:issue']) },
      { id: 'redeemer', sha256: sha256Hex(KEYS.redeemOnly), scopes: scopes(['coupons:redeem']) },
      { id: 'budget', sha256: sha256Hex(KEYS.budgetOnly), scopes: scopes(['budget:read']) },
    ],
    logger: createLogger({ level: 'info', destination: log.stream }),
    ...(clock === undefined ? {} : { clock }),
    random: options.random ?? (() => 0),
  });
  return {
    ...service,
    base: `http://127.0.0.1:${service.port}`,
    metricsBase: `http://127.0.0.1:${service.metricsPort}`,
    log: log.text,
    stop: async () => {
      await service.server.shutdown('test over');
    },
  };
}

export interface ReadyServiceOptions extends TestServiceOptions {
  /** The campaigns whose ledgers are initialised as never issued; default: every one. */
  neverIssued?: readonly CampaignInput[];
}

/**
 * A started service once it is ready, its campaigns' ledgers initialised as never issued:
 * where most files begin.
 */
export async function startReadyService(options: ReadyServiceOptions): Promise<TestService> {
  const service = await startTestService(options);
  await waitUntilReady(service);
  for (const campaign of options.neverIssued ?? options.campaigns ?? []) {
    await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
  }
  return service;
}

/** A ready service (startReadyService) for the block's tests, handed to `started`; stopped after them. */
export function useReadyService(
  started: (service: TestService) => void,
  options: ReadyServiceOptions,
): void {
  let service: TestService | undefined;
  beforeAll(async () => {
    service = await startReadyService(options);
    started(service);
  });
  afterAll(async () => {
    await service?.stop();
  });
}

/**
 * Where most files begin: one live campaign (liveCampaign with `options`, a unique id from
 * `name`) and a ready service for it on Redis-tracked time (useReadyService) with `env`, handed
 * to `started`. Returns the campaign.
 */
export function useLiveCampaignService(
  name: string,
  options: LiveCampaignOptions,
  started: (service: TestService) => void,
  env: Record<string, string> = {},
): CampaignInput {
  const campaign = liveCampaign(uniqueId(name), options);
  useReadyService(started, { clock: 'redis', campaigns: [campaign], env });
  return campaign;
}

/**
 * A campaign for a crowd of claims (load, overload): the whole day's tranche released at once,
 * over four shards, five coupons a user.
 */
export function crowdCampaign(coupons: number): LiveCampaignOptions {
  return { coupons, slicesPerDay: 1, shards: 4, perUser: { daily: 5, total: 5 } };
}

/**
 * A redis-server of the block's own (for tests that stop, freeze, restart or replicate it; never
 * the harness's), with `redisArgs`, and a ready service on it (startReadyService), handed to
 * `started`; both stopped after the block's tests. Returns the restart of a server a test stopped:
 * empty, on the same port.
 */
export function useOwnRedisService(
  started: (service: TestService, server: RedisServerHandle) => void,
  options: ReadyServiceOptions & { redisArgs?: string[] },
): () => Promise<RedisServerHandle> {
  const { redisArgs, ...serviceOptions } = options;
  const args = redisArgs === undefined ? {} : { args: redisArgs };
  let server: RedisServerHandle | undefined;
  let service: TestService | undefined;
  beforeAll(async () => {
    server = await startRedisServer(args);
    service = await startReadyService({ ...serviceOptions, redisUrl: server.url });
    started(service, server);
  });
  afterAll(async () => {
    await service?.stop();
    await server?.stop();
  });
  return async () => {
    server = await startRedisServer({ ...args, port: server!.port });
    return server;
  };
}

/** Freezes a redis-server of the test's own (SIGSTOP; never the harness's) while `during` runs. */
export async function withRedisStopped<T>(
  server: RedisServerHandle,
  during: () => Promise<T>,
): Promise<T> {
  process.kill(server.pid, 'SIGSTOP');
  try {
    return await during();
  } finally {
    process.kill(server.pid, 'SIGCONT');
  }
}

/** A client of the harness's standalone Redis for the block's tests, handed to `connected`. */
export function useHarnessRedis(connected: (redis: Redis) => void): void {
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = testRedisClient('standalone') as Redis;
    connected(redis);
  });
  afterAll(() => {
    redis?.disconnect();
  });
}

/**
 * The event-loop guard out of the way: a shared 2-core machine may be slow for reasons of its
 * own, and the guard is not what most files test.
 */
export const QUIET_GUARD_ENV = {
  ADMISSION_EVENT_LOOP_DELAY_MS: '60000',
  ADMISSION_EVENT_LOOP_UTILIZATION: '1',
} as const;

/** Polls until the service reports ready (the client connects lazily). */
export async function waitUntilReady(service: TestService, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await fetch(`${service.base}/readyz`)).status === 200) return;
    if (Date.now() > deadline) throw new Error(`service not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test
  body: any;
  ms: number;
}

/** The coupon API as the chat backend calls it, answers parsed. */
export function couponApi(service: TestService, campaignId: string, key: string = KEYS.all) {
  const call = async (
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer> => {
    const started = Date.now();
    const res = await fetch(`${service.base}/v1/campaigns/${campaignId}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? undefined : JSON.parse(text),
      ms: Date.now() - started,
    };
  };
  const q = (userId: string) => `?userId=${encodeURIComponent(userId)}`;
  return {
    call,
    claim: (userId: string, idempotencyKey: string) =>
      call('POST', '/coupons', {
        body: { userId },
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
    read: (code: string, userId: string) => call('GET', `/coupons/${code}${q(userId)}`),
    redeem: (code: string, body: { userId: string; orderId: string; orderAmountFen: number }) =>
      call('POST', `/coupons/${code}/redemptions`, { body }),
    reverse: (code: string, orderId: string, userId: string) =>
      call('DELETE', `/coupons/${code}/redemptions/${orderId}${q(userId)}`),
    budget: () => call('GET', '/budget'),
  };
}

/** Retry-After is whole seconds until `untilMs` (rounded up), measured around the request. */
export function expectRetryAfterUntil(answer: ApiAnswer, untilMs: number, sentAt: number): void {
  const header = Number(answer.headers.get('retry-after'));
  expect(answer.body.error.retryAfterSeconds).toBe(header);
  expect(header).toBeGreaterThanOrEqual(Math.max(1, Math.floor((untilMs - Date.now()) / 1000)));
  expect(header).toBeLessThanOrEqual(Math.ceil((untilMs - sentAt) / 1000) + 1);
}

export async function metricsText(service: TestService): Promise<string> {
  return (await fetch(`${service.metricsBase}/metrics`)).text();
}

/**
 * The harness's standalone Redis, database `db` (1-15): a test file that compares every key
 * before and after a request takes a database of its own, so other files' keys never show up.
 */
export function standaloneRedisDbUrl(db: number): string {
  if (!Number.isInteger(db) || db < 1 || db > 15) throw new RangeError(`db ${db}: 1-15`);
  const url = new URL(standaloneRedisUrl());
  url.pathname = `/${db}`;
  return url.toString();
}

/** Prometheus text as `name{labels} value` lines, minus those whose metric name `drop` accepts. */
export function metricLines(text: string, drop: (name: string) => boolean): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .filter((line) => !drop(/^[A-Za-z_:][\w:]*/.exec(line)?.[0] ?? ''));
}
