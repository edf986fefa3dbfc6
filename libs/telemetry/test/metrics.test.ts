import { Registry } from 'prom-client';
import { createServiceMetrics } from '../src';

describe('createServiceMetrics', () => {
  it('registers default node metrics and the http metrics in the registry it is given', async () => {
    const registry = new Registry();
    const metrics = createServiceMetrics(registry);
    metrics.http.requests.inc({ method: 'GET', route: '/healthz', status: '200' });
    metrics.http.duration.observe({ method: 'GET', route: '/healthz', status: '200' }, 0.003);
    const text = await registry.metrics();
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(
      /^coupon_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1$/m,
    );
    expect(text).toMatch(/^coupon_http_request_duration_seconds_count\{.*\} 1$/m);
  });

  it('keeps two services apart: each registry only sees its own counts', async () => {
    const a = createServiceMetrics(new Registry());
    const b = createServiceMetrics(new Registry());
    a.http.requests.inc({ method: 'GET', route: '/x', status: '200' });
    expect(await b.registry.metrics()).not.toMatch(/^coupon_http_requests_total\{/m);
  });
});
