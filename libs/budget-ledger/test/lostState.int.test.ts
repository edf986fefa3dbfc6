import { describeIfRedis, usePrivateRedis } from '@coupons/testing';
import { LedgerFault, reconcile, shardKeys } from '../src';
import { at, claim, ledgerAt } from './support';

/** A private Redis: these tests flush it, which must never touch the shared harness servers. */
describeIfRedis('initLedger-2.lua: lost state is not a fresh start', () => {
  const server = usePrivateRedis();

  it('refuses to issue after a flush until the ledger is re-initialised on purpose, never re-issuing', async () => {
    const overrides = { shards: 2, perUser: { daily: 24, total: 600 } };
    const { ledger, clock, calendar } = await ledgerAt(
      server.redis,
      '2026-02-10T12:30:00+08:00',
      overrides,
    );
    expect(await ledger.init()).toMatchObject({
      created: [],
      existing: [0, 1],
      writtenOffCoupons: 0,
    });
    for (let i = 0; i < 5; i += 1) expect((await ledger.issue(claim(`u${i}`))).kind).toBe('issued');

    await server.redis.flushall();
    await expect(ledger.issue(claim('after-flush'))).rejects.toBeInstanceOf(LedgerFault);
    await expect(ledger.init()).rejects.toThrow(/has started .* no ledger/);
    expect((await ledger.snapshot()).unknownShards).toEqual([
      { shard: 0, reason: 'missing' },
      { shard: 1, reason: 'missing' },
    ]);

    // Re-initialised after the loss: everything released so far counts as given away.
    const released = calendar.releasedCouponsAt(clock.now());
    const report = await ledger.init({ afterLoss: true });
    expect(report).toMatchObject({ created: [0, 1], existing: [], writtenOffCoupons: released });
    expect(await ledger.issue(claim('same-hour'))).toMatchObject({ kind: 'tranche_exhausted' });
    clock.set(at('2026-02-10T13:00:00+08:00'));
    expect((await ledger.issue(claim('next-slice'))).kind).toBe('issued');
    expect((await reconcile(server.redis, calendar, clock.now())).problems).toEqual([]);
  });

  it('lets a campaign that has not started be initialised, and twice is harmless', async () => {
    const { ledger } = await ledgerAt(
      server.redis,
      '2026-01-01T00:00:00+08:00',
      {},
      { init: false },
    );
    expect((await ledger.init()).created).toEqual([0, 1, 2, 3]);
    expect((await ledger.init()).existing).toEqual([0, 1, 2, 3]);
  });

  it('a redemption on a shard whose ledger is gone is a fault and leaves no fragment that blocks init', async () => {
    const { ledger, calendar, clock } = await ledgerAt(server.redis, '2026-02-10T12:30:00+08:00', {
      shards: 1,
    });
    const issued = await ledger.issue(claim('frank'));
    if (issued.kind !== 'issued') throw new Error(issued.kind);
    const ledgerKey = shardKeys(calendar.campaign.id, 0).ledger;
    await server.redis.del(ledgerKey);
    const request = { code: issued.coupon.code, shard: 0, userId: 'frank', orderId: 'o-1' };
    await expect(ledger.redeem({ ...request, orderAmountFen: 5000 })).rejects.toMatchObject({
      reason: 'ledger_missing',
    });
    await expect(ledger.reverse(request)).rejects.toMatchObject({ reason: 'ledger_missing' });
    expect(await server.redis.exists(ledgerKey)).toBe(0);
    expect((await ledger.init({ afterLoss: true })).created).toEqual([0]);
    expect(clock.now()).toBe(at('2026-02-10T12:30:00+08:00'));
  });

  it('starts a running campaign from zero only for a Redis that never held it', async () => {
    const { ledger } = await ledgerAt(
      server.redis,
      '2026-02-10T12:30:00+08:00',
      { shards: 2 },
      { init: false },
    );
    await expect(ledger.init()).rejects.toThrow(LedgerFault);
    expect(await ledger.init({ neverIssued: true })).toMatchObject({
      created: [0, 1],
      existing: [],
      writtenOffCoupons: 0,
    });
    expect((await ledger.issue(claim('gina'))).kind).toBe('issued');
    await expect(ledger.init({ neverIssued: true })).rejects.toThrow(
      /a fresh start would hide a loss/,
    );
  });

  it('issues nothing after the coupons expire, even when the campaign window lasts longer', async () => {
    const { ledger, clock } = await ledgerAt(server.redis, '2026-02-28T11:59:59.999+08:00', {
      couponExpiresAt: '2026-02-28T12:00:00+08:00',
    });
    expect((await ledger.issue(claim('hal'))).kind).toBe('issued');
    clock.set(at('2026-02-28T12:00:00.001+08:00'));
    expect(await ledger.issue(claim('ida'))).toEqual({ kind: 'ended' });
  });
});
