import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { CampaignCalendar, ManualClock } from '@coupons/campaign';
import {
  BudgetLedger,
  LedgerFault,
  idempotencyScopeHash,
  reconcile,
  shardKeys,
  type IssueResult,
} from '../src';
import { at, claim, ledgerAt } from './support';

describeWithRedis('BudgetLedger', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  describe('issueCoupon-5.lua', () => {
    it('issues a coupon with the campaign value, expiry and tranche day, and audits it', async () => {
      const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00');
      const request = claim('alice');
      const result = await ledger.issue(request);
      expect(result).toMatchObject({
        kind: 'issued',
        replayed: false,
        coupon: {
          campaignId: calendar.campaign.id,
          userId: 'alice',
          valueFen: 2500,
          issuedAt: at('2026-02-10T12:30:00+08:00'),
          expiresAt: calendar.campaign.couponExpiresAt,
          trancheDay: '2026-02-10',
          status: 'issued',
        },
      });
      // The audit event carries what an exact rebuild from the record needs.
      const audit = shardKeys(calendar.campaign.id, ledger.shardOf('alice')).audit;
      const [, fields] = (await redis.xrange(audit, '-', '+')).at(-1)!;
      const event = Object.fromEntries(
        fields.flatMap((value, i) => (i % 2 === 0 ? [[value, fields[i + 1]]] : [])),
      );
      expect(event).toMatchObject({
        type: 'issued',
        code: result.kind === 'issued' ? result.coupon.code : 'none',
        userId: 'alice',
        valueFen: '2500',
        day: '2026-02-10',
        expiresAt: String(calendar.campaign.couponExpiresAt),
        idem: idempotencyScopeHash('alice', request.idempotencyKey),
        bodyHash: request.bodyHash,
      });
      expect(Number(event.keepUntil)).toBeGreaterThan(calendar.campaign.couponExpiresAt);
      const snapshot = await ledger.snapshot();
      expect(snapshot.issuedCoupons).toBe(1);
      expect(snapshot.today).toMatchObject({ day: '2026-02-10', issuedCoupons: 1 });
      expect((await reconcile(redis, calendar, at('2026-02-10T12:30:00+08:00'))).problems).toEqual(
        [],
      );
    });

    it('replays a remembered claim, tells a reused key with another body apart, scopes keys per user', async () => {
      const { ledger } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00');
      const first = await ledger.issue(claim('bob', 'same-key'));
      const again = await ledger.issue(claim('bob', 'same-key'));
      expect(again).toEqual({ ...first, replayed: true });
      const otherBody = await ledger.issue({
        ...claim('bob', 'same-key'),
        bodyHash: 'another body',
      });
      expect(otherBody).toEqual({ kind: 'idempotency_key_reused' });
      const carol = await ledger.issue(claim('carol', 'same-key'));
      expect(
        carol.kind === 'issued' &&
          first.kind === 'issued' &&
          carol.coupon.code !== first.coupon.code,
      ).toBe(true);
    });

    it('refuses before the start, after the end, and says when the next release comes', async () => {
      const early = await ledgerAt(redis, '2026-02-05T23:59:59.999+08:00');
      expect(await early.ledger.issue(claim('u'))).toEqual({
        kind: 'not_started',
        startsAt: early.calendar.campaign.startsAt,
      });
      early.clock.set(at('2026-02-06T00:00:00+08:00'));
      expect((await early.ledger.issue(claim('u'))).kind).toBe('issued');

      const late = await ledgerAt(redis, '2026-03-01T00:00:00+08:00');
      expect(await late.ledger.issue(claim('u'))).toEqual({ kind: 'ended' });
    });

    it('enforces per-user daily and campaign limits, with the next day as the retry time', async () => {
      const { ledger, clock } = await ledgerAt(redis, '2026-02-06T10:00:00+08:00', {
        perUser: { daily: 2, total: 3 },
      });
      expect((await ledger.issue(claim('dora'))).kind).toBe('issued');
      expect((await ledger.issue(claim('dora'))).kind).toBe('issued');
      expect(await ledger.issue(claim('dora'))).toEqual({
        kind: 'user_limit',
        scope: 'daily',
        retryAt: at('2026-02-07T00:00:00+08:00'),
      });
      clock.set(at('2026-02-07T00:00:00+08:00'));
      expect((await ledger.issue(claim('dora'))).kind).toBe('issued');
      expect(await ledger.issue(claim('dora'))).toEqual({ kind: 'user_limit', scope: 'total' });
    });

    it('lands claims either side of a slice boundary and a day boundary in the right release', async () => {
      // 1 coupon a day over 4 shards, so each shard's share of the whole day; shards: 1 keeps it simple.
      const { ledger, clock } = await ledgerAt(redis, '2026-02-06T00:59:59.999+08:00', {
        poolFen: 2500 * 23 * 24,
        shards: 1,
        perUser: { daily: 24, total: 600 },
      });
      // One coupon per hourly slice: 00:00 released one; at 00:59:59.999 the next is not out.
      expect((await ledger.issue(claim('eve'))).kind).toBe('issued');
      expect(await ledger.issue(claim('eve'))).toEqual({
        kind: 'tranche_exhausted',
        nextReleaseAt: at('2026-02-06T01:00:00+08:00'),
      });
      clock.set(at('2026-02-06T01:00:00+08:00'));
      expect((await ledger.issue(claim('eve'))).kind).toBe('issued');
      // Day boundary: at 23:59:59.999 the day is the 6th, one ms later the 7th.
      clock.set(at('2026-02-06T23:59:59.999+08:00'));
      const lastOfDay = await ledger.issue(claim('fay'));
      expect(lastOfDay).toMatchObject({ kind: 'issued', coupon: { trancheDay: '2026-02-06' } });
      clock.set(at('2026-02-07T00:00:00+08:00'));
      const firstOfDay = await ledger.issue(claim('fay'));
      expect(firstOfDay).toMatchObject({ kind: 'issued', coupon: { trancheDay: '2026-02-07' } });
    });

    it('answers budget_exhausted when nothing is left and no release follows', async () => {
      const { ledger } = await ledgerAt(redis, '2026-02-28T23:59:00+08:00', {
        poolFen: 2500 * 23,
        shards: 1,
      });
      const results: IssueResult[] = [];
      for (let i = 0; i < 24; i += 1) results.push(await ledger.issue(claim(`user-${i}`)));
      expect(results.filter((r) => r.kind === 'issued')).toHaveLength(23);
      expect(results[23]).toEqual({ kind: 'budget_exhausted' });
    });

    it('refuses, as a fault, a campaign whose ledger is missing or was set up for other money', async () => {
      const missing = await ledgerAt(redis, '2026-02-10T12:00:00+08:00', {}, { init: false });
      await expect(missing.ledger.issue(claim('u'))).rejects.toThrow(LedgerFault);
      expect((await missing.ledger.snapshot()).unknownShards.map((s) => s.shard)).toEqual([
        0, 1, 2, 3,
      ]);

      const { ledger, calendar } = await ledgerAt(redis, '2026-02-10T12:00:00+08:00');
      const otherMoney = new CampaignCalendar({
        ...calendar.campaign,
        couponValueFen: 5000,
        poolFen: 5000 * 1150,
      });
      const drifted = new BudgetLedger(
        redis,
        otherMoney,
        new ManualClock(at('2026-02-10T12:00:00+08:00')),
        {
          trustCallerClock: true,
        },
      );
      await expect(drifted.issue(claim('u'))).rejects.toMatchObject({ reason: 'config_mismatch' });
      expect((await ledger.snapshot()).issuedCoupons).toBe(0);
    });
  });

  describe('under concurrency', () => {
    it('2,000 concurrent claims from 500 users on a release that fits 300: exactly 300 issued', async () => {
      // 600 coupons over two days, all of a day's tranche released at its start: 300 now.
      const { ledger, calendar, clock } = await ledgerAt(redis, '2026-03-01T08:00:00Z', {
        timeZone: 'UTC',
        poolFen: 2500 * 600,
        startsAt: '2026-03-01T00:00:00Z',
        endsAt: '2026-03-02T23:59:59.999Z',
        couponExpiresAt: '2026-03-02T23:59:59.999Z',
        release: { slicesPerDay: 1, rollover: true },
        perUser: { daily: 3, total: 6 },
      });
      expect(calendar.releasedCouponsAt(clock.now())).toBe(300);
      const claims = Array.from({ length: 2000 }, (_, i) =>
        claim(`crowd-${i % 500}`, `crowd-key-${i}`),
      );
      const results = await Promise.all(claims.map((c) => ledger.issue(c)));
      const kinds = new Map<string, number>();
      for (const r of results) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
      expect(kinds.get('issued')).toBe(300);
      expect([...kinds.keys()].sort()).toEqual(
        expect.arrayContaining(['issued', 'tranche_exhausted']),
      );
      const perUser = new Map<string, number>();
      for (const r of results)
        if (r.kind === 'issued')
          perUser.set(r.coupon.userId, (perUser.get(r.coupon.userId) ?? 0) + 1);
      expect(Math.max(...perUser.values())).toBeLessThanOrEqual(3);
      const codes = new Set(results.flatMap((r) => (r.kind === 'issued' ? [r.coupon.code] : [])));
      expect(codes.size).toBe(300);
      const report = await reconcile(redis, calendar, clock.now());
      expect(report.problems).toEqual([]);
      expect(report.issuedCoupons).toBe(300);
    });

    it('one Idempotency-Key fired 50 times at once: one coupon, 50 identical answers', async () => {
      const { ledger, calendar, clock } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00');
      const results = await Promise.all(
        Array.from({ length: 50 }, () => ledger.issue(claim('gus', 'storm-key'))),
      );
      const coupons = results.map((r) => (r.kind === 'issued' ? r.coupon : undefined));
      expect(new Set(coupons.map((c) => JSON.stringify(c))).size).toBe(1);
      expect(results.filter((r) => r.kind === 'issued' && !r.replayed)).toHaveLength(1);
      expect((await reconcile(redis, calendar, clock.now())).issuedCoupons).toBe(1);
    });
  });
});
