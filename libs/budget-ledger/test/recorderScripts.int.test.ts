import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import {
  BudgetLedger,
  checkRecorded,
  nextStreamId,
  shardKeys,
  trimRecorded,
  unfencedShards,
} from '../src';
import { claim, ledgerAt } from './support';

const GROUP = 'recorder';

/**
 * The recorder's two scripts (lua/trimRecorded-2.lua, lua/checkRecorded-2.lua) against the
 * guard every money script runs: a trim must never look like a rollback, and a shard behind the
 * record must be refused by every script.
 */
describeWithRedis('the recorder scripts', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

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
    // ids[3] itself stays: the verification finds the record's last event by it.
    expect(trim).toEqual({ kind: 'trimmed', trimmedTo: nextStreamId(ids[3]!), removed: 3 });
    expect((await redis.xrange(keys.audit, '-', '+')).map(([id]) => id)).toEqual(ids.slice(3));
    expect(await redis.hget(keys.ledger, 'trimmedTo')).toBe(nextStreamId(ids[3]!));

    // The ledger's pod last saw ids[5], still there; claims go on, the guard is not tripped.
    await claims(ledger, 2);
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBeNull();

    // A pending entry (not acknowledged) bounds the cut, whatever upTo says.
    const more = await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', keys.audit, '>');
    expect(more).not.toBeNull();
    const afterAll = await trimRecorded(redis, calendar.campaign.id, 0, GROUP, ids[5]!);
    // The cut stops at ids[4], the oldest pending entry: ids[3] goes ("unchanged", ids[3]
    // staying, when ids[4] is the very next id after ids[3], in the same millisecond).
    expect(afterAll).toMatchObject({ trimmedTo: ids[4]! });
    if (afterAll.kind === 'trimmed') expect(afterAll.removed).toBe(1);
    expect(await redis.xlen(keys.audit)).toBe(afterAll.kind === 'trimmed' ? 4 : 5);

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
      removed: ids.length - 1,
    });
    expect(await redis.xlen(keys.audit)).toBe(1);
    await claims(ledger, 1);
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBeNull();
  });

  const runIdOf = async (): Promise<string> => {
    const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
    // Every test's shards may sit on any master: the one holding the key answers below.
    return (
      await Promise.all(nodes.map(async (n) => /run_id:(\w+)/.exec(await n.info('server'))![1]!))
    ).join(',');
  };

  /** The record's position as the ledger stands now (as if everything were recorded). */
  async function positionNow(campaignId: string, shard: number) {
    const keys = shardKeys(campaignId, shard);
    const [gen, events, streamId] = await redis.hmget(keys.ledger, 'gen', 'events', 'lastEventId');
    return { gen: gen!, events: Number(events), streamId: streamId! };
  }

  it('verifies a shard at or ahead of the record, and every event carries its sequence number', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    const id = calendar.campaign.id;
    await claims(ledger, 2);
    const keys = shardKeys(id, 0);
    const entries = await redis.xrange(keys.audit, '-', '+');
    expect(entries.map(([, f]) => f[f.indexOf('n') + 1])).toEqual(['1', '2', '3']);
    const recorded = await positionNow(id, 0);
    expect(recorded.events).toBe(3);
    // Initialised unfenced (what a pod warns about at start).
    expect(await unfencedShards(redis, calendar.campaign)).toEqual([0]);
    const equal = await checkRecorded(redis, id, 0, '', recorded);
    expect(equal).toMatchObject({ kind: 'verified', gen: recorded.gen, fencedNow: false });
    if (equal.kind !== 'verified') throw new Error(equal.kind);
    expect((await runIdOf()).split(',')).toContain(equal.runId);
    // Quick mode: the same process is still the verified one; another run id is not.
    expect(await checkRecorded(redis, id, 0, equal.runId)).toMatchObject({ kind: 'verified' });
    expect(await checkRecorded(redis, id, 0, 'ffff')).toEqual({
      kind: 'unverified',
      runId: equal.runId,
    });
    // Ahead: more events, the recorded one still there at its sequence.
    await claims(ledger, 2);
    expect(await checkRecorded(redis, id, 0, '', recorded)).toMatchObject({ kind: 'verified' });
    // Nothing recorded yet: verified.
    expect(await checkRecorded(redis, id, 0, '', null)).toMatchObject({ kind: 'verified' });
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBeNull();
  });

  it('a fenced ledger refuses every money script until the recorder verified this Redis process', async () => {
    const { ledger, calendar } = await ledgerAt(
      redis,
      '2026-02-10T12:00:00+08:00',
      { shards: 1 },
      { fenced: true },
    );
    const id = calendar.campaign.id;
    const keys = shardKeys(id, 0);
    expect(await redis.hget(keys.ledger, 'fence')).toBe('-');
    expect(await unfencedShards(redis, calendar.campaign)).toEqual([]);
    await expect(ledger.issue(claim('early'))).rejects.toMatchObject({ reason: 'unverified' });
    expect(await redis.xlen(keys.audit)).toBe(1);
    const verified = await checkRecorded(redis, id, 0, '', null);
    expect(verified).toMatchObject({ kind: 'verified', fencedNow: true });
    if (verified.kind !== 'verified') throw new Error(verified.kind);
    expect(await redis.hget(keys.ledger, 'fence')).toBe(verified.runId);
    await claims(ledger, 2);
    // Quick mode on the fenced process: verified, nothing written.
    expect(await checkRecorded(redis, id, 0, verified.runId)).toMatchObject({
      kind: 'verified',
      fencedNow: false,
    });
    // Another process (as after a restart: the fence names a run id this one is not).
    await redis.hset(keys.ledger, 'fence', 'a'.repeat(40));
    await expect(ledger.issue(claim('after-restart'))).rejects.toMatchObject({
      reason: 'unverified',
    });
    expect(await redis.xlen(keys.audit)).toBe(3);
    expect(await checkRecorded(redis, id, 0, verified.runId)).toEqual({
      kind: 'unverified',
      runId: verified.runId,
    });
    expect(
      await checkRecorded(redis, id, 0, verified.runId, await positionNow(id, 0)),
    ).toMatchObject({ kind: 'verified', fencedNow: true });
    await claims(ledger, 1);
  });

  it('marks a shard behind the record rolled back, once, and every script refuses it', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 1 });
    await claims(ledger, 2);
    const keys = shardKeys(calendar.campaign.id, 0);
    const now = await positionNow(calendar.campaign.id, 0);

    // The record holds an event the shard never had: it lost it.
    const ahead = { ...now, streamId: nextStreamId(now.streamId), events: now.events + 1 };
    const check = await checkRecorded(redis, calendar.campaign.id, 0, '', ahead);
    expect(check).toMatchObject({ kind: 'rolled_back', markedNow: true });
    if (check.kind !== 'rolled_back') throw new Error(check.kind);
    expect(check.detail).toMatch(/fewer events; the record holds gen \d+ event 4 at /);
    expect(await redis.hget(keys.ledger, 'rolledBack')).toBe(check.detail);
    await expect(ledger.issue(claim('newcomer'))).rejects.toMatchObject({ reason: 'rolled_back' });
    // Nor is its stream trimmed: the operator rebuilding it may want it.
    await redis.xgroup('CREATE', keys.audit, GROUP, '0');
    expect(await trimRecorded(redis, calendar.campaign.id, 0, GROUP, now.streamId)).toEqual({
      kind: 'rolled_back',
    });
    expect(await redis.xlen(keys.audit)).toBe(3);
    // Checked again, either mode: reported, not marked again.
    expect(await checkRecorded(redis, calendar.campaign.id, 0, '', ahead)).toMatchObject({
      kind: 'rolled_back',
      markedNow: false,
      detail: check.detail,
    });
    expect(await checkRecorded(redis, calendar.campaign.id, 0, '')).toMatchObject({
      kind: 'rolled_back',
      markedNow: false,
    });
  });

  it('an older generation, another last event, or a recorded event gone or at another sequence is behind too', async () => {
    const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', { shards: 4 });
    // Two claims on every shard, whatever the users' hashes.
    for (let shard = 0; shard < 4; shard += 1)
      for (let i = 0, made = 0; made < 2; i += 1) {
        const userId = `s${shard}-${i}-${Math.random()}`;
        if (ledger.shardOf(userId) !== shard) continue;
        await ledger.issue(claim(userId));
        made += 1;
      }
    const id = calendar.campaign.id;
    const p0 = await positionNow(id, 0);
    expect(
      await checkRecorded(redis, id, 0, '', { ...p0, gen: String(Number(p0.gen) + 1) }),
    ).toMatchObject({ kind: 'rolled_back', markedNow: true });

    // Shard 1: as many events, but the record's last is another id (a restored shard that
    // appended as many events since as it lost).
    const p1 = await positionNow(id, 1);
    expect(
      await checkRecorded(redis, id, 1, '', { ...p1, streamId: nextStreamId(p1.streamId) }),
    ).toMatchObject({ kind: 'rolled_back', detail: expect.stringMatching(/another last event/) });

    // Shard 2: ahead of the record, but the recorded event is missing from the stream (the
    // stream ids of a restored shard's new events sort after the recorded one).
    const k2 = shardKeys(id, 2);
    const [first] = await redis.xrange(k2.audit, '-', '+', 'COUNT', 1);
    await redis.xdel(k2.audit, first![0]);
    expect(
      await checkRecorded(redis, id, 2, '', {
        ...(await positionNow(id, 2)),
        streamId: first![0],
        events: 1,
      }),
    ).toMatchObject({
      kind: 'rolled_back',
      detail: expect.stringMatching(/not the recorded event/),
    });

    // Shard 3: the recorded id is there with another sequence number.
    const k3 = shardKeys(id, 3);
    const [init] = await redis.xrange(k3.audit, '-', '+', 'COUNT', 1);
    const g3 = (await redis.hget(k3.ledger, 'gen'))!;
    expect(
      await checkRecorded(redis, id, 3, '', { gen: g3, streamId: init![0], events: 2 }),
    ).toMatchObject({ kind: 'rolled_back', detail: expect.stringMatching(/another sequence/) });
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
      await checkRecorded(redis, calendar.campaign.id, 0, '', {
        gen: '1',
        streamId: '1-0',
        events: 1,
      }),
    ).toEqual({ kind: 'ledger_missing' });
    expect(await checkRecorded(redis, calendar.campaign.id, 0, '')).toEqual({
      kind: 'ledger_missing',
    });
    expect(await redis.exists(keys.ledger, keys.audit)).toBe(0);
  });
});
