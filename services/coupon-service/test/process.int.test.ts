import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shardKeys } from '@coupons/budget-ledger';
import { findFreePort } from '@coupons/redis-local';
import { Redis } from 'ioredis';
import { MAIN, runBuilt, type Started } from './cli';
import { liveCampaign, standaloneRedisUrl, uniqueId, until } from './support';

const run = (env: Record<string, string | undefined>): Started => runBuilt(MAIN, env);

describe('the service as a process (built main.js)', () => {
  it('prints a ready line whose curl works, and drains slow requests on SIGTERM before exiting 0', async () => {
    const [port, metricsPort] = [await findFreePort(), await findFreePort()];
    const svc = run({
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      REDIS_URL: standaloneRedisUrl(),
      SHUTDOWN_GRACE_MS: '8000',
    });
    try {
      await until('the ready line', () => svc.stderr().includes('try: curl') || undefined);
      const curl = /try: curl -s -H "Authorization: Bearer ([^"]+)" (\S+)/.exec(svc.stderr());
      expect(curl).not.toBeNull();
      const [, key, url] = curl as unknown as [string, string, string];
      const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { campaign: { id: string } }).campaign.id).toMatch(
        /^spring-festival-/,
      );
      expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toMatch(
        /^nodejs_/m,
      );

      // A slow client: headers and half a body now, the rest after SIGTERM.
      const body = JSON.stringify({ userId: 'slow-user' });
      const answer = new Promise<{ status: number; body: string }>((done, fail) => {
        const req = request(
          `http://127.0.0.1:${port}/v1/campaigns/nope/coupons`,
          {
            method: 'POST',
            headers: {
              Authorization: `Bearer ${key}`,
              'Content-Type': 'application/json',
              'Content-Length': String(Buffer.byteLength(body)),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', fail);
        req.write(body.slice(0, 5));
        setTimeout(() => {
          svc.child.kill('SIGTERM');
          // Once draining, the listener refuses new connections; then the slow client finishes.
          void until('draining', () => svc.stdout().includes('draining') || undefined).then(
            () => req.end(body.slice(5)),
            fail,
          );
        }, 100);
      });
      const slow = await answer;
      expect(slow.status).toBe(404);
      expect(JSON.parse(slow.body)).toEqual({
        error: expect.objectContaining({ code: 'CAMPAIGN_NOT_FOUND' }),
      });
      expect(await svc.exited).toBe(0);
      expect(svc.stdout()).toMatch(/"outcome":"clean".*shutdown complete/);
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  it('initialises a campaign without any trace only when LEDGER_AUTO_INIT=true, says so, and issues', async () => {
    const running = liveCampaign(uniqueId('dev-start'));
    const scheduled = liveCampaign(uniqueId('dev-soon'), { startsInMs: 3_600_000 });
    const dir = mkdtempSync(join(tmpdir(), 'coupon-campaigns-'));
    const file = join(dir, 'campaigns.json');
    writeFileSync(file, JSON.stringify({ campaigns: [running, scheduled] }));
    const env = {
      METRICS_PORT: '0',
      REDIS_URL: standaloneRedisUrl(),
      CAMPAIGNS_FILE: file,
    };
    const claimOn = async (port: number, stderr: string) => {
      const key = /Bearer (dev_[^"]+)"/.exec(stderr)![1]!;
      return fetch(`http://127.0.0.1:${port}/v1/campaigns/${running.id}/coupons`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': 'dev-1',
        },
        body: JSON.stringify({ userId: 'newcomer' }),
      });
    };
    const started = async (extra: Record<string, string>) => {
      const port = await findFreePort();
      const svc = run({ ...env, PORT: String(port), ...extra });
      await until('the ready line', () => svc.stderr().includes('try: curl') || undefined);
      return { svc, port };
    };
    const stop = async (svc: ReturnType<typeof run>) => {
      svc.child.kill('SIGTERM');
      await svc.exited;
    };

    // Not asked: nothing is initialised, whatever NODE_ENV says (a missing variable never does).
    const plain = await started({});
    try {
      expect(plain.svc.stdout()).not.toMatch(/auto-init/);
      expect((await claimOn(plain.port, plain.svc.stderr())).status).toBe(503);
    } finally {
      await stop(plain.svc);
    }

    const first = await started({ LEDGER_AUTO_INIT: 'true' });
    try {
      const logged = first.svc
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(logged).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          campaign: running.id,
          msg: expect.stringMatching(
            /had no trace in this Redis; it is running, so it starts from zero/,
          ),
        }),
      );
      expect(logged).toContainEqual(
        expect.objectContaining({ level: 'info', campaign: scheduled.id, created: 4 }),
      );
      expect((await claimOn(first.port, first.svc.stderr())).status).toBe(201);
    } finally {
      await stop(first.svc);
    }

    // A second start finds the ledgers and leaves them alone.
    const second = await started({ LEDGER_AUTO_INIT: 'true' });
    try {
      expect(second.svc.stdout()).not.toMatch(/auto-init: initialised/);
    } finally {
      await stop(second.svc);
    }
  });

  it('never auto-initialises a campaign with a trace in Redis, even with a shard missing', async () => {
    const running = liveCampaign(uniqueId('dev-trace'));
    const dir = mkdtempSync(join(tmpdir(), 'coupon-campaigns-'));
    const file = join(dir, 'campaigns.json');
    writeFileSync(file, JSON.stringify({ campaigns: [running] }));
    // A trace: one user's counters, as a lost ledger leaves them.
    const redis = new Redis(standaloneRedisUrl());
    await redis.hset(shardKeys(running.id, 1).user('someone'), 'total', 1);
    await redis.quit();
    const port = await findFreePort();
    const svc = run({
      PORT: String(port),
      METRICS_PORT: '0',
      REDIS_URL: standaloneRedisUrl(),
      CAMPAIGNS_FILE: file,
      LEDGER_AUTO_INIT: 'true',
    });
    try {
      await until('the ready line', () => svc.stderr().includes('try: curl') || undefined);
      // Logged on stdout before the ready line on stderr; the two pipes reach this process in
      // either order (a CI run read stderr's line first).
      await until(
        'the warning about the trace',
        () =>
          /has traces in this Redis but shards without a ledger/.test(svc.stdout()) || undefined,
      );
      expect(svc.stdout()).not.toMatch(/auto-init: initialised/);
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
  });

  it('refuses LEDGER_AUTO_INIT in production', async () => {
    const svc = run({ NODE_ENV: 'production', LEDGER_AUTO_INIT: 'true', COUPON_API_KEYS: '[]' });
    expect(await svc.exited).toBe(1);
    expect(svc.stderr()).toMatch(/LEDGER_AUTO_INIT: never in production/);
  });

  it('is in production when NODE_ENV is unset: no development key, keys required', async () => {
    const unset = run({ NODE_ENV: undefined, REDIS_URL: standaloneRedisUrl() });
    expect(await unset.exited).toBe(1);
    expect(unset.stderr()).toMatch(
      /COUPON_API_KEYS or COUPON_API_KEYS_FILE: required in production/,
    );
    expect(unset.stderr()).not.toMatch(/development API key/);
  });

  it('refuses a NODE_ENV that is not exactly production, development or test', async () => {
    for (const mode of ['Production', 'production ', 'prod']) {
      const svc = run({
        NODE_ENV: mode,
        LEDGER_AUTO_INIT: 'true',
        REDIS_URL: standaloneRedisUrl(),
      });
      expect(await svc.exited).toBe(1);
      expect(svc.stderr()).toMatch(/- NODE_ENV: exactly "production", "development" or "test"/);
      expect(svc.stderr()).toMatch(/- LEDGER_AUTO_INIT: never in production/);
      expect(svc.stderr()).not.toMatch(/development API key/);
    }
  });

  it('refuses a whitespace-only PORT at start instead of listening on a random port', async () => {
    const svc = run({ PORT: '  ', REDIS_URL: standaloneRedisUrl() });
    expect(await svc.exited).toBe(1);
    expect(svc.stderr()).toMatch(/- PORT: empty; give it a value or leave it unset/);
    const hex = run({ PORT: '0x2', REDIS_URL: standaloneRedisUrl() });
    expect(await hex.exited).toBe(1);
    expect(hex.stderr()).toMatch(/- PORT: a whole number in decimal digits/);
  });

  it('exits 1 with one message listing every bad variable', async () => {
    const svc = run({ PORT: 'x', LOG_LEVEL: 'chatty', NODE_ENV: 'production' });
    expect(await svc.exited).toBe(1);
    expect(svc.stderr()).toMatch(
      /^Invalid environment:\n {2}- LOG_LEVEL: .*\n {2}- PORT: .*\n {2}- COUPON_API_KEYS or COUPON_API_KEYS_FILE: required/,
    );
  });

  it('exits 1 naming every problem of a bad campaigns file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coupon-campaigns-'));
    const file = join(dir, 'campaigns.json');
    writeFileSync(file, JSON.stringify({ campaigns: [{ id: 'Bad Id', poolFen: -1 }] }));
    const svc = run({ CAMPAIGNS_FILE: file, REDIS_URL: standaloneRedisUrl() });
    expect(await svc.exited).toBe(1);
    expect(svc.stderr()).toContain(`Invalid campaigns file ${file}`);
    expect(svc.stderr()).toMatch(/poolFen/);
    expect(svc.stderr()).toMatch(/\bid\b/);
  });
});
