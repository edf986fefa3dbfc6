import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { PATHS } from '@coupons/contract';
import { migrate } from '@coupons/ledger-record';
import { findFreePort, startRedisServer, type RedisServerHandle } from '@coupons/redis-local';
import { describeIfPostgres, describeIfRedis, usePrivateDatabase } from '@coupons/testing';
import { Redis } from 'ioredis';
import { sha256Hex } from '../src';
import { MAIN, campaignsFile, cli, runBuilt, type Started } from './cli';
import { liveCampaign, uniqueId, until } from './support';

const RECORDER_MAIN = resolve(__dirname, '../../coupon-recorder/dist/src/main.js');

/** Values nothing may print: the Redis password, the API keys, a Pushgateway password. */
const PASSWORD = `pw${randomBytes(12).toString('hex')}`;
const KEY = `key${randomBytes(16).toString('hex')}`;
const READ_KEY = `key${randomBytes(16).toString('hex')}`;
const PUSH_PASSWORD = `push${randomBytes(12).toString('hex')}`;
const SECRETS: Record<string, string> = {
  'the Redis password': PASSWORD,
  'an API key': KEY,
  'another API key': READ_KEY,
  'the Pushgateway password': PUSH_PASSWORD,
};

const API_KEYS = JSON.stringify([
  { id: 'chat', sha256: sha256Hex(KEY), scopes: ['coupons:issue', 'coupons:read'] },
  { id: 'ops', sha256: sha256Hex(READ_KEY), scopes: ['budget:read'] },
]);

/** Until the process answers 200 on `url`, or fails saying what it printed. */
async function answering(started: Started, url: string): Promise<void> {
  await until(
    `${url} answering`,
    async () => {
      if (started.child.exitCode !== null)
        throw new Error(`exited while starting:\n${started.stderr()}${started.stdout()}`);
      return (
        (await fetch(url).then(
          (r) => r.status,
          () => 0,
        )) === 200 || undefined
      );
    },
    20_000,
  );
}

async function stopped(started: Started): Promise<string> {
  started.child.kill('SIGTERM');
  await started.exited;
  return started.stdout() + started.stderr();
}

describeIfRedis('no secret in any output of the service, the recorder and the CLIs', () => {
  const campaign = liveCampaign(uniqueId('secrets'), { shards: 2 });
  const file = campaignsFile([campaign]);
  /** Everything every process printed, by who printed it. */
  const outputs: { who: string; text: string }[] = [];
  let server: RedisServerHandle;
  let admin: Redis;
  let redisUrl: string;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    await admin.config('SET', 'requirepass', PASSWORD);
    redisUrl = `redis://default:${PASSWORD}@127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('the service: start-up, requests carrying keys in headers and queries, shutdown', async () => {
    const [port, metricsPort] = [await findFreePort(), await findFreePort()];
    const svc = runBuilt(MAIN, {
      NODE_ENV: 'test',
      REDIS_URL: redisUrl,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      CAMPAIGNS_FILE: file,
      COUPON_API_KEYS: API_KEYS,
      LEDGER_AUTO_INIT: 'true',
      LOG_LEVEL: 'trace',
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await answering(svc, `${base}/readyz`);
      const claim = await fetch(
        `${base}${PATHS.claim(campaign.id)}?api_key=${KEY}&auth=${PASSWORD}&api%5Fkey=${KEY}`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${KEY}`,
            'content-type': 'application/json',
            'idempotency-key': uniqueId('idem'),
          },
          body: JSON.stringify({ userId: 'u-secrets' }),
        },
      );
      expect(claim.status).toBeLessThan(500);
      for (const path of [
        `/healthz?secret=${PASSWORD}`,
        `/readyz?password=${PASSWORD}`,
        `${PATHS.budget(campaign.id)}?sig=${READ_KEY}`,
        `${PATHS.campaign(campaign.id)}?x-api-key=${KEY}#${PASSWORD}`,
      ])
        await fetch(`${base}${path}`, { headers: { 'x-api-key': READ_KEY } });
      await fetch(`${base}/v1/campaigns/nope?userId=u1&token=${KEY}`, {
        headers: { authorization: `Bearer ${PASSWORD}` },
      });
    } finally {
      outputs.push({ who: 'service', text: await stopped(svc) });
    }
    // The run logged the requests (else this test could not fail).
    expect(outputs.at(-1)!.text).toMatch(/api_key=\[redacted\]/);

    const refused = runBuilt(MAIN, { NODE_ENV: 'test', REDIS_URL: redisUrl, PORT: '0x50' });
    expect(await refused.exited).toBe(1);
    outputs.push({ who: 'service refusing its configuration', text: refused.stderr() });
  });

  it('the operator CLIs: success, a failed push, an unreachable Redis', async () => {
    const closed = await findFreePort();
    const env = { CAMPAIGNS_FILE: file, REDIS_URL: redisUrl };
    const runs = [
      await cli('ledger-init', ['--campaign', campaign.id], env),
      await cli('reconcile', ['--campaign', campaign.id], {
        ...env,
        PUSHGATEWAY_URL: `http://push:${PUSH_PASSWORD}@127.0.0.1:${closed}`,
      }),
      await cli('reconcile', ['--campaign', campaign.id], {
        ...env,
        REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${closed}`,
      }),
      await cli('ledger-init', ['--campaign', campaign.id, '--campaign', campaign.id], env),
    ];
    for (const run of runs) outputs.push({ who: 'cli', text: run.stdout + run.stderr });
    const all = runs.map((run) => run.stdout + run.stderr).join('\n');
    // The URLs were printed, without what is secret in them.
    expect(all).toContain(`Redis redis://***@127.0.0.1:${server.port}`);
    expect(all).toContain(`could not push to http://***@127.0.0.1:${closed}`);
    expect(all).toContain(`cannot reach Redis redis://***@127.0.0.1:${closed}`);
  });

  describeIfPostgres('with the book of record', () => {
    const database = usePrivateDatabase(migrate);

    it('the recorder: start-up, its metrics port asked with keys, shutdown', async () => {
      const metricsPort = await findFreePort();
      const recorder = runBuilt(RECORDER_MAIN, {
        NODE_ENV: 'test',
        REDIS_URL: redisUrl,
        DATABASE_URL: database.url,
        CAMPAIGNS_FILE: file,
        RECORDER_METRICS_PORT: String(metricsPort),
        RECORDER_BLOCK_MS: '20',
        LOG_LEVEL: 'trace',
      });
      const base = `http://127.0.0.1:${metricsPort}`;
      try {
        await answering(recorder, `${base}/healthz`);
        await fetch(`${base}/metrics?token=${KEY}`, {
          headers: { authorization: `Bearer ${KEY}` },
        });
        await fetch(`${base}/nope?password=${PASSWORD}`);
      } finally {
        outputs.push({ who: 'recorder', text: await stopped(recorder) });
      }
      expect(outputs.at(-1)!.text).toMatch(/coupon-recorder running/);

      const reconciled = await cli('reconcile', ['--campaign', campaign.id], {
        CAMPAIGNS_FILE: file,
        REDIS_URL: redisUrl,
        DATABASE_URL: database.url,
      });
      outputs.push({ who: 'cli with the record', text: reconciled.stdout + reconciled.stderr });
      expect(reconciled.stdout).toMatch(/book of record/);
    });
  });

  // A block of its own, declared last: it runs after every block above.
  describe('in the end', () =>
    it('printed none of them', () => {
      expect(outputs.length).toBeGreaterThanOrEqual(6);
      const leaks = outputs.flatMap(({ who, text }) =>
        Object.entries(SECRETS)
          .filter(([, secret]) => text.includes(secret))
          .map(([name]) => `${who} printed ${name}`),
      );
      expect(leaks).toEqual([]);
    }));
});
