import { Registry } from 'prom-client';
import { prometheusMetrics } from '../src/prometheus';

describe('prometheusMetrics', () => {
  it('counts every hook under its metric, labelled by operation', async () => {
    const registry = new Registry();
    const metrics = prometheusMetrics(registry);
    metrics.outcome?.('claim', 'issued');
    metrics.outcome?.('claim', 'issued');
    metrics.attempt?.('claim', '503');
    metrics.localRejection?.('claim', 'throttle');
    metrics.retry?.('redeem', 'no_answer');
    metrics.retryBudgetExhausted?.('claim');
    const text = await registry.metrics();
    expect(text).toContain('coupon_client_calls_total{operation="claim",outcome="issued"} 2');
    expect(text).toContain('coupon_client_attempts_total{operation="claim",result="503"} 1');
    expect(text).toContain(
      'coupon_client_local_rejections_total{operation="claim",reason="throttle"} 1',
    );
    expect(text).toContain('coupon_client_retries_total{operation="redeem",reason="no_answer"} 1');
    expect(text).toContain('coupon_client_retry_budget_exhausted_total{operation="claim"} 1');
  });

  it('takes a prefix, and refuses to register the same names twice in one registry', () => {
    const registry = new Registry();
    prometheusMetrics(registry, { prefix: 'chat_coupons_' });
    expect(registry.getSingleMetric('chat_coupons_calls_total')).toBeDefined();
    expect(() => prometheusMetrics(registry, { prefix: 'chat_coupons_' })).toThrow();
  });
});
