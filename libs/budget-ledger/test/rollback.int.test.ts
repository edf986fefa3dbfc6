import { describeIfRedis, useRestartableRedis } from '@coupons/testing';
import type { Redis } from 'ioredis';
import { LedgerFault, reconcile } from '../src';
import { claim, ledgerAt } from './support';

/**
 * A Redis that comes back with older data (a restart from an RDB snapshot with AOF off, a failover
 * to a replica that was behind) rolls the ledger, the user counters, the idempotency keys and the
 * coupon records back together. A pod that saw the newer state must notice and refuse, never
 * issue again what it already gave away. A private server: these tests stop and restart it.
 */
describeIfRedis('a ledger rolled back to an older snapshot', () => {
  let redis: Redis;
  const restartFromSnapshot = useRestartableRedis('coupons-rollback-', (r) => (redis = r));

  /** SAVE, `after` more operations, then SHUTDOWN NOSAVE and a restart from the saved file. */
  async function snapshotThenRollBack(after: () => Promise<void>): Promise<void> {
    await redis.save();
    await after();
    await restartFromSnapshot();
  }

  it('refuses claims on the rolled-back shard (503 fault) instead of re-issuing a remembered key', async () => {
    const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00', {
      shards: 1,
      perUser: { daily: 3, total: 21 },
    });
    const codes = new Map<string, string>();
    const claimAs = async (i: number) => {
      const result = await ledger.issue(claim(`user-${i}`, `key-${i}`));
      if (result.kind !== 'issued') throw new Error(result.kind);
      codes.set(`user-${i}`, result.coupon.code);
    };
    for (let i = 0; i < 5; i += 1) await claimAs(i);
    await snapshotThenRollBack(async () => {
      for (let i = 5; i < 10; i += 1) await claimAs(i);
    });

    // user-7's claim was answered before the restart: its retry must not get a second code.
    const retry = ledger.issue(claim('user-7', 'key-7'));
    await expect(retry).rejects.toBeInstanceOf(LedgerFault);
    await expect(retry).rejects.toMatchObject({ reason: 'rolled_back' });
    await expect(ledger.issue(claim('newcomer', 'key-new'))).rejects.toMatchObject({
      reason: 'rolled_back',
    });
    // Redemptions fail closed too: the records they would check are the old ones.
    await expect(
      ledger.redeem({
        code: codes.get('user-2')!,
        shard: 0,
        userId: 'user-2',
        orderId: 'o-1',
        orderAmountFen: 5000,
      }),
    ).rejects.toMatchObject({ reason: 'rolled_back' });

    // The mark is in Redis: a pod that never saw the newer state refuses as well, and reconcile
    // reports it.
    const { ledger: freshPod } = await ledgerAt(
      redis,
      '2026-02-10T12:31:00+08:00',
      {},
      { init: false, campaign: calendar.campaign },
    );
    await expect(freshPod.issue(claim('another', 'key-x'))).rejects.toMatchObject({
      reason: 'rolled_back',
    });
    const report = await reconcile(redis, calendar, clock.now());
    expect(report.clean).toBe(false);
    expect(report.problems.join('\n')).toMatch(/rolled back/);
  });

  it('is seen by a pod whose last view is older than the snapshot only through its own marks', async () => {
    const { ledger } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00', { shards: 1 });
    await ledger.issue(claim('before-1'));
    await snapshotThenRollBack(async () => {
      // Nothing this pod saw is lost: the restored file holds everything it knows of.
    });
    expect((await ledger.issue(claim('after-1'))).kind).toBe('issued');
  });
});
