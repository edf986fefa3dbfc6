/* eslint-disable no-console -- a measuring tool that prints for people */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import {
  findExecutableOnPath,
  findRedisServerBinary,
  startRedisServer,
} from '@coupons/redis-local';
import { BudgetLedger, checkRecorded, RedisTimeClock, shardKeys } from '@coupons/budget-ledger';
import { parseCpu } from '../redisStats';

/**
 * How much Redis CPU and memory one claim costs: a private redis-server, a campaign open now with
 * budget to spare, N claims from many users through the real ledger, then INFO commandstats, INFO
 * memory (used_memory before and after) and MEMORY USAGE of every key the claims created (coupon,
 * user, idempotency key, and the shards' audit streams, untrimmed: no recorder runs here).
 * Usage: node bench/dist/src/tools/redisCpuPerClaim.js [claims=20000] [concurrency=64] [fenced]
 *   [instructions]
 * `fenced`: the ledger fenced and verified as the recorder does (the guard reads the run id).
 * `instructions`: redis-server runs under valgrind's callgrind, and the tool prints the
 * instructions Redis executed per claim (counted from just before the claims to just after).
 * A count, not a time: it repeats to within about 1% whatever else the machine does, so a change
 * to a script can be measured on a machine whose speed drifts (CPU microseconds cannot). About
 * 50 times slower: 2,000 claims take about 15 s.
 */
async function main(): Promise<void> {
  const claims = Number(process.argv[2] ?? 20_000);
  const concurrency = Number(process.argv[3] ?? 64);
  const words = process.argv.slice(4);
  const fenced = words.includes('fenced');
  const counter = words.includes('instructions') ? callgrind() : undefined;
  const server = await startRedisServer(
    counter === undefined ? {} : { binary: counter.binary },
  ).catch((err: unknown) => {
    counter?.remove();
    throw err;
  });
  const redis = new Redis(server.url);
  try {
    const { campaign, ledger } = await probeLedger(redis, fenced);
    await redis.config('RESETSTAT');
    const memoryBefore = await usedMemory(redis);
    const cpuBefore = parseCpu(await redis.info('cpu'));
    counter?.zero(server.pid);
    const started = process.hrtime.bigint();
    const { issuedCoupons, outcomes } = await claimAll(ledger, claims, concurrency);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const instructions = counter?.dump(server.pid);
    const cpuSeconds = parseCpu(await redis.info('cpu')) - cpuBefore;
    const stats = await redis.info('commandstats');
    const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(stats);
    const evalLine = /cmdstat_eval:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(stats);
    const calls = Number(evalsha?.[1] ?? 0) + Number(evalLine?.[1] ?? 0);
    const usec = Number(evalsha?.[2] ?? 0) + Number(evalLine?.[2] ?? 0);
    console.log(
      `claims: ${claims} (${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}), concurrency ${concurrency}${fenced ? ', fenced' : ''}`,
    );
    console.log(
      `issue script calls: ${calls}, Redis CPU in scripts: ${usec} us, usec_per_call: ${(usec / calls).toFixed(2)}`,
    );
    console.log(
      `redis process CPU per claim (INFO used_cpu_sys + used_cpu_user): ${((cpuSeconds * 1e6) / claims).toFixed(1)} us`,
    );
    console.log(`one ledger client, closed loop: ${(claims / seconds).toFixed(0)} claims/s`);
    if (instructions !== undefined)
      console.log(
        `redis instructions per claim (callgrind, the whole process): ${(instructions / claims).toFixed(0)}`,
      );
    // Commands the scripts ran (Redis counts a script's calls in commandstats too), per claim.
    const perClaim = [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
      .filter(([, name]) => name !== 'evalsha' && name !== 'eval' && name !== 'config')
      .map(([, name, n]) => `${name} ${(Number(n) / claims).toFixed(2)}`);
    console.log(`redis commands per claim: ${perClaim.join(', ')}`);
    const issued = outcomes.get('issued') ?? 0;
    const delta = (await usedMemory(redis)) - memoryBefore;
    const bytes = await keyBytes(redis, campaign.id, campaign.shards);
    const per = (n: number) => (issued === 0 ? 'n/a' : (n / issued).toFixed(1));
    console.log(
      `redis memory per issued coupon: INFO used_memory delta ${per(delta)} bytes; MEMORY USAGE coupon ${per(bytes.coupon)} + user ${per(bytes.user)} + idempotency ${per(bytes.idem)} + audit stream ${per(bytes.audit)} = ${per(bytes.coupon + bytes.user + bytes.idem + bytes.audit)} bytes`,
    );
    console.log(`encodings: ${[...bytes.encodings].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    // Half the coupons redeemed, one order each: what a redemption adds (the order's hold).
    const redeemed = issuedCoupons.filter((_, i) => i % 2 === 0);
    const beforeRedemptions = await usedMemory(redis);
    for (const [i, c] of redeemed.entries())
      await ledger.redeem({
        code: c.code,
        shard: ledger.shardOf(c.userId),
        userId: c.userId,
        orderId: `order-20261207-${String(i).padStart(7, '0')}`,
        orderAmountFen: 10_000,
      });
    const orderBytes = (await keyBytes(redis, campaign.id, campaign.shards)).order;
    console.log(
      `redis memory per redemption: INFO used_memory delta ${((await usedMemory(redis)) - beforeRedemptions) / Math.max(1, redeemed.length)} bytes (audit event included); MEMORY USAGE of the order's hold ${(orderBytes / Math.max(1, redeemed.length)).toFixed(1)} bytes`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
    counter?.remove();
  }
}

/**
 * redis-server under callgrind (a wrapper script, since redis-local starts a binary), zeroed and
 * dumped on demand with callgrind_control; dump() returns the instructions since zero().
 */
function callgrind() {
  const valgrind = findExecutableOnPath('valgrind');
  const control = findExecutableOnPath('callgrind_control');
  const redisServer = findRedisServerBinary();
  if (valgrind === undefined || control === undefined || redisServer === undefined)
    throw new Error('instructions: needs valgrind, callgrind_control and redis-server on PATH');
  const dir = mkdtempSync(join(tmpdir(), 'redis-callgrind-'));
  const binary = join(dir, 'redis-server');
  const out = join(dir, 'callgrind.out');
  writeFileSync(
    binary,
    `#!/bin/sh\nexec ${valgrind} --tool=callgrind --callgrind-out-file=${out} ${redisServer} "$@" 2>>${join(dir, 'valgrind.log')}\n`,
  );
  chmodSync(binary, 0o755);
  return {
    binary,
    zero: (pid: number) => execFileSync(control, ['-z', String(pid)], { stdio: 'ignore' }),
    dump: (pid: number): number => {
      execFileSync(control, ['-d', String(pid)], { stdio: 'ignore' });
      // The dump on demand is written as callgrind.out.<n>; its summary counts since the zero.
      const dumped = readdirSync(dir).filter((f) => f.startsWith('callgrind.out.'));
      const summary = dumped
        .map((f) => /^summary: (\d+)$/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1])
        .find((n) => n !== undefined);
      if (summary === undefined) throw new Error(`no callgrind dump in ${dir}`);
      return Number(summary);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A campaign open now with budget to spare, initialised (and fenced and verified when asked). */
async function probeLedger(redis: Redis, fenced: boolean) {
  const now = Date.now();
  const [campaign] = parseCampaigns({
    campaigns: [
      {
        id: 'cpu-probe',
        name: 'Redis CPU probe',
        currency: 'CNY',
        poolFen: 2500 * 10_000_000,
        couponValueFen: 2500,
        timeZone: 'UTC',
        startsAt: new Date(now - 3_600_000).toISOString(),
        endsAt: new Date(now + 86_400_000).toISOString(),
        couponExpiresAt: new Date(now + 2 * 86_400_000).toISOString(),
        perUser: { daily: 3, total: 21 },
        release: { slicesPerDay: 1, rollover: true },
        shards: 16,
      },
    ],
  });
  const calendar = new CampaignCalendar(campaign!);
  const clock = new RedisTimeClock(redis);
  await clock.sync();
  await new BudgetLedger(
    redis,
    calendar,
    { now: () => now - 7_200_000 },
    { trustCallerClock: true },
  ).init({ fenced });
  if (fenced)
    for (let shard = 0; shard < calendar.campaign.shards; shard += 1)
      await checkRecorded(redis, calendar.campaign.id, shard, '', null);
  return { campaign: campaign!, ledger: new BudgetLedger(redis, calendar, clock) };
}

/** `claims` claims from as many users, `concurrency` at a time, through the ledger. */
async function claimAll(ledger: BudgetLedger, claims: number, concurrency: number) {
  let next = 0;
  const issuedCoupons: { code: string; userId: string }[] = [];
  const outcomes = new Map<string, number>();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < claims) {
        const i = (next += 1);
        const userId = `wx-${i.toString(16).padStart(6, '0')}`;
        // As the service hashes a claim body (sha256, base64url): the idempotency key's value.
        const bodyHash = createHash('sha256').update(`{"userId":"${userId}"}`).digest('base64url');
        const result = await ledger.issue({
          userId,
          idempotencyKey: `claim-${i}`,
          bodyHash,
        });
        outcomes.set(result.kind, (outcomes.get(result.kind) ?? 0) + 1);
        if (result.kind === 'issued') issuedCoupons.push({ code: result.coupon.code, userId });
      }
    }),
  );
  return { issuedCoupons, outcomes };
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1]);
}

/** MEMORY USAGE (every sample) summed by kind of key, and how many keys of each encoding. */
async function keyBytes(redis: Redis, campaignId: string, shards: number) {
  const totals = {
    coupon: 0,
    user: 0,
    idem: 0,
    order: 0,
    audit: 0,
    encodings: new Map<string, number>(),
  };
  for (let shard = 0; shard < shards; shard += 1) {
    const keys = shardKeys(campaignId, shard);
    totals.audit += Number(await redis.memory('USAGE', keys.audit, 'SAMPLES', 0));
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', keys.allPattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        const kind = key.slice(keys.tag.length + 1).split(':')[0]!;
        const bytes = Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
        const encoding = `${kind}/${String(await redis.object('ENCODING', key))}`;
        totals.encodings.set(encoding, (totals.encodings.get(encoding) ?? 0) + 1);
        if (kind === 'coupon' || kind === 'c') totals.coupon += bytes;
        else if (kind === 'user' || kind === 'u') totals.user += bytes;
        else if (kind === 'idem' || kind === 'i') totals.idem += bytes;
        else if (kind === 'o') totals.order += bytes;
      }
    } while (cursor !== '0');
  }
  return totals;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
