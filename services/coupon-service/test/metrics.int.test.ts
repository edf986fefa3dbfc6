import { shardKeys } from '@coupons/budget-ledger';
import { describeIfRedis } from '@coupons/testing';
import type { Redis } from 'ioredis';
import {
  couponApi,
  metricsText,
  until,
  type TestService,
  useLiveCampaignService,
  useHarnessRedis,
} from './support';

/** The metrics the autoscaler and the dashboard read, from a real service on real Redis. */
describeIfRedis('the service’s metrics for scaling and the dashboard', () => {
  let service: TestService;
  let redis: Redis;
  const campaign = useLiveCampaignService(
    'metrics',
    { shards: 2, coupons: 24 * 3 * 10 },
    (s) => (service = s),
    { CLAIM_CAPACITY_PER_POD: '123', BUDGET_SAMPLE_MS: '100' },
  );
  useHarnessRedis((r) => (redis = r));

  const line = (text: string, name: string, labels = '') =>
    new RegExp(`^${name}${labels === '' ? '' : `\\{${labels}\\}`} (\\S+)$`, 'm').exec(text)?.[1];
  const of = `campaign="${campaign.id}"`;

  it('exports the build, the planned capacity, and the budget sampled from Redis', async () => {
    const text = await metricsText(service);
    expect(text).toMatch(/^coupon_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*"\} 1$/m);
    expect(line(text, 'coupon_claim_capacity_per_pod')).toBe('123');

    const api = couponApi(service, campaign.id);
    for (let i = 0; i < 3; i += 1) expect((await api.claim(`user-${i}`, 'k')).status).toBe(201);
    const budget = (await api.budget()).body;
    const sampled = await until('the sample after the claims', async () => {
      const now = await metricsText(service);
      return line(now, 'coupon_budget_issued_fen', of) === String(budget.issuedFen)
        ? now
        : undefined;
    });
    expect(budget.issuedFen).toBe(3 * 2500);
    expect(line(sampled, 'coupon_budget_known', of)).toBe('1');
    expect(line(sampled, 'coupon_budget_pool_fen', of)).toBe(String(budget.poolFen));
    expect(line(sampled, 'coupon_budget_released_fen', of)).toBe(String(budget.releasedFen));
    expect(line(sampled, 'coupon_budget_remaining_fen', of)).toBe(String(budget.remainingFen));
    expect(line(sampled, 'coupon_budget_today_issued_fen', of)).toBe(
      String(budget.today.issuedFen),
    );
    expect(Number(line(sampled, 'coupon_budget_next_release_timestamp_seconds', of))).toBe(
      Date.parse(budget.nextReleaseAt as string) / 1000,
    );
    // Each claim's latency, by outcome.
    expect(
      Number(line(sampled, 'coupon_claim_duration_seconds_count', `${of},outcome="issued"`)),
    ).toBe(3);
  });

  it('reports an unknown budget as unknown: known 0, no issued figures (never zero)', async () => {
    await redis.del(shardKeys(campaign.id, 1).ledger);
    const text = await until('the sample after the loss', async () => {
      const now = await metricsText(service);
      return line(now, 'coupon_budget_known', of) === '0' ? now : undefined;
    });
    expect(line(text, 'coupon_budget_issued_fen', of)).toBeUndefined();
    expect(line(text, 'coupon_budget_remaining_fen', of)).toBeUndefined();
    expect(line(text, 'coupon_budget_today_issued_fen', of)).toBeUndefined();
    expect(line(text, 'coupon_budget_pool_fen', of)).toBe(String(campaign.poolFen));
  });
});
