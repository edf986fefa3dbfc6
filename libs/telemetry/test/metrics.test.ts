import { Registry } from 'prom-client';
import {
  createRecorderMetrics,
  createServiceMetrics,
  initialiseRecorderSeries,
  registerAdmissionMetrics,
  type AdmissionReading,
} from '../src';

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

describe('registerAdmissionMetrics', () => {
  it("exposes the gate's reading at scrape time: demand, shed by reason, in-flight, saturation", async () => {
    const registry = new Registry();
    const reading: AdmissionReading = {
      received: { claim: 10, redeem: 2 },
      shed: { concurrency: { claim: 4, redeem: 0 }, sold_out: { claim: 1 } },
      inflight: { claim: 3, redeem: 1 },
      concurrencyLimit: 40,
      saturation: 0.25,
      eventLoopActiveSeconds: 1.5,
      eventLoopUtilization: 0.4,
      limitChecksPending: 2,
      limiterInsuranceAnswers: 7,
      limiterFaults: 3,
    };
    registerAdmissionMetrics(registry, () => reading);
    const text = await registry.metrics();
    expect(text).toMatch(/^coupon_requests_received_total\{priority="claim"\} 10$/m);
    expect(text).toMatch(
      /^coupon_admission_shed_total\{reason="concurrency",priority="claim"\} 4$/m,
    );
    expect(text).toMatch(/^coupon_admission_shed_total\{reason="sold_out",priority="claim"\} 1$/m);
    expect(text).toMatch(/^coupon_admission_inflight\{priority="redeem"\} 1$/m);
    expect(text).toMatch(/^coupon_admission_concurrency_limit 40$/m);
    expect(text).toMatch(/^coupon_admission_saturation 0.25$/m);
    expect(text).toMatch(/^coupon_event_loop_active_seconds_total 1.5$/m);
    expect(text).toMatch(/^coupon_admission_limiter_insurance_total 7$/m);
    expect(text).toMatch(/^coupon_admission_limiter_faults_total 3$/m);
    // Counters follow the gate's cumulative counts, scrape after scrape (not added up twice).
    reading.received = { claim: 25, redeem: 2 };
    const again = await registry.metrics();
    expect(again).toMatch(/^coupon_requests_received_total\{priority="claim"\} 25$/m);
    expect(again).toMatch(/^coupon_requests_received_total\{priority="redeem"\} 2$/m);
  });
});

describe('createRecorderMetrics', () => {
  it('names an audit event by its type when it is one it was given, and every other one `other`', async () => {
    const metrics = createRecorderMetrics(['issued', 'redeemed']);
    initialiseRecorderSeries(metrics, [{ campaignId: 'spring', shard: 0 }]);
    for (const type of ['issued', 'made-up', undefined])
      metrics.eventsRecorded.inc({ campaign: 'spring', type: metrics.eventTypeLabel(type) });
    const text = await metrics.registry.metrics();
    const series = (type: string) =>
      new RegExp(
        `^coupon_recorder_events_recorded_total\\{campaign="spring",type="${type}"\\} (\\d+)$`,
        'm',
      ).exec(text)?.[1];
    expect([series('issued'), series('redeemed'), series('other')]).toEqual(['1', '0', '2']);
    expect(text).not.toMatch(/type="made-up"/);
  });
});
