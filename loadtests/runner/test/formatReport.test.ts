import { formatReport, type LoadReport } from '../src';

const empty = { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
const report: LoadReport = {
  mode: 'open',
  durationMs: 10_000,
  offeredRate: 300,
  sent: 3000,
  served: 1000,
  shed: 1500,
  otherStatus: { '409': 400 },
  errors: 0,
  timeouts: 100,
  goodputPerSecond: 100,
  servedLatencyMs: { count: 1000, p50: 12.5, p90: 40, p99: 120, max: 300 },
  shedLatencyMs: empty,
  schedulerLagMs: { count: 3000, p50: 0.5, p90: 1, p99: 80, max: 120 },
  generatorSaturated: true,
};

describe('formatReport', () => {
  it('says what was sent, served and shed, the latencies, and flags a saturated generator', () => {
    const text = formatReport(report);
    expect(text).toContain('3000 sent in 10.0 s (offered 300.0/s)');
    expect(text).toContain('served 1000 (goodput 100.0/s), shed 1500, other {409: 400}');
    expect(text).toContain('timeouts 100');
    expect(text).toContain('served latency: p50 12.5 ms, p90 40.0 ms, p99 120.0 ms');
    expect(text).toContain('shed latency: none');
    expect(text).toMatch(/WARNING: the load generator was saturated/);
    expect(formatReport({ ...report, generatorSaturated: false })).not.toMatch(/WARNING/);
  });
});
