import fc from 'fast-check';
import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile, type LedgerCoupon, type IssueResult } from '../src';
import { at, couponOpArbs, ledgerAt, type CouponOp } from './support';

type Op = CouponOp;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  ...couponOpArbs({ user: 7, key: 2, coupon: 30 }, { claim: 5, redeem: 3, reverse: 2 }),
);

/** Batches of operations run at once (Promise.all), with the clock moved between batches. */
const runArb = fc.array(
  fc.record({
    ops: fc.array(opArb, { minLength: 1, maxLength: 12 }),
    stepMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 * 3_600_000 })),
  }),
  { minLength: 2, maxLength: 8 },
);

/**
 * The ledger's invariants under concurrency: operations in a batch race each other in Redis
 * (and rebalancing transfers race them), on a single node and on a cluster. After every batch:
 * one code per idempotency scope, no code twice, per-user limits, issued within released, a
 * coupon held by at most one order, a reversed order never redeeming again; reconcile clean.
 */
describeWithRedis('ledger invariants under concurrent operations', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  it('holds every money invariant while claims, redemptions, reversals and transfers race', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async (batches) => {
        const errors: unknown[] = [];
        const { ledger, clock, calendar } = await ledgerAt(
          redis,
          '2026-02-20T06:00:00+08:00',
          {
            startsAt: '2026-02-20T00:00:00+08:00',
            poolFen: 2500 * 9 * 9,
            shards: 2,
            perUser: { daily: 1, total: 2 },
            release: { slicesPerDay: 3, rollover: true },
          },
          { rebalance: { lowWater: 1, minIntervalMs: 0, onError: (err) => errors.push(err) } },
        );
        const { campaign } = calendar;
        const codeOfScope = new Map<string, string>();
        const scopeOfCode = new Map<string, string>();
        const coupons: LedgerCoupon[] = [];
        const perUserDay = new Map<string, number>();
        const perUserTotal = new Map<string, number>();
        const reversedOrders = new Set<string>();

        for (const batch of batches) {
          const known = [...coupons];
          const results = await Promise.all(
            batch.ops.map(async (step) => {
              if (step.op === 'claim') {
                const userId = `user-${step.user}`;
                const scope = `${userId}/${step.key}`;
                const result: IssueResult = await ledger.issue({
                  userId,
                  idempotencyKey: `key-${step.key}`,
                  bodyHash: userId,
                });
                return { kind: 'claim', scope, result } as const;
              }
              const coupon = known[step.coupon % Math.max(known.length, 1)];
              if (coupon === undefined) return { kind: 'skip' } as const;
              const request = {
                code: coupon.code,
                shard: ledger.shardOf(coupon.userId),
                userId: coupon.userId,
                orderId: `order-${step.order}`,
              };
              if (step.op === 'redeem')
                return {
                  kind: 'redeem',
                  coupon,
                  orderId: request.orderId,
                  redeemed: await ledger.redeem({ ...request, orderAmountFen: 5_000 }),
                } as const;
              return {
                kind: 'reverse',
                coupon,
                orderId: request.orderId,
                reversed: await ledger.reverse(request),
              } as const;
            }),
          );

          const redeemedNow = new Map<string, number>();
          const reversedNow = new Map<string, number>();
          for (const outcome of results) {
            if (outcome.kind === 'claim') {
              const { result, scope } = outcome;
              if (result.kind !== 'issued') continue;
              const code = result.coupon.code;
              const before = codeOfScope.get(scope);
              if (before !== undefined) expect(code).toBe(before);
              expect(scopeOfCode.get(code) ?? scope).toBe(scope);
              if (before === undefined && !scopeOfCode.has(code)) {
                codeOfScope.set(scope, code);
                scopeOfCode.set(code, scope);
                coupons.push(result.coupon);
                const user = result.coupon.userId;
                const day = `${user}/${result.coupon.trancheDay}`;
                perUserDay.set(day, (perUserDay.get(day) ?? 0) + 1);
                perUserTotal.set(user, (perUserTotal.get(user) ?? 0) + 1);
                expect(perUserDay.get(day)).toBeLessThanOrEqual(campaign.perUser.daily);
                expect(perUserTotal.get(user)).toBeLessThanOrEqual(campaign.perUser.total);
              }
            } else if (outcome.kind === 'redeem') {
              const { redeemed, coupon, orderId } = outcome;
              if (redeemed.kind === 'redeemed' && !redeemed.replayed) {
                // Never by an order that was reversed in an earlier batch.
                expect(reversedOrders.has(`${coupon.code}/${orderId}`)).toBe(false);
                redeemedNow.set(coupon.code, (redeemedNow.get(coupon.code) ?? 0) + 1);
              }
            } else if (outcome.kind === 'reverse') {
              const { reversed, coupon, orderId } = outcome;
              if (reversed.kind === 'reversed' && reversed.changed) {
                reversedOrders.add(`${coupon.code}/${orderId}`);
                reversedNow.set(coupon.code, (reversedNow.get(coupon.code) ?? 0) + 1);
              }
            }
          }
          // A coupon is held by one order at a time: a second fresh redemption in a batch needs a
          // reversal between them.
          for (const [code, n] of redeemedNow)
            expect(n).toBeLessThanOrEqual(1 + (reversedNow.get(code) ?? 0));

          const snapshot = await ledger.snapshot();
          expect(snapshot.issuedCoupons).toBe(coupons.length);
          expect(coupons.length).toBeLessThanOrEqual(calendar.releasedCouponsAt(clock.now()));
          clock.advance(batch.stepMs);
        }
        expect(errors).toEqual([]);
        await ledger.completeTransfers();
        const report = await reconcile(
          redis,
          calendar,
          Math.max(clock.now(), at('2026-02-20T00:00:00+08:00')),
        );
        expect(report.problems).toEqual([]);
        expect(report.issuedCoupons).toBe(coupons.length);
      }),
      { numRuns: 25 },
    );
  });
});
