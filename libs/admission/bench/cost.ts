/**
 * Per-call CPU cost of the admission layers and of rate-limiter-flexible's in-memory limiters.
 *   npx tsc --build libs/admission && node libs/admission/dist/bench/cost.js
 * Sequential calls on one core; prints µs per call (CPU time, wall time).
 */
import { createRequire } from 'node:module';
import { findRedisServerBinary, startRedisServer } from '@coupons/redis-local';
import { Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory } from 'rate-limiter-flexible';
import {
  AdmissionGate,
  ConcurrencyLimit,
  EventLoopGuard,
  RequestLimiter,
  SoldOutCache,
  TokenBucket,
  type Decision,
  type EventLoopSampler,
  type GateRequest,
} from '../src';

const N = Number(process.env.N ?? 1_000_000);

function report(name: string, n: number, cpu: NodeJS.CpuUsage, wallNs: bigint): void {
  const us = (cpu.user + cpu.system) / n;
  const wall = Number(wallNs) / 1000 / n;
  console.log(`${name.padEnd(48)} ${us.toFixed(3).padStart(9)} ${wall.toFixed(3).padStart(9)}`);
}

function timeSync(name: string, fn: (i: number) => void, n = N): void {
  for (let i = 0; i < Math.min(n, 50_000); i++) fn(i);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  report(name, n, process.cpuUsage(c0), process.hrtime.bigint() - t0);
}

async function timeAsync(name: string, fn: (i: number) => Promise<unknown>, n = N): Promise<void> {
  for (let i = 0; i < Math.min(n, 50_000); i++) await fn(i);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  report(name, n, process.cpuUsage(c0), process.hrtime.bigint() - t0);
}

const quietLoop: EventLoopSampler = {
  sample: () => ({ delayP99Ms: 1, utilization: 0.5, activeMs: 50 }),
  close: () => undefined,
};

/** A claim as the service hands it over: routed, authenticated, headers as node:http has them. */
const claim: GateRequest = {
  priority: 'claim',
  campaignId: 'spring-festival-2027',
  userId: 'user-42',
  shard: 3,
  keyId: 'chat',
  headers: {
    host: '127.0.0.1:8080',
    'content-type': 'application/json',
    'content-length': '20',
    authorization: 'Bearer dev_0123456789abcdef0123456789abcdef',
    'idempotency-key': 'claim-000001',
    'x-user-id': 'user-42',
    'x-request-timeout-ms': '2000',
  },
};

function gate(opts: { rate?: number; draining?: boolean; soldOut?: boolean } = {}): AdmissionGate {
  const fixedNow = 1_800_000_000_000;
  const cache = new SoldOutCache();
  if (opts.soldOut === true)
    cache.markSoldOut(
      'spring-festival-2027',
      3,
      fixedNow + 3_600_000,
      '2027-02-10T12:00:00+08:00',
      fixedNow,
    );
  const g = new AdmissionGate({
    now: () => fixedNow,
    eventLoop: new EventLoopGuard({}, quietLoop),
    tokenBucket: new TokenBucket({
      ratePerSecond: opts.rate ?? 1e9,
      burst: opts.rate === undefined ? 1e9 : 1,
    }),
    concurrency: new ConcurrencyLimit(),
    soldOut: {
      cache,
      body: (nextReleaseAt, retryAfterSeconds) =>
        JSON.stringify({ error: { code: 'TRANCHE_EXHAUSTED', retryAfterSeconds, nextReleaseAt } }),
    },
  });
  if (opts.draining === true) g.startDraining();
  return g;
}

function expectShed(d: Decision | Promise<Decision>): void {
  if (d instanceof Promise || d.admitted) throw new Error('expected a synchronous shed answer');
}

// Long: a linear measurement script, one measured case after another.
async function main(): Promise<void> {
  console.log(
    `${'call (N=' + N + ', node ' + process.version + ')'}`.padEnd(48),
    '   µs CPU   µs wall',
  );
  await timeAsync('await Promise.resolve() (one async hop)', () => Promise.resolve());

  const rlAllow = new RateLimiterMemory({ points: 1e12, duration: 1 });
  await timeAsync('RateLimiterMemory.consume, allowed', () => rlAllow.consume('pod'));
  const rlDeny = new RateLimiterMemory({ points: 1, duration: 3600 });
  await timeAsync('RateLimiterMemory.consume, refused', () => rlDeny.consume('pod').catch(() => 0));
  const bAllow = new BurstyRateLimiter(
    new RateLimiterMemory({ points: 1, duration: 3600 }),
    new RateLimiterMemory({ points: 1e12, duration: 3600 }),
  );
  await timeAsync('BurstyRateLimiter.consume, allowed by burst', () => bAllow.consume('pod'));
  const bDeny = new BurstyRateLimiter(
    new RateLimiterMemory({ points: 1, duration: 3600 }),
    new RateLimiterMemory({ points: 1, duration: 3600 }),
  );
  await timeAsync('BurstyRateLimiter.consume, refused', () => bDeny.consume('pod').catch(() => 0));

  const bucketAllow = new TokenBucket({ ratePerSecond: 1e9, burst: 1e9 });
  let t = 0;
  timeSync('TokenBucket.tryTake, allowed', () => void bucketAllow.tryTake(t++));
  const bucketDeny = new TokenBucket({ ratePerSecond: 1, burst: 1 });
  bucketDeny.tryTake(0);
  timeSync('TokenBucket.tryTake, refused', () => void bucketDeny.tryTake(0));

  const open = gate();
  timeSync('gate: claim admitted + permit.release', () => {
    const d = open.admit(claim);
    if (d instanceof Promise || !d.admitted) throw new Error('expected admission');
    d.permit.release({ latencyMs: 2, dropped: false });
  });
  const draining = gate({ draining: true });
  timeSync('gate: claim shed, draining', () => expectShed(draining.admit(claim)));
  const bucketShed = gate({ rate: 1 });
  void bucketShed.admit(claim);
  timeSync('gate: claim shed, token bucket', () => expectShed(bucketShed.admit(claim)));
  const full = gate();
  for (let d = full.admit(claim); !(d instanceof Promise) && d.admitted; d = full.admit(claim)) {
    // fill the claim partition, never releasing
  }
  timeSync('gate: claim shed, concurrency', () => expectShed(full.admit(claim)));
  const soldOut = gate({ soldOut: true });
  timeSync('gate: claim shed, sold out (answer memoised)', () => expectShed(soldOut.admit(claim)));

  // Per-user limit without a network: a store client that is never ready sends every consume to
  // the insurance RateLimiterMemory, which shows the library's overhead on the async path.
  const notReady = { status: 'end', defineCommand: () => undefined };
  const userGate = (points: number) =>
    new AdmissionGate({
      now: () => 1_800_000_000_000,
      concurrency: new ConcurrencyLimit(),
      userLimit: {
        limiter: new RequestLimiter(notReady, { points, durationSeconds: 60, keyPrefix: 'b' }),
      },
    });
  const viaInsurance = userGate(1e9);
  await timeAsync(
    'gate: claim admitted via user limit (insurance)',
    async () => {
      const d = await viaInsurance.admit(claim);
      if (!d.admitted) throw new Error('expected admission');
      d.permit.release({ latencyMs: 2, dropped: false });
    },
    200_000,
  );
  const blocked = userGate(1);
  await blocked.admit(claim);
  timeSync('gate: claim shed, user blocked in memory', () => expectShed(blocked.admit(claim)));

  await redisSection();

  // rate-limiter-flexible's in-memory block list scans every entry on each new block past 999.
  type BlockedKeys = new () => { addMs(key: string, ms: number): void; _keys: Map<string, number> };
  const Blocked = createRequire(__filename)(
    'rate-limiter-flexible/lib/component/BlockedKeys',
  ) as BlockedKeys;
  for (const size of [1_000, 10_000, 100_000]) {
    const keys = new Blocked();
    for (let i = 0; i < size; i++) keys._keys.set(`u${i}`, Date.now() + 60_000);
    timeSync(`BlockedKeys.addMs, ${size} users blocked`, (i) => keys.addMs(`v${i}`, 60_000), 200);
  }
}

/** The per-user limit against a real local redis-server (skipped without one). */
async function redisSection(): Promise<void> {
  if (findRedisServerBinary() === undefined) {
    console.log('(no redis-server: per-user limit against Redis skipped)');
    return;
  }
  const server = await startRedisServer();
  const client = new Redis(server.url, { enableOfflineQueue: false });
  try {
    await new Promise((resolve) => client.once('ready', resolve));
    const limiter = new RequestLimiter(client, {
      points: 1e9,
      durationSeconds: 60,
      keyPrefix: 'bench:rl',
    });
    const viaRedis = new AdmissionGate({
      concurrency: new ConcurrencyLimit(),
      userLimit: { limiter },
    });
    await timeAsync(
      'gate: claim admitted via user limit (Redis)',
      async () => {
        const d = await viaRedis.admit(claim);
        if (!d.admitted) throw new Error('expected admission');
        d.permit.release();
      },
      50_000,
    );
    await timeAsync('ioredis PING (the round trip alone)', () => client.ping(), 50_000);
  } finally {
    client.disconnect();
    await server.stop();
  }
}

void main();
