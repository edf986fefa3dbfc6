import fc from 'fast-check';
import { connectBeforeAll, describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { reconcile, shareOf, type LedgerCoupon } from '../src';
import { at, couponOpArbs, ledgerAt, type CouponOp } from './support';

type Op = CouponOp | { op: 'step'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  ...couponOpArbs({ user: 5, key: 3, coupon: 20 }, { claim: 5, redeem: 2, reverse: 1 }),
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('step' as const),
      ms: fc.oneof(
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 0, max: 5 * 86_400_000 }),
      ),
    }),
  },
);

/**
 * Random sequences of claims, replays, redemptions, reversals and clock steps, run against real
 * Redis; after every step the money invariants (docs/money.md) must hold, and reconcile must be
 * clean at the end.
 */
describeWithRedis('ledger invariants under random operation sequences', (target) => {
  let redis: Redis | Cluster;
  connectBeforeAll(target, (r) => (redis = r));

  it('never over-issues, never issues twice, never redeems twice or after expiry', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
        const { ledger, clock, calendar } = await ledgerAt(redis, '2026-02-19T23:00:00+08:00', {
          startsAt: '2026-02-20T00:00:00+08:00',
          poolFen: 2500 * 18,
          shards: 2,
          perUser: { daily: 1, total: 3 },
          release: { slicesPerDay: 2, rollover: true },
        });
        const { campaign } = calendar;
        const remembered = new Map<string, string>();
        const coupons: LedgerCoupon[] = [];
        const redeemedBy = new Map<string, string>();
        const reversedOrders = new Set<string>();
        const perUserDay = new Map<string, number>();
        const perUserTotal = new Map<string, number>();
        const issuedPerShard = new Map<number, number>();

        for (const step of ops) {
          const now = clock.now();
          if (step.op === 'step') {
            clock.advance(step.ms);
          } else if (step.op === 'claim') {
            const userId = `user-${step.user}`;
            const scope = `${userId}/${step.key}`;
            const result = await ledger.issue({
              userId,
              idempotencyKey: `key-${step.key}`,
              bodyHash: userId,
            });
            if (remembered.has(scope)) {
              expect(result).toMatchObject({
                kind: 'issued',
                replayed: true,
                coupon: { code: remembered.get(scope) },
              });
            } else if (result.kind === 'issued') {
              expect(result.replayed).toBe(false);
              remembered.set(scope, result.coupon.code);
              coupons.push(result.coupon);
              const day = `${userId}/${result.coupon.trancheDay}`;
              perUserDay.set(day, (perUserDay.get(day) ?? 0) + 1);
              perUserTotal.set(userId, (perUserTotal.get(userId) ?? 0) + 1);
              const shard = ledger.shardOf(userId);
              issuedPerShard.set(shard, (issuedPerShard.get(shard) ?? 0) + 1);
              expect(perUserDay.get(day)).toBeLessThanOrEqual(campaign.perUser.daily);
              expect(perUserTotal.get(userId)).toBeLessThanOrEqual(campaign.perUser.total);
              expect(now).toBeGreaterThanOrEqual(campaign.startsAt);
              expect(now).toBeLessThanOrEqual(campaign.endsAt);
              const releasedShare = shareOf(
                calendar.releasedCouponsAt(now),
                campaign.shards,
                shard,
              );
              expect(issuedPerShard.get(shard)).toBeLessThanOrEqual(releasedShare);
            }
          } else {
            const coupon = coupons[step.coupon % Math.max(coupons.length, 1)];
            if (coupon === undefined) continue;
            const orderId = `order-${step.order}`;
            const request = {
              code: coupon.code,
              shard: ledger.shardOf(coupon.userId),
              userId: coupon.userId,
              orderId,
            };
            const holder = redeemedBy.get(coupon.code);
            // The codes redeemed for this order now: one coupon per order (couponsPerOrder 1).
            const orderCarries = [...redeemedBy].filter(([, order]) => order === orderId);
            if (step.op === 'redeem') {
              const result = await ledger.redeem({ ...request, orderAmountFen: 10_000 });
              if (result.kind === 'order_already_discounted') {
                expect(orderCarries.map(([code]) => code)).not.toContain(coupon.code);
                expect(orderCarries).toHaveLength(campaign.couponsPerOrder);
              } else if (holder !== orderId) {
                expect(orderCarries).toHaveLength(0);
              }
              if (result.kind === 'order_already_discounted') {
                // Refused before the coupon's shard was asked.
              } else if (result.kind === 'redeemed' && !result.replayed) {
                expect(holder).toBeUndefined();
                expect(reversedOrders.has(`${coupon.code}/${orderId}`)).toBe(false);
                expect(now).toBeLessThanOrEqual(coupon.expiresAt);
                redeemedBy.set(coupon.code, orderId);
              } else if (result.kind === 'redeemed') {
                expect(holder).toBe(orderId);
              } else if (result.kind === 'already_redeemed') {
                expect(holder).not.toBeUndefined();
                expect(holder).not.toBe(orderId);
              } else if (result.kind === 'order_reversed') {
                // A reversed order never redeems the coupon again (checked before expiry).
                expect(reversedOrders.has(`${coupon.code}/${orderId}`)).toBe(true);
              } else {
                expect(result.kind).toBe('expired');
                expect(now).toBeGreaterThan(coupon.expiresAt);
              }
            } else {
              const result = await ledger.reverse(request);
              if (result.kind === 'reversed' && result.changed) {
                expect(holder).toBe(orderId);
                redeemedBy.delete(coupon.code);
                reversedOrders.add(`${coupon.code}/${orderId}`);
              } else {
                expect(holder).not.toBe(orderId);
              }
            }
          }
        }
        const snapshot = await ledger.snapshot();
        expect(snapshot.issuedCoupons).toBe(coupons.length);
        expect(snapshot.issuedCoupons).toBeLessThanOrEqual(calendar.releasedCouponsAt(clock.now()));
        const report = await reconcile(
          redis,
          calendar,
          Math.max(clock.now(), at('2026-02-20T00:00:00+08:00')),
        );
        expect(report.problems).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
