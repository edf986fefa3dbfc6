import { describeWithRedis } from '@coupons/redis-local';
import type { Cluster, Redis } from 'ioredis';
import { BudgetLedger, checkRecorded, nextStreamId, shardKeys, trimRecorded } from '../src';
import { claim, ledgerAt } from './support';

const GROUP = 'recorder';

/**
 * The recorder's two scripts (lua/trimRecorded-2.lua, lua/checkRecorded-2.lua) against the
 * guard every money script runs: a trim must never look like a rollback, and a shard behind the
 * record must be refused by every script.
 */
describeWithRedis('the recorder scripts', (target) => {
  let redis: Redis | Cluster;
  beforeAll(() => {
    redis = target.connect();
  });

  async function claims(ledger: BudgetLedger, count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const result = await ledger.issue(claim(`user-${i}-${Math.random()}`));
      if (result.kind !== 'issued') throw new Error(result.kind);
    }
  }

  /** Every entry of the stream delivered to one consumer; ids in order. */
  async function deliverAll(audit: string): Promise<string[]> {
    await redis.xgroup('CREATE', audit, GROUP, '0', 'MKSTREAM');
    const reply = (await redis.xreadgroup(
      'GROUP',
      GROUP,
      'c1',
      'COUNT',
      1000,
      'STREAMS',
      audit,
      '>',
    )) as [string, [string, string[]][]][];
    return reply[0]![1].map(([id]) => id);
  }

  it('trims only what is acknowledged, sets trimmedTo, and the pods that saw the trimmed events keep claiming', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    await claims(ledger, 5);
    const keys = shardKeys(calendar.campaign.id, 0);
    const ids = await deliverAll(keys.audit);
    expect(ids).toHaveLength(6); // init + 5 issued
    // ids[0..3] recorded and acknowledged; ids[4..5] still pending.
    await redis.xack(keys.audit, GROUP, ...ids.slice(0, 4));
    const trim = await trimRecorded(redis, calendar.campaign.id, 0, GROUP, ids[3]!);
    expect(trim).toEqual({ kind: 'trimmed', trimmedTo: nextStreamId(ids[3]!), removed: 4 });
    expect((await redis.xrange(keys.audit, '-', '+')).map(([id]) => id)).toEqual(ids.slice(4));
    expect(await redis.hget(keys.ledger, 'trimmedTo')).toBe(nextStreamId(ids[3]!));

    // The ledger's pod last saw ids[5], still there; claims go on, the guard is not tripped.
    await claims(ledger, 2);
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBeNull();

    // A pending entry (not acknowledged) bounds the cut, whatever upTo says.
    const more = await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', keys.audit, '>');
    expect(more).not.toBeNull();
    const afterAll = await trimRecorded(redis, calendar.campaign.id, 0, GROUP, ids[5]!);
    // The cut stops at ids[4], the oldest pending entry: nothing removed ("unchanged" when
    // ids[4] is the very next id after ids[3], in the same millisecond).
    expect(afterAll).toMatchObject({ trimmedTo: ids[4]! });
    if (afterAll.kind === 'trimmed') expect(afterAll.removed).toBe(0);
    expect(await redis.xlen(keys.audit)).toBe(4);

    // trimmedTo never moves backwards.
    await redis.xack(keys.audit, GROUP, ids[4]!, ids[5]!);
    const back = await trimRecorded(redis, calendar.campaign.id, 0, GROUP, ids[2]!);
    expect(back).toEqual({ kind: 'unchanged', trimmedTo: ids[4]! });
    expect(await redis.hget(keys.ledger, 'trimmedTo')).toBe(ids[4]!);
  });

  it('a pod whose last-seen event was trimmed away still claims (trimmedTo is past it)', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    await claims(ledger, 3);
    const keys = shardKeys(calendar.campaign.id, 0);
    const ids = await deliverAll(keys.audit);
    await redis.xack(keys.audit, GROUP, ...ids);
    const last = ids[ids.length - 1]!;
    expect(await trimRecorded(redis, calendar.campaign.id, 0, GROUP, last)).toMatchObject({
      kind: 'trimmed',
      removed: ids.length,
    });
    expect(await redis.xlen(keys.audit)).toBe(0);
    await claims(ledger, 1);
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBeNull();
  });

  it('marks a shard behind the record rolled back, once, and every script refuses it', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    await claims(ledger, 2);
    const keys = shardKeys(calendar.campaign.id, 0);
    const gen = (await redis.hget(keys.ledger, 'gen'))!;
    const lastEventId = (await redis.hget(keys.ledger, 'lastEventId'))!;

    expect(
      await checkRecorded(redis, calendar.campaign.id, 0, { gen, streamId: lastEventId }),
    ).toEqual({ kind: 'consistent', gen, lastEventId });

    // The record holds an event the shard never had: it lost it.
    const ahead = nextStreamId(lastEventId);
    const check = await checkRecorded(redis, calendar.campaign.id, 0, { gen, streamId: ahead });
    expect(check).toMatchObject({ kind: 'rolled_back', markedNow: true });
    if (check.kind !== 'rolled_back') throw new Error(check.kind);
    expect(check.detail).toMatch(new RegExp(`recorder recorded ${ahead} gen ${gen}; ledger has`));
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBe(check.detail);
    await expect(ledger.issue(claim('newcomer'))).rejects.toMatchObject({ reason: 'rolled_back' });
    // Nor is its stream trimmed: the operator rebuilding it may want it.
    await redis.xgroup('CREATE', keys.audit, GROUP, '0');
    expect(await trimRecorded(redis, calendar.campaign.id, 0, GROUP, lastEventId)).toEqual({
      kind: 'rolled_back',
    });
    expect(await redis.xlen(keys.audit)).toBe(3);
    // Checked again: reported, not marked again.
    expect(
      await checkRecorded(redis, calendar.campaign.id, 0, { gen, streamId: ahead }),
    ).toMatchObject({ kind: 'rolled_back', markedNow: false, detail: check.detail });
  });

  it('an older generation, or a recorded event gone from the stream, is behind too', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 2 });
    await claims(ledger, 4);
    const id = calendar.campaign.id;
    const k0 = shardKeys(id, 0);
    const gen0 = (await redis.hget(k0.ledger, 'gen'))!;
    expect(
      await checkRecorded(redis, id, 0, { gen: String(Number(gen0) + 1), streamId: '0-1' }),
    ).toMatchObject({ kind: 'rolled_back', markedNow: true });

    // Shard 1: its ledger is ahead, but the recorded id is missing from the untrimmed stream
    // (as after a restore from a copy without it that was written to again).
    const k1 = shardKeys(id, 1);
    const gen1 = (await redis.hget(k1.ledger, 'gen'))!;
    const missing = (await redis.hget(k1.ledger, 'lastEventId'))!;
    await redis.xdel(k1.audit, missing);
    expect(await checkRecorded(redis, id, 1, { gen: gen1, streamId: missing })).toMatchObject({
      kind: 'rolled_back',
    });
  });

  it('reports a missing ledger and creates nothing', async () => {
    const { calendar } = await ledgerAt(
      redis,
      '2026-02-10T12:00:00+08:00',
      { shards: 1 },
      { init: false },
    );
    const keys = shardKeys(calendar.campaign.id, 0);
    expect(
      await checkRecorded(redis, calendar.campaign.id, 0, { gen: '1', streamId: '1-0' }),
    ).toEqual({ kind: 'ledger_missing' });
    expect(await redis.exists(keys.ledger, keys.audit)).toBe(0);
  });
});
