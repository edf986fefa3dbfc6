import type { Cluster, Redis } from 'ioredis';
import {
  NO_MARK,
  reconcile,
  registerLedgerScripts,
  shardKeys,
  shareOf,
  TAKE_ARGV,
  toArgv,
  type BudgetLedger,
  type BudgetSnapshot,
  type Reconciliation,
} from '@coupons/budget-ledger';
import { CampaignCalendar } from '@coupons/campaign';
import {
  connectBeforeAll,
  describeIfPostgres,
  usePrivateDatabaseClient,
  describeWithRedis,
} from '@coupons/testing';
import { LedgerRecord, migrate, rebuildFromRecord, reconcileWithRecord } from '../src';
import { backupShard, claim, liveLedger, loseShard, recordAll } from './support';

type Ctx = Awaited<ReturnType<typeof liveLedger>>;

/** The budget as the service reports it, without the instant it was read at. */
async function budget(ledger: BudgetLedger) {
  const snapshot: Partial<BudgetSnapshot> = await ledger.snapshot();
  delete snapshot.asOf;
  return snapshot;
}

/** Reconcile's findings, without the instant. */
async function findings(redis: Redis | Cluster, calendar: CampaignCalendar, now: number) {
  const result: Partial<Reconciliation> = await reconcile(redis, calendar, now);
  delete result.asOf;
  return result;
}

/** `count` user ids of `shard`, named after `prefix`. */
function usersOf(ctx: Ctx, prefix: string, shard: number, count: number): string[] {
  const users: string[] = [];
  for (let i = 0; users.length < count; i += 1)
    if (ctx.ledger.shardOf(`${prefix}-${i}`) === shard) users.push(`${prefix}-${i}`);
  return users;
}

/**
 * Claims (6 on shard 0, 2 on shard 1), three redemptions and a reversal, and a rebalancing
 * transfer into shard 0, which spent more: everything the rebuild has to put back.
 */
async function trade(ctx: Ctx, prefix: string) {
  const users = [...usersOf(ctx, prefix, 0, 6), ...usersOf(ctx, prefix, 1, 2)];
  const coupons: {
    user: string;
    request: ReturnType<typeof claim>;
    code: string;
    shard: number;
  }[] = [];
  for (const user of users) {
    const request = claim(user);
    const issued = await ctx.ledger.issue(request);
    if (issued.kind !== 'issued') throw new Error(`claim for ${user}: ${issued.kind}`);
    coupons.push({ user, request, code: issued.coupon.code, shard: ctx.ledger.shardOf(user) });
  }
  const redeem = (c: (typeof coupons)[number]) =>
    ctx.ledger.redeem({
      code: c.code,
      shard: c.shard,
      userId: c.user,
      orderId: `o-${c.code}`,
      orderAmountFen: 1999,
    });
  for (const c of [coupons[0]!, coupons[1]!, coupons[7]!]) await redeem(c);
  const reversed = coupons[1]!;
  await ctx.ledger.reverse({
    code: reversed.code,
    shard: reversed.shard,
    userId: reversed.user,
    orderId: `o-${reversed.code}`,
  });
  expect((await ctx.ledger.rebalanceInto(0)).kind).toBe('moved');
  return coupons;
}

/** Claims by new users until every shard says its released budget is gone; how many issued. */
async function claimUntilSoldOut(ledger: BudgetLedger, prefix: string): Promise<number> {
  let issued = 0;
  let soldOut = 0;
  for (let i = 0; soldOut < 20 && i < 1000; i += 1) {
    const result = await ledger.issue(claim(`${prefix}-${i}`));
    if (result.kind === 'issued') issued += 1;
    else if (result.kind === 'tranche_exhausted') soldOut += 1;
    else throw new Error(result.kind);
  }
  return issued;
}

describeIfPostgres('rebuild from the book of record', () => {
  let record: LedgerRecord;
  usePrivateDatabaseClient(migrate, LedgerRecord.connect, (r) => (record = r));

  describeWithRedis('rebuildFromRecord', (target) => {
    let redis: Redis | Cluster;
    connectBeforeAll(target, (r) => (redis = r));

    /** The budget and reconcile's findings, to compare with after a rebuild. */
    async function stateOf(ctx: Ctx) {
      const { calendar, ledger, clock } = ctx;
      return {
        budget: await budget(ledger),
        findings: await findings(redis, calendar, clock.now()),
      };
    }

    /** A live campaign traded in by users named `prefix` and recorded; the coupons traded. */
    async function tradedAndRecorded(prefix: string, options: { rollover?: boolean } = {}) {
      const ctx = await liveLedger(redis, { coupons: 120, ...options });
      const coupons = await trade(ctx, prefix);
      await recordAll(redis, record, ctx.calendar);
      return { ctx, coupons };
    }

    /** Rebuilds `shard` up to what the record holds of it. */
    async function rebuildUpToRecord(
      ctx: Ctx,
      shard: number,
      options: { batchSize?: number } = {},
    ) {
      const position = await record.position(ctx.calendar.campaign.id, shard);
      return rebuildFromRecord(redis, ctx.calendar, ctx.clock, record, {
        recordCompleteThrough: position!.streamId,
        ...options,
      });
    }

    it('rebuilds a lost shard exactly: same budget, same reconcile, replays answered, issuing resumes without over-issue', async () => {
      const ctx = await liveLedger(redis, { coupons: 120 });
      const { calendar, ledger, clock } = ctx;
      const id = calendar.campaign.id;
      const coupons = await trade(ctx, 'lost');
      // An order on the lost shard (its orderId hashes there) discounted by a coupon of shard 1.
      let onLost = 0;
      while (ledger.orderShardOf(`order-on-lost-${onLost}`) !== 0) onLost += 1;
      const held = { orderId: `order-on-lost-${onLost}`, coupon: coupons[6]! };
      expect(held.coupon.shard).toBe(1);
      await ledger.redeem({
        code: held.coupon.code,
        shard: 1,
        userId: held.coupon.user,
        orderId: held.orderId,
        orderAmountFen: 1999,
      });
      await recordAll(redis, record, calendar);
      const before = await stateOf(ctx);
      expect(before.findings.problems).toEqual([]);
      const lost = coupons.find((c) => c.shard === 0)!;

      await loseShard(redis, id, 0);
      expect((await ledger.snapshot()).unknownShards).toEqual([{ shard: 0, reason: 'missing' }]);

      // Without a statement of how complete the record is, refused: the lag is unknown.
      const unknown = await rebuildFromRecord(redis, calendar, clock, record);
      expect(unknown.shards).toEqual([
        expect.objectContaining({
          shard: 0,
          outcome: 'refused',
          reason: expect.stringMatching(/lag .* unknown/),
        }),
        expect.objectContaining({ shard: 1, outcome: 'in_sync' }),
      ]);
      expect(await redis.exists(shardKeys(id, 0).ledger)).toBe(0);

      const report = await rebuildUpToRecord(ctx, 0, { batchSize: 3 });
      expect(report.rebuilt).toEqual([0]);
      expect(report.refused).toEqual([]);

      expect(await stateOf(ctx)).toEqual(before);
      // The order's hold is back on the rebuilt shard: it takes no second coupon.
      const holdKey = shardKeys(id, 0).order(held.orderId);
      expect(await redis.hgetall(holdKey)).toEqual({ [held.coupon.code]: '1' });
      const second = coupons.find((c) => c.shard === 0 && c !== lost && c !== coupons[1])!;
      expect(
        await ledger.redeem({
          code: second.code,
          shard: 0,
          userId: second.user,
          orderId: held.orderId,
          orderAmountFen: 1999,
        }),
      ).toEqual({ kind: 'order_already_discounted', couponsPerOrder: 1 });
      // Redis and the record agree, once the rebuild's own restore event is recorded.
      await recordAll(redis, record, calendar);
      expect(await reconcileWithRecord(redis, calendar, record)).toMatchObject({
        clean: true,
        lagging: [],
      });

      // The same claim again (same Idempotency-Key) is the same coupon, not a new one; the
      // coupon redeemed before the loss is still redeemed, and by the same order only.
      const replay = await ledger.issue(lost.request);
      expect(replay).toMatchObject({ kind: 'issued', replayed: true, coupon: { code: lost.code } });
      expect(await ledger.readCoupon(lost.code, 0, lost.user)).toMatchObject({
        status: 'redeemed',
        redemption: { orderId: `o-${lost.code}`, discountFen: 1999 },
      });
      const reversed = coupons[1]!;
      expect(
        await ledger.redeem({
          code: reversed.code,
          shard: reversed.shard,
          userId: reversed.user,
          orderId: `o-${reversed.code}`,
          orderAmountFen: 1999,
        }),
      ).toMatchObject({ kind: 'order_reversed' });

      // Issuing resumes from the recorded totals: never more than released.
      const released = calendar.releasedCouponsAt(clock.now());
      const more = await claimUntilSoldOut(ledger, 'after');
      const final = await ledger.snapshot();
      expect(final.issuedCoupons).toBe(released);
      expect(more).toBe(released - (before.budget.issuedCoupons ?? NaN));
      expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
    });

    it('refuses a campaigns file whose money settings differ from the record, naming each', async () => {
      const ctx = await liveLedger(redis, { coupons: 40 });
      for (let i = 0; i < 4; i += 1) await ctx.ledger.issue(claim(`money-${i}`));
      await recordAll(redis, record, ctx.calendar);
      for (let shard = 0; shard < 2; shard += 1)
        await loseShard(redis, ctx.calendar.campaign.id, shard);
      const changed = new CampaignCalendar({
        ...ctx.calendar.campaign,
        shards: 1,
        couponValueFen: ctx.calendar.campaign.couponValueFen * 2,
      });
      await expect(
        rebuildFromRecord(redis, changed, ctx.clock, record, { afterLoss: true }),
      ).rejects.toThrow(/couponValueFen: 2500 -> 5000; shards: 2 -> 1/);
      // Nothing was written: the shards are still lost.
      expect(await redis.exists(shardKeys(ctx.calendar.campaign.id, 0).ledger)).toBe(0);
      // With the campaigns file the campaign ran with, it rebuilds.
      const report = await rebuildFromRecord(redis, ctx.calendar, ctx.clock, record, {
        afterLoss: true,
        fenced: true,
      });
      expect(report.rebuilt).toEqual([0, 1]);
      expect(await redis.hget(shardKeys(ctx.calendar.campaign.id, 0).ledger, 'fence')).toBe('-');
    });

    it('rebuilds a campaign without rollover: per-day counters and per-day adjustments', async () => {
      const { ctx } = await tradedAndRecorded('per-day', { rollover: false });
      const id = ctx.calendar.campaign.id;
      const before = await stateOf(ctx);
      expect(before.findings.problems).toEqual([]);
      const fields = await redis.hgetall(shardKeys(id, 0).ledger);
      expect(Object.keys(fields).filter((f) => f.startsWith('adj:'))).toHaveLength(1);

      await loseShard(redis, id, 0);
      await rebuildUpToRecord(ctx, 0);
      const rebuilt = await redis.hgetall(shardKeys(id, 0).ledger);
      for (const field of Object.keys(fields).filter((f) => /^(day|adj):/.test(f)))
        expect([field, rebuilt[field]]).toEqual([field, fields[field]]);
      expect(await stateOf(ctx)).toEqual(before);
    });

    it('answers a replay of an old Idempotency-Key with the same coupon after the rebuild', async () => {
      const ctx = await liveLedger(redis, { coupons: 120 });
      const { calendar, ledger } = ctx;
      const request = claim('iris', 'the-key');
      const first = await ledger.issue(request);
      if (first.kind !== 'issued') throw new Error(first.kind);
      await recordAll(redis, record, calendar);
      const shard = ledger.shardOf('iris');
      await loseShard(redis, calendar.campaign.id, shard);
      await rebuildUpToRecord(ctx, shard);
      const replay = await ledger.issue(request);
      expect(replay).toMatchObject({ kind: 'issued', replayed: true, coupon: first.coupon });
      expect(await ledger.issue({ ...request, bodyHash: 'another body' })).toEqual({
        kind: 'idempotency_key_reused',
      });
    });

    it('rebuilds the transit set: a transfer taken and not yet given is given after the rebuild', async () => {
      const ctx = await liveLedger(redis, { coupons: 120 });
      const { calendar, ledger, clock } = ctx;
      const id = calendar.campaign.id;
      const source = shardKeys(id, 1);
      const now = clock.now();
      // Step 1 of a transfer alone, as a pod that crashed before step 2 leaves it.
      const taken = await registerLedgerScripts(redis).takeRelease(
        [source.ledger, source.audit, source.transit],
        toArgv(TAKE_ARGV, {
          trustCallerTime: false,
          callerNowMs: now,
          fingerprint: ledger.fingerprint,
          ...NO_MARK,
          transferId: 'in-flight',
          coupons: 2,
          capCoupons: shareOf(calendar.releasedCouponsAt(now), 2, 1),
          scope: 'campaign',
          day: '-',
          windowFromMs: now - 60_000,
          windowUntilMs: now + 60_000,
          target: 0,
          targetGen: (await redis.hget(shardKeys(id, 0).ledger, 'gen')) ?? '',
        }),
      );
      expect(taken[0]).toBe(1);
      await recordAll(redis, record, calendar);
      const reconciled = await findings(redis, calendar, clock.now());
      expect(reconciled).toMatchObject({ inTransitCoupons: 2, problems: [] });

      await loseShard(redis, id, 1);
      const report = await rebuildUpToRecord(ctx, 1);
      expect(report.rebuilt).toEqual([1]);
      expect(await redis.smembers(source.transit)).toEqual(['in-flight']);
      expect(await findings(redis, calendar, clock.now())).toEqual(reconciled);
      expect(await ledger.completeTransfers()).toMatchObject({ given: 1, writtenOff: 0 });
      expect(await findings(redis, calendar, clock.now())).toMatchObject({
        inTransitCoupons: 0,
        problems: [],
      });
    });

    it('a rebuild that stopped after closing the shard leaves it refusing claims, and the next one finishes it', async () => {
      const { ctx } = await tradedAndRecorded('crash');
      const { calendar, ledger } = ctx;
      const id = calendar.campaign.id;
      const before = await stateOf(ctx);
      await loseShard(redis, id, 0);

      // Step 1 alone, as a rebuild that crashed after it leaves the shard.
      const keys = shardKeys(id, 0);
      const begun = await registerLedgerScripts(redis).rebuildBegin(
        [keys.ledger, keys.audit],
        [ledger.fingerprint, '', 'crashed-rebuild', 'rebuilding from the record (crashed-rebuild)'],
      );
      expect(begun).toEqual([1]);
      await expect(ledger.issue(claim(usersOf(ctx, 'closed', 0, 1)[0]!))).rejects.toThrow(
        /rolled back/,
      );
      // ledger:init does not create over it: the shard is rolled back, not missing.
      expect(await ledger.init()).toMatchObject({ created: [], rolledBack: [0] });

      const report = await rebuildUpToRecord(ctx, 0);
      expect(report.rebuilt).toEqual([0]);
      expect(await stateOf(ctx)).toEqual(before);
    });

    it('rebuilds a shard restored from an older backup up to what the record holds', async () => {
      const { ctx } = await tradedAndRecorded('restored');
      const { calendar, ledger } = ctx;
      const id = calendar.campaign.id;
      const restoreOld = await backupShard(redis, id, 0);
      for (const user of usersOf(ctx, 'later', 0, 5))
        expect((await ledger.issue(claim(user))).kind).toBe('issued');
      await recordAll(redis, record, calendar);
      const before = await stateOf(ctx);

      await restoreOld();
      // A pod that saw more marks it rolled back on its next call.
      await expect(ledger.issue(claim(usersOf(ctx, 'late', 0, 1)[0]!))).rejects.toThrow(
        /rolled back/,
      );
      const report = await rebuildUpToRecord(ctx, 0);
      expect(report.rebuilt).toEqual([0]);
      expect(await stateOf(ctx)).toEqual(before);
    });

    it('refuses while Redis holds events the record lacks, and a completeness point the record passes', async () => {
      const ctx = await liveLedger(redis, { coupons: 120 });
      const { calendar, ledger, clock } = ctx;
      const id = calendar.campaign.id;
      expect((await ledger.issue(claim('tom'))).kind).toBe('issued');
      await recordAll(redis, record, calendar);
      const restoreOld = await backupShard(redis, id, ledger.shardOf('tom'));
      expect((await ledger.issue(claim('tom'))).kind).toBe('issued');
      await recordAll(redis, record, calendar);
      const shard = ledger.shardOf('tom');
      const recorded = (await record.position(id, shard))!;

      // Redis restored, then a claim the recorder has not read yet.
      await restoreOld();
      await redis.hset(shardKeys(id, shard).ledger, 'rolledBack', 'test');
      await redis.xadd(shardKeys(id, shard).audit, '*', 'type', 'redeemed');
      let report = await rebuildFromRecord(redis, calendar, clock, record, {
        shards: [shard],
        recordCompleteThrough: recorded.streamId,
      });
      expect(report.shards[0]).toMatchObject({
        outcome: 'refused',
        reason: expect.stringMatching(/record lacks .* recorder is behind/),
      });

      await restoreOld();
      await redis.hset(shardKeys(id, shard).ledger, 'rolledBack', 'test');
      report = await rebuildFromRecord(redis, calendar, clock, record, {
        shards: [shard],
        recordCompleteThrough: '1',
      });
      expect(report.shards[0]).toMatchObject({
        outcome: 'refused',
        reason: expect.stringMatching(/cannot be where the lost state ended/),
      });
      expect(await redis.hget(shardKeys(id, shard).ledger, 'rolledBack')).toBe('test');
    });

    it('with after-loss, rebuilds every recorded coupon and writes off what the shard could still issue', async () => {
      const { ctx, coupons } = await tradedAndRecorded('after-loss');
      const { calendar, ledger, clock } = ctx;
      const id = calendar.campaign.id;
      await loseShard(redis, id, 0);
      await loseShard(redis, id, 1);

      const report = await rebuildFromRecord(redis, calendar, clock, record, { afterLoss: true });
      expect(report.rebuilt).toEqual([0, 1]);
      const released = calendar.releasedCouponsAt(clock.now());
      const recordedCoupons = coupons.length;
      expect(report.writtenOffCoupons).toBe(released - recordedCoupons);
      for (const c of coupons)
        expect(await ledger.readCoupon(c.code, c.shard, c.user)).toMatchObject({ code: c.code });
      expect((await ledger.snapshot()).issuedCoupons).toBe(released);
      expect(await claimUntilSoldOut(ledger, 'after-loss')).toBe(0);
      expect((await reconcile(redis, calendar, clock.now())).problems).toEqual([]);
    });
  });
});
