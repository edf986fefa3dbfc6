import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BudgetLedger, checkRecorded, RedisTimeClock, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns } from '@coupons/campaign';
import { findFreePort } from '@coupons/redis-local';
import type { Cluster, Redis } from 'ioredis';
import { describeEachRedisMode, liveCampaign, uniqueId } from './support';
import { campaignsFile, cli, useCliOnRedis } from './cli';

const HOUR_MS = 3_600_000;

describeEachRedisMode('the operator CLIs (built)', (mode) => {
  const scheduled = liveCampaign(uniqueId('cli-soon'), { startsInMs: HOUR_MS, shards: 4 });
  const running = liveCampaign(uniqueId('cli-live'), { shards: 4 });
  let redis: Redis | Cluster;
  const env = {
    ...useCliOnRedis(mode, [scheduled, running], (r) => (redis = r)),
    // Production settings do not get in the way: the CLIs neither need nor read API keys.
    NODE_ENV: 'production',
  };

  it('ledger:init creates every shard of a scheduled campaign; a second run reports them existing, exits 1 on foreign shards and rebuilds a fragment', async () => {
    const first = await cli('ledger-init', ['--campaign', scheduled.id], env);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`campaign ${scheduled.id}: scheduled at `);
    expect(first.stdout).toMatch(/^created: {2}shards 0-3$/m);
    expect(first.stdout).toMatch(/^fenced: {3}they serve once the coupon-recorder has verified/m);
    expect(first.stdout).toMatch(/^existing: shards none/m);
    // Fenced, not yet verified ('-' is no run id); --unfenced leaves the field out.
    expect(await redis.hget(shardKeys(scheduled.id, 0).ledger, 'fence')).toBe('-');

    const second = await cli('ledger-init', ['--campaign', scheduled.id], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^created: {2}shards none$/m);
    expect(second.stdout).toMatch(/^existing: shards 0-3 /m);

    // A ledger made for other settings exits 1; a key without a fingerprint is no ledger and
    // is created over (the campaign has not started, so nothing can have been issued).
    await redis.hset(shardKeys(scheduled.id, 1).ledger, 'fingerprint', 'another-file');
    await redis.del(shardKeys(scheduled.id, 3).ledger);
    await redis.hset(shardKeys(scheduled.id, 3).ledger, 'redeemed', 1);
    const third = await cli('ledger-init', ['--campaign', scheduled.id], env);
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(/^shards 1 were initialised for other money settings/m);
    expect(third.stdout).toMatch(/^created: {2}shards 3$/m);
    expect(await redis.hget(shardKeys(scheduled.id, 3).ledger, 'redeemed')).toBe('0');
  });

  it('ledger:init refuses a started campaign without a ledger unless --after-loss says it was lost', async () => {
    const refused = await cli('ledger-init', ['--campaign', running.id], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^refused: .*has started/m);
    expect(refused.stderr).toContain(`--campaign ${running.id} --after-loss`);
    expect(await redis.exists(shardKeys(running.id, 0).ledger)).toBe(0);

    const afterLoss = await cli('ledger-init', ['--campaign', running.id, '--after-loss'], env);
    expect(afterLoss.code).toBe(0);
    expect(afterLoss.stdout).toMatch(/^created: {2}shards 0-3$/m);
    expect(afterLoss.stdout).toMatch(
      /^written off: [1-9]\d* coupons \(\d+ fen\) released before now/m,
    );
  });

  it('ledger:init --never-issued starts a running campaign from zero only when Redis has no trace of it', async () => {
    const fresh = liveCampaign(uniqueId('cli-new'), { shards: 2 });
    const traced = liveCampaign(uniqueId('cli-traced'), { shards: 2 });
    const both = { ...env, CAMPAIGNS_FILE: campaignsFile([fresh, traced]) };
    // A trace: a coupon record left on shard 1 by a ledger that is gone.
    await redis.hset(shardKeys(traced.id, 1).coupon('0100000000000000'), 'userId', 'someone');

    const refused = await cli('ledger-init', ['--campaign', traced.id, '--never-issued'], both);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Redis holds a trace of it/);
    expect(await redis.exists(shardKeys(traced.id, 0).ledger)).toBe(0);

    const started = await cli('ledger-init', ['--campaign', fresh.id, '--never-issued'], both);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^created: {2}shards 0-1$/m);
    expect(started.stdout).not.toMatch(/written off/);
    expect(await redis.hget(shardKeys(fresh.id, 0).ledger, 'issued')).toBe('0');

    const both2 = await cli(
      'ledger-init',
      ['--campaign', fresh.id, '--never-issued', '--after-loss'],
      both,
    );
    expect(both2.code).toBe(2);
  });

  it('ledger:init reports rolled-back shards (exit 1) and --after-loss writes them off', async () => {
    const rolled = liveCampaign(uniqueId('cli-rolled'), { shards: 2 });
    const files = { ...env, CAMPAIGNS_FILE: campaignsFile([rolled]) };
    expect(
      (await cli('ledger-init', ['--campaign', rolled.id, '--never-issued'], files)).code,
    ).toBe(0);
    const ledgerKey = shardKeys(rolled.id, 1).ledger;
    await redis.hset(ledgerKey, 'rolledBack', 'a pod saw more');

    const reported = await cli('ledger-init', ['--campaign', rolled.id], files);
    expect(reported.code).toBe(1);
    expect(reported.stderr).toMatch(/^shards 1 are marked rolled back/m);
    const reconciled = await cli('reconcile', ['--campaign', rolled.id], files);
    expect(reconciled.code).toBe(1);
    expect(reconciled.stderr).toMatch(/shard 1: rolled back \(a pod saw more\)/);

    const written = await cli('ledger-init', ['--campaign', rolled.id, '--after-loss'], files);
    expect(written.code).toBe(0);
    expect(written.stdout).toMatch(/^restored: shards 1 /m);
    expect(written.stdout).toMatch(/^written off: [1-9]\d* coupons/m);
    expect(await redis.hget(ledgerKey, 'rolledBack')).toBeNull();
    expect(Number(await redis.hget(ledgerKey, 'writtenOff'))).toBeGreaterThan(0);
    expect((await cli('reconcile', ['--campaign', rolled.id], files)).code).toBe(0);
  });

  it('reconcile exits 0 on a clean ledger and 1 naming the shard after tampering', async () => {
    // A few real coupons through the ledger, with the Redis-tracked clock the service uses.
    const calendar = new CampaignCalendar(parseCampaigns({ campaigns: [running] })[0]!);
    const clock = new RedisTimeClock(redis);
    await clock.sync();
    const ledger = new BudgetLedger(redis, calendar, clock);
    // ledger:init fenced the shards: verified here as the recorder does (nothing recorded).
    for (let shard = 0; shard < running.shards; shard += 1)
      expect(await checkRecorded(redis, running.id, shard, '', null)).toMatchObject({
        kind: 'verified',
        fencedNow: true,
      });
    for (const userId of ['alice', 'bob', 'carol']) {
      const result = await ledger.issue({
        userId,
        idempotencyKey: 'k',
        bodyHash: 'h',
      });
      // afterLoss wrote off what was released; a later hourly slice may not be out yet.
      expect(['issued', 'tranche_exhausted']).toContain(result.kind);
    }

    const clean = await cli('reconcile', ['--campaign', running.id], env);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`^campaign ${running.id} at .*: clean$`, 'm'));
    expect(clean.stdout).toMatch(
      /^shard +issued +writtenOff +records +events +released +redeemed +problems$/m,
    );
    for (const shard of [0, 1, 2, 3])
      expect(clean.stdout).toMatch(new RegExp(`^ +${shard}  `, 'm'));

    await redis.hincrby(shardKeys(running.id, 2).ledger, 'issued', 1);
    const tampered = await cli('reconcile', ['--campaign', running.id], env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/: [1-9]\d* problem\(s\)$/m);
    expect(tampered.stderr).toMatch(/^problems:\n {2}shard 2: ledger issued \d+ != written off/m);
    expect(tampered.stderr).not.toMatch(/shard [013]:/);
  });

  it('reconcile pushes its result to PUSHGATEWAY_URL for the alerts, replacing the last one', async () => {
    const pushed: { method: string; url: string; body: string }[] = [];
    const gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        pushed.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
      const run = await cli('reconcile', ['--campaign', running.id], {
        ...env,
        PUSHGATEWAY_URL: url,
      });
      expect(run.stdout).toContain(`pushed to ${url}`);
      expect(pushed).toHaveLength(1);
      expect(pushed[0]).toMatchObject({
        method: 'PUT',
        url: `/metrics/job/coupon-reconcile/campaign/${running.id}`,
      });
      const clean = run.code === 0 ? 1 : 0;
      expect(pushed[0]!.body).toMatch(
        new RegExp(`^coupon_reconcile_clean\\{campaign="${running.id}"\\} ${clean}$`, 'm'),
      );
      expect(pushed[0]!.body).toMatch(/^coupon_reconcile_problems\{campaign="[^"]+"\} \d+$/m);
      const at = Number(
        /coupon_reconcile_last_run_timestamp_seconds\{[^}]*\} (\S+)/.exec(pushed[0]!.body)?.[1],
      );
      expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(60);
    } finally {
      await new Promise((resolve) => gateway.close(resolve));
    }
  });

  it('exits 2 with the usage for a missing or unknown campaign and unknown options', async () => {
    const missing = await cli('reconcile', [], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--campaign is required\nusage: npm run reconcile/);
    const unknown = await cli('ledger-init', ['--campaign', 'no-such-campaign'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no campaign "no-such-campaign"');
    const option = await cli('ledger-init', ['--campaign', scheduled.id, '--force'], env);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/--force/);
  });

  it('exits 2 for a repeated flag, a completeness point in the future, or a loose number', async () => {
    const twice = await cli('reconcile', ['--campaign', running.id, '--campaign', 'other'], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/^--campaign given twice\nusage: npm run reconcile/);
    const flagTwice = await cli(
      'ledger-init',
      ['--campaign', running.id, '--after-loss', '--after-loss'],
      env,
    );
    expect(flagTwice.code).toBe(2);
    expect(flagTwice.stderr).toMatch(/^--after-loss given twice/);

    // Checked before the record is opened: nothing listens at this database.
    const withRecord = { ...env, DATABASE_URL: 'postgresql://rec:pw@127.0.0.1:9/none' };
    const fromRecord = ['--campaign', running.id, '--from-record', '--record-complete-through'];
    for (const point of ['99999999999999-0', String(Date.now() + HOUR_MS)]) {
      const future = await cli('ledger-init', [...fromRecord, point], withRecord);
      expect(future.code).toBe(2);
      expect(future.stderr).toMatch(/--record-complete-through .* is in the future/);
    }
    const malformed = await cli('ledger-init', [...fromRecord, '0x10'], withRecord);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/takes a stream id/);

    const loose = await cli('reconcile', ['--campaign', running.id], {
      ...env,
      REDIS_COMMAND_TIMEOUT_MS: '1e3',
      SHUTDOWN_GRACE_MS: ' ',
    });
    expect(loose.code).toBe(2);
    expect(loose.stderr).toMatch(/- REDIS_COMMAND_TIMEOUT_MS: a whole number in decimal digits/);
    expect(loose.stderr).toMatch(/- SHUTDOWN_GRACE_MS: empty/);
  });
});

describe('the operator CLIs without Redis', () => {
  it('exit 1 at once, saying which Redis they could not reach', async () => {
    const port = await findFreePort();
    const campaign = liveCampaign(uniqueId('cli-none'));
    const started = Date.now();
    const run = await cli('reconcile', ['--campaign', campaign.id], {
      CAMPAIGNS_FILE: campaignsFile([campaign]),
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^cannot reach Redis redis://127\\.0\\.0\\.1:${port}: `, 'm'),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
