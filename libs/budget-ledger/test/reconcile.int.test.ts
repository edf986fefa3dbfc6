import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile, shardKeys, trimRecorded } from '../src';
import { claim, ledgerAt } from './support';

/**
 * reconcile must not only be clean when things are right: each way the ledger, its records and
 * its stream can disagree is made here by hand, and must be named.
 */
describeWithRedis('reconcile finds what is wrong', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  /** One shard, three coupons issued (users a, b, c), clean. */
  async function clean() {
    const setup = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', {
      shards: 1,
      perUser: { daily: 3, total: 5 },
    });
    for (const user of ['a', 'b', 'c']) await setup.ledger.issue(claim(user));
    const keys = shardKeys(setup.calendar.campaign.id, 0);
    const problems = async () =>
      (await reconcile(redis, setup.calendar, setup.clock.now())).problems.join('\n');
    expect(await problems()).toBe('');
    return { ...setup, keys, problems };
  }

  /** The recorder's trim (trimRecorded-2.lua): everything delivered, acknowledged, trimmed. */
  async function trimAll(campaignId: string, audit: string): Promise<void> {
    await redis.xgroup('CREATE', audit, 'recorder', '0');
    const read = (await redis.xreadgroup('GROUP', 'recorder', 'r', 'STREAMS', audit, '>')) as [
      string,
      [string, string[]][],
    ][];
    const ids = read[0]![1].map(([id]) => id);
    await redis.xack(audit, 'recorder', ...ids);
    await trimRecorded(redis, campaignId, 0, 'recorder', ids[ids.length - 1]!);
  }

  it('stays clean after the recorder trimmed the stream, and still finds a record without a ledger count', async () => {
    const { ledger, calendar, keys, problems } = await clean();
    await trimAll(calendar.campaign.id, keys.audit);
    // The last recorded entry stays (the recorder's verification finds it there).
    expect(await redis.xlen(keys.audit)).toBe(1);
    expect(await problems()).toBe('');
    // Events after the trim are checked as before.
    await ledger.issue(claim('d'));
    expect(await problems()).toBe('');
    await redis.hincrby(keys.ledger, 'issued', -1);
    expect(await problems()).toMatch(/ledger issued 3 != written off 0 \+ 4 coupon records/);
  });

  it('issued past what was released', async () => {
    const { calendar, clock, keys, problems } = await clean();
    const released = calendar.releasedCouponsAt(clock.now());
    await redis.hincrby(keys.ledger, 'issued', released);
    await redis.hincrby(keys.ledger, 'writtenOff', released);
    expect(await problems()).toMatch(new RegExp(`issued ${released + 3} > released ${released}`));
  });

  it('a user over the campaign limit', async () => {
    const { keys, problems } = await clean();
    await redis.hset(keys.user('a'), 'total', 6);
    expect(await problems()).toMatch(/user a: 6 coupons > limit 5/);
  });

  it('rebalancing adjustments that no transfer explains', async () => {
    const { keys, problems } = await clean();
    await redis.hincrby(keys.ledger, 'adj', 3);
    expect(await problems()).toMatch(/adjustments sum to 3, the transfer records to 0/);
  });

  it('a credit without its debit (a transfer given twice)', async () => {
    const { keys, problems } = await clean();
    const gen = await redis.hget(keys.ledger, 'gen');
    // Shard 0 is its own "source" here: same generation, yet no xout record.
    await redis.hset(keys.ledger, 'xin:forged', `0:4:${gen ?? ''}:adj`);
    await redis.hincrby(keys.ledger, 'adj', 4);
    expect(await problems()).toMatch(/transfer forged: given 4 without the same taken/);
  });

  it('a missing audit event', async () => {
    const { keys, problems } = await clean();
    const [last] = await redis.xrevrange(keys.audit, '+', '-', 'COUNT', 1);
    await redis.xdel(keys.audit, last![0]);
    const found = await problems();
    expect(found).toMatch(/records without an issued event/);
    expect(found).toMatch(/the ledger's last event is .* but the stream ends at/);
  });

  it('a stream restored from an older moment than its ledger', async () => {
    const { ledger, keys, problems } = await clean();
    // The ledger moves on (one more claim), its stream is put back as it was before.
    const before = await redis.xrange(keys.audit, '-', '+');
    const coupon = await ledger.issue(claim('d'));
    if (coupon.kind !== 'issued') throw new Error(coupon.kind);
    await redis.del(keys.audit);
    for (const [id, fields] of before) await redis.xadd(keys.audit, id, ...fields);
    const found = await problems();
    expect(found).toMatch(/the ledger counts 5 events, the stream 4/);
    expect(found).toMatch(/3 issued events != 4 coupon records/);
  });

  it('a shard marked rolled back', async () => {
    const { keys, problems } = await clean();
    await redis.hset(keys.ledger, 'rolledBack', 'caller saw more');
    expect(await problems()).toMatch(/rolled back \(caller saw more\)/);
  });
});
