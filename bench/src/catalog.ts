import { join } from 'node:path';
import { claimRequest, type RequestSpec } from '@coupons/runner';
import type { ServerLaunch } from './processes';
import type { ServiceSetup } from './serviceSetup';

export const SERVER_NAMES = [
  'node-http',
  'express',
  'naive',
  'protected',
  'service',
  'service-off',
  'service-info',
  'service-soldout',
  'service-actions',
] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export const LABELS: Record<ServerName, string> = {
  'node-http': 'node:http hello',
  express: 'express hello',
  naive: 'naive twin',
  protected: 'protected twin',
  service: 'service (LOG_LEVEL=warn)',
  'service-off': 'service, ADMISSION=off',
  'service-info': 'service (LOG_LEVEL=info)',
  'service-soldout': 'service, every shard sold out',
  'service-actions': 'service, OVERLOAD_ACTIONS=on',
};

/** Servers that issue coupons through Redis (the hello servers answer without it). */
export const CLAIMS: Record<ServerName, boolean> = {
  'node-http': false,
  express: false,
  naive: true,
  protected: true,
  service: true,
  'service-off': true,
  'service-info': true,
  'service-soldout': true,
  'service-actions': true,
};

/** The servers that are the real service (in some configuration). */
export function isService(name: ServerName): name is Extract<ServerName, `service${string}`> {
  return name.startsWith('service');
}

export const REPO_ROOT = join(__dirname, '..', '..', '..');
const SERVERS_DIR = join(__dirname, '..', 'servers');
const SERVICE_MAIN = join(REPO_ROOT, 'services', 'coupon-service', 'dist', 'src', 'main.js');

/** The core servers run on; the bench process and Redis share the other one. */
export const SERVER_CORE = 0;
export const CLIENT_CORE = 1;

export interface LaunchContext {
  redisUrl: string;
  dir: string;
  service: ServiceSetup;
}

export function launchFor(
  name: ServerName,
  ctx: LaunchContext,
  options: { env?: Record<string, string>; nodeArgs?: string[] } = {},
): ServerLaunch {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', REDIS_URL: ctx.redisUrl, PORT: '0' };
  const common = {
    core: SERVER_CORE,
    logFile: join(ctx.dir, `${name}.log`),
    nodeArgs: options.nodeArgs ?? [],
  };
  if (isService(name)) {
    return {
      ...common,
      script: SERVICE_MAIN,
      env: {
        ...base,
        ...ctx.service.env,
        LOG_LEVEL: name === 'service-info' ? 'info' : 'warn',
        ...(name === 'service-off' ? { ADMISSION: 'off' } : {}),
        ...(name === 'service-actions' ? { OVERLOAD_ACTIONS: 'on' } : {}),
        ...(name === 'service-soldout' ? { CAMPAIGNS_FILE: ctx.service.soldOutCampaignsFile } : {}),
        ...options.env,
      },
      // main.ts prints this on stderr once the ledger is initialised; pino logs go to stdout.
      ready: {
        stream: 'stderr',
        pattern:
          /coupon-service ready on http:\/\/[^:\s]+:(\d+) \(metrics on http:\/\/[^:\s]+:(\d+)\//,
      },
    };
  }
  const script = {
    'node-http': 'hello-http.js',
    express: 'hello-express.js',
    naive: 'naive.js',
    protected: 'protected.js',
  }[name];
  return {
    ...common,
    script: join(SERVERS_DIR, script),
    env: { ...base, ...options.env },
    ready: { stream: 'stdout', pattern: /^listening (\d+)$/m },
  };
}

/**
 * The one request every server gets, the service's claim as the chat backend sends it (the user
 * in X-User-Id too, so the gate sees who claims): hello servers ignore it, the twins ignore the
 * headers. Each call of the returned factory's result is a new user with a new key.
 */
export function claimRequests(service: ServiceSetup): (tag: string) => (i: number) => RequestSpec {
  const claim = claimRequest(service.campaignId, service.apiKey);
  return (tag) => (i) => {
    const { userId, idempotencyKey } = claimIds(tag, i);
    return claim(userId, idempotencyKey);
  };
}

/** The user and Idempotency-Key of claim i of a run tagged `tag` (a new user each time). */
export function claimIds(tag: string, i: number): { userId: string; idempotencyKey: string } {
  return { userId: `u${tag}-${i}`, idempotencyKey: `k${tag}-${i}` };
}
