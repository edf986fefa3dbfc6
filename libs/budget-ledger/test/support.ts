import fc from 'fast-check';
import type { Cluster, Redis } from 'ioredis';
import { campaignInput, uniqueId } from '@coupons/testing';
import {
  CampaignCalendar,
  ManualClock,
  parseCampaigns,
  type CampaignConfig,
} from '@coupons/campaign';
import {
  BudgetLedger,
  NO_MARK,
  registerLedgerScripts,
  shardKeys,
  TAKE_ARGV,
  toArgv,
  type LedgerOptions,
} from '../src';

/** A campaign with a fresh id (tests share Redis servers): 100 coupons a day over 4 shards. */
export function campaign(overrides: Record<string, unknown> = {}): CampaignConfig {
  const [parsed] = parseCampaigns({
    campaigns: [
      campaignInput({
        id: uniqueId('t'),
        name: 'test campaign',
        poolFen: 2500 * 2300,
        shards: 4,
        ...overrides,
      }),
    ],
  });
  return parsed!;
}

export const at = (iso: string): number => Date.parse(iso);

/** A ledger on an injected clock the scripts trust (tests only), initialised unless told not to. */
export async function ledgerAt(
  redis: Redis | Cluster,
  iso: string,
  overrides: Record<string, unknown> = {},
  options: LedgerOptions & { init?: boolean; campaign?: CampaignConfig; fenced?: boolean } = {},
): Promise<{ ledger: BudgetLedger; clock: ManualClock; calendar: CampaignCalendar }> {
  const { campaign: given, init, fenced, ...ledgerOptions } = options;
  const calendar = new CampaignCalendar(given ?? campaign(overrides));
  const clock = new ManualClock(at(iso));
  const ledger = new BudgetLedger(redis, calendar, clock, {
    trustCallerClock: true,
    ...ledgerOptions,
  });
  if (init !== false) {
    clock.set(Math.min(clock.now(), calendar.campaign.startsAt - 1));
    await ledger.init({ fenced });
    clock.set(at(iso));
  }
  return { ledger, clock, calendar };
}

let sequence = 0;
export function claim(userId: string, idempotencyKey = `k-${(sequence += 1)}`) {
  return { userId, idempotencyKey, bodyHash: `{"userId":"${userId}"}` };
}

/**
 * Step 1 of a rebalancing transfer alone (takeRelease-3.lua), as a pod that crashed before
 * step 2 leaves it: `coupons` taken from `source` for `target`, the source's released share
 * given as `capCoupons`, at the ledger clock's `atMs`.
 */
export async function takeOnly(
  redis: Redis | Cluster,
  ledger: BudgetLedger,
  transfer: {
    transferId: string;
    coupons: number;
    capCoupons: number;
    source: number;
    target: number;
    atMs: number;
  },
) {
  const keys = (shard: number) => shardKeys(ledger.campaignId, shard);
  const source = keys(transfer.source);
  return registerLedgerScripts(redis).takeRelease(
    [source.ledger, source.audit, source.transit],
    toArgv(TAKE_ARGV, {
      trustCallerTime: true,
      callerNowMs: transfer.atMs,
      fingerprint: ledger.fingerprint,
      ...NO_MARK,
      transferId: transfer.transferId,
      coupons: transfer.coupons,
      capCoupons: transfer.capCoupons,
      scope: 'campaign',
      day: '-',
      windowFromMs: transfer.atMs,
      windowUntilMs: transfer.atMs + 1,
      target: transfer.target,
      targetGen: (await redis.hget(keys(transfer.target).ledger, 'gen')) ?? '',
    }),
  );
}

/** A claim, a redemption or a reversal, as the property tests draw them. */
export type CouponOp =
  | { op: 'claim'; user: number; key: number }
  | { op: 'redeem'; coupon: number; order: number }
  | { op: 'reverse'; coupon: number; order: number };

/**
 * The property tests' claims, redemptions and reversals, weighted, for fc.oneof: users, keys,
 * coupons and orders are indexes up to the given maxima.
 */
export function couponOpArbs(
  max: { user: number; key: number; coupon: number },
  weights: { claim: number; redeem: number; reverse: number },
): fc.WeightedArbitrary<CouponOp>[] {
  const onCoupon = (op: 'redeem' | 'reverse') =>
    fc.record({ op: fc.constant(op), coupon: fc.nat(max.coupon), order: fc.nat(2) });
  return [
    {
      weight: weights.claim,
      arbitrary: fc.record({
        op: fc.constant('claim' as const),
        user: fc.nat(max.user),
        key: fc.nat(max.key),
      }),
    },
    { weight: weights.redeem, arbitrary: onCoupon('redeem') },
    { weight: weights.reverse, arbitrary: onCoupon('reverse') },
  ];
}
