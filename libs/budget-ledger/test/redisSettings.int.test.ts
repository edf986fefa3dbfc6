import { describeIfRedis, usePrivateRedis } from '@coupons/testing';
import { BudgetLedger, RedisSettingsGuard } from '../src';
import { claim, ledgerAt } from './support';

/**
 * The user, idempotency and coupon keys carry TTLs: under an eviction policy Redis may drop them
 * while the ledger stays, and limits and idempotency would vanish without anything failing. A
 * private server, since the tests change its configuration.
 */
describeIfRedis('a Redis whose settings could lose coupons', () => {
  const server = usePrivateRedis({ args: ['--maxmemory-policy', 'volatile-lru'] });

  async function guarded(
    mode: 'enforce' | 'warn' | 'skip',
    requirePersistence = false,
    minReplicasToWrite?: number,
  ) {
    const settings = new RedisSettingsGuard(server.redis, {
      mode,
      requirePersistence,
      minReplicasToWrite,
    });
    const setup = await ledgerAt(server.redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    const ledger = new BudgetLedger(server.redis, setup.calendar, setup.clock, {
      trustCallerClock: true,
      settings,
    });
    return { settings, ledger };
  }

  it('refuses claims under an evicting policy, says why, and serves once it is noeviction', async () => {
    await server.redis.config('SET', 'maxmemory-policy', 'volatile-lru');
    const { settings, ledger } = await guarded('enforce');
    // Not read yet: the first claim reads them, and is refused for what it finds.
    await expect(ledger.issue(claim('early'))).rejects.toMatchObject({ reason: 'redis_settings' });
    expect(settings.report?.problems.join('\n')).toMatch(/maxmemory-policy is volatile-lru/);
    const report = await settings.check();
    expect(report.nodes[0]).toMatchObject({ maxmemoryPolicy: 'volatile-lru' });
    expect(report.problems.join('\n')).toMatch(/maxmemory-policy is volatile-lru/);
    await expect(ledger.issue(claim('u'))).rejects.toMatchObject({ reason: 'redis_settings' });

    await server.redis.config('SET', 'maxmemory-policy', 'noeviction');
    expect((await settings.check()).problems).toEqual([]);
    expect((await ledger.issue(claim('u'))).kind).toBe('issued');
  });

  it('a pod that has not read the settings yet reads them on its first claim instead of refusing it', async () => {
    await server.redis.config('SET', 'maxmemory-policy', 'noeviction');
    const { settings, ledger } = await guarded('enforce');
    expect(settings.report).toBeUndefined();
    expect((await ledger.issue(claim('first'))).kind).toBe('issued');
    expect(settings.report?.problems).toEqual([]);
  });

  it('in production also wants the append-only file', async () => {
    await server.redis.config('SET', 'maxmemory-policy', 'noeviction');
    await server.redis.config('SET', 'appendonly', 'no');
    const { settings, ledger } = await guarded('enforce', true);
    expect((await settings.check()).problems.join('\n')).toMatch(/appendonly is no/);
    await expect(ledger.issue(claim('u'))).rejects.toMatchObject({ reason: 'redis_settings' });
    await server.redis.config('SET', 'appendonly', 'yes');
    expect((await settings.check()).problems).toEqual([]);
    expect((await ledger.issue(claim('v'))).kind).toBe('issued');
    await server.redis.config('SET', 'appendonly', 'no');
  });

  it('waiting for replicas, wants min-replicas-to-write so a master without them refuses at once', async () => {
    await server.redis.config('SET', 'maxmemory-policy', 'noeviction');
    await server.redis.config('SET', 'min-replicas-to-write', '0');
    const { settings, ledger } = await guarded('enforce', false, 1);
    expect((await settings.check()).problems.join('\n')).toMatch(/min-replicas-to-write is 0/);
    await expect(ledger.issue(claim('r'))).rejects.toMatchObject({ reason: 'redis_settings' });
    await server.redis.config('SET', 'min-replicas-to-write', '1');
    expect((await settings.check()).problems).toEqual([]);
    await server.redis.config('SET', 'min-replicas-to-write', '0');
  });

  it('warn reports and serves; skip does not read CONFIG at all (a managed Redis without it)', async () => {
    await server.redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const warned = await guarded('warn');
    expect((await warned.settings.check()).problems).toHaveLength(1);
    expect((await warned.ledger.issue(claim('w'))).kind).toBe('issued');
    const skipped = await guarded('skip');
    expect(await skipped.settings.check()).toEqual({ nodes: [], problems: [] });
    expect((await skipped.ledger.issue(claim('s'))).kind).toBe('issued');
    await server.redis.config('SET', 'maxmemory-policy', 'noeviction');
  });
});
