import { request } from 'node:http';
import { Writable } from 'node:stream';
import { ManualClock, parseCampaigns } from '@coupons/campaign';
import { redisTestTargets } from '@coupons/redis-local';
import { createLogger } from '@coupons/telemetry';
import { parseEnv, sha256Hex, startService, type ApiScope, type RunningService } from '../src';

export const KEYS = {
  all: 'test-key-all-scopes',
  readOnly: 'test-key-budget-read',
} as const;

export const TEST_CAMPAIGN = {
  id: 'test-festival',
  name: 'Test festival',
  currency: 'CNY',
  poolFen: 2500 * 2300,
  couponValueFen: 2500,
  minOrderFen: 0,
  timeZone: 'Asia/Shanghai',
  startsAt: '2026-02-06T00:00:00+08:00',
  endsAt: '2026-02-28T23:59:59.999+08:00',
  couponExpiresAt: '2026-02-28T23:59:59.999+08:00',
  perUser: { daily: 3, total: 21 },
  release: { slicesPerDay: 24, rollover: true, dayWeights: {} },
  shards: 4,
};

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

export interface TestService extends RunningService {
  base: string;
  clock: ManualClock;
  log: () => string;
  stop: () => Promise<void>;
}

/** A real service on loopback (random ports), real Redis from the harness, an injected clock. */
export async function startTestService(
  options: { redisUrl?: string; now?: string; shutdownGraceMs?: number } = {},
): Promise<TestService> {
  const config = parseEnv(
    {
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      REDIS_URL: options.redisUrl ?? standaloneRedisUrl(),
      REDIS_COMMAND_TIMEOUT_MS: '300',
      SHUTDOWN_GRACE_MS: String(options.shutdownGraceMs ?? 5000),
    },
    process.cwd(),
  );
  const clock = new ManualClock(Date.parse(options.now ?? '2026-02-10T12:30:00+08:00'));
  const log = memoryLog();
  const scopes = (list: ApiScope[]) => list;
  const service = await startService({
    config,
    redisTarget: config.redis,
    campaigns: parseCampaigns({ campaigns: [TEST_CAMPAIGN] }),
    apiKeys: [
      {
        id: 'all',
        sha256: sha256Hex(KEYS.all),
        scopes: scopes(['coupons:issue', 'coupons:read', 'coupons:redeem', 'budget:read']),
      },
      { id: 'reader', sha256: sha256Hex(KEYS.readOnly), scopes: scopes(['coupons:read']) },
    ],
    logger: createLogger({ level: 'info', destination: log.stream }),
    clock,
  });
  return {
    ...service,
    clock,
    base: `http://127.0.0.1:${service.port}`,
    log: log.text,
    stop: async () => {
      await service.server.shutdown('test over');
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain node:http request, for what fetch will not send (huge bodies, odd headers). */
export function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
