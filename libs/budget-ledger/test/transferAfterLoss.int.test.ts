import { describeIfRedis, usePrivateRedis } from '@coupons/testing';
import { keysOfShard, reconcile, shardKeys, shardOfUser, type BudgetLedger } from '../src';
import { claim, ledgerAt, takeOnly } from './support';

function usersOf(shard: number, shards: number, count: number, prefix: string): string[] {
  const users: string[] = [];
  for (let i = 0; users.length < count; i += 1)
    if (shardOfUser(`${prefix}-${i}`, shards) === shard) users.push(`${prefix}-${i}`);
  return users;
}

/** Claims by `count` new users of `shard` (named `prefix`-i): how many were issued. */
async function issueOn(ledger: BudgetLedger, shard: number, count: number, prefix: string) {
  const results = await Promise.all(
    usersOf(shard, 2, count, prefix).map((u) => ledger.issue(claim(u))),
  );
  return results.filter((r) => r.kind === 'issued').length;
}

/** 2 shards, 20 coupons a day in one slice at 00:00 (10 per shard), one claim per user a day. */
const TWO_SHARDS_ONE_SLICE = {
  shards: 2,
  release: { slicesPerDay: 1, rollover: true },
  perUser: { daily: 1, total: 21 },
};

/**
 * A rebalancing transfer leaves a marker on each side; when one side is lost, the other side's
 * marker must never make the transfer count twice. A private Redis: the test deletes keys.
 */
describeIfRedis('rebalancing after a shard is lost', () => {
  const server = usePrivateRedis();

  it('never credits a transfer into a lost shard again: issued stays within what was released', async () => {
    // 10 per shard at noon.
    const { ledger, calendar, clock } = await ledgerAt(server.redis, '2026-02-06T12:00:00+08:00', {
      ...TWO_SHARDS_ONE_SLICE,
      poolFen: 2500 * 20 * 23,
    });
    const released = calendar.releasedCouponsAt(clock.now());
    expect(released).toBe(20);

    let given = await issueOn(ledger, 0, 10, 'a');
    expect(given).toBe(10);
    expect(await ledger.rebalanceInto(0)).toMatchObject({ kind: 'moved', coupons: 5 });
    given += await issueOn(ledger, 0, 5, 'b');
    expect(given).toBe(15);

    // Shard 0 is lost (its ledger and stream with the transfer's "given" marker), then
    // re-initialised after the loss: everything released to it so far counts as issued.
    const lost = shardKeys(calendar.campaign.id, 0);
    await server.redis.del(lost.ledger, lost.audit);
    expect((await ledger.init({ afterLoss: true })).created).toEqual([0]);

    // The source's marker survived; it must not credit the transfer a second time.
    expect(await ledger.completeTransfers()).toMatchObject({ given: 0 });
    given += await issueOn(ledger, 0, 10, 'c');
    given += await issueOn(ledger, 1, 10, 'd');
    expect(given).toBeLessThanOrEqual(released);
  });
});

describeIfRedis('rebalancing with a shard lost while a transfer is in flight', () => {
  const server = usePrivateRedis();

  /** Every key of the shard, as a lost Redis node loses them. */
  async function loseShard(campaignId: string, shard: number): Promise<void> {
    const keys = shardKeys(campaignId, shard);
    const all = await keysOfShard(server.redis, keys.tag, keys.allPattern);
    if (all.length > 0) await server.redis.del(...all);
  }

  it('writes off a transfer taken for the lost target: counted as spent, never credited, reconcile clean', async () => {
    const { ledger, calendar, clock } = await ledgerAt(server.redis, '2026-02-06T12:00:00+08:00', {
      ...TWO_SHARDS_ONE_SLICE,
      poolFen: 2500 * 20 * 23,
    });
    const campaignId = calendar.campaign.id;
    let given = await issueOn(ledger, 0, 10, 'a');

    // Step 1 of a transfer into shard 0, then the pod dies before step 2.
    const taken = await takeOnly(server.redis, ledger, {
      transferId: 'in-flight',
      coupons: 4,
      capCoupons: 10,
      source: 1,
      target: 0,
      atMs: clock.now(),
    });
    expect(taken[0]).toBe(1);

    await loseShard(campaignId, 0);
    expect((await ledger.init({ afterLoss: true })).created).toEqual([0]);
    expect(await ledger.completeTransfers()).toEqual({ given: 0, writtenOff: 1, pending: 0 });
    expect(await ledger.completeTransfers()).toEqual({ given: 0, writtenOff: 0, pending: 0 });

    given += await issueOn(ledger, 0, 10, 'b');
    given += await issueOn(ledger, 1, 10, 'c');
    expect(given).toBeLessThanOrEqual(calendar.releasedCouponsAt(clock.now()));
    // Shard 1 lent 4 that went nowhere: it can issue only the other 6.
    expect(given).toBe(16);
    const report = await reconcile(server.redis, calendar, clock.now());
    expect(report.problems).toEqual([]);
    expect(report.writtenOffTransferCoupons).toBe(4);
    expect(report.inTransitCoupons).toBe(0);
  });

  it('never moves more into a shard than it may still issue under its pool share', async () => {
    // One day of 20 coupons in one slice, 2 shards: each shard's whole pool share is 10.
    const { ledger, calendar } = await ledgerAt(server.redis, '2026-02-06T12:00:00+08:00', {
      ...TWO_SHARDS_ONE_SLICE,
      poolFen: 2500 * 20,
      startsAt: '2026-02-06T00:00:00+08:00',
      endsAt: '2026-02-06T23:59:59.999+08:00',
      perUser: { daily: 1, total: 1 },
    });
    expect(await issueOn(ledger, 0, 10, 'p')).toBe(10);
    // Shard 0 has issued its full share of the pool: budget moved there could never be issued.
    expect(await ledger.rebalanceInto(0)).toEqual({ kind: 'nothing_to_move' });
    const snapshot = await ledger.snapshot();
    expect(snapshot.shards.map((s) => s.releasedCoupons)).toEqual([10, 10]);
    expect(calendar.poolCoupons).toBe(20);
  });
});
