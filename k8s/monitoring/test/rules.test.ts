import { METRIC_NAMES } from '../src/metrics';
import { parsePromql } from '../src/promql';
import {
  ALERTS,
  availabilityErrorRatio,
  BURN_RATE_PAIRS,
  isAlert,
  latencyErrorRatio,
  RECORDED_NAMES,
  RULE_GROUPS,
  SLI_WINDOWS,
} from '../src/rules';

const rules = RULE_GROUPS.flatMap((g) => g.rules);

describe('rules', () => {
  it('record each name once, in the level:metric:operations form', () => {
    expect(new Set(RECORDED_NAMES).size).toBe(RECORDED_NAMES.length);
    for (const name of RECORDED_NAMES) expect(name).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
  });

  it('record both SLIs at every window the burn-rate alerts read', () => {
    expect([...SLI_WINDOWS]).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
    for (const w of SLI_WINDOWS) {
      expect(RECORDED_NAMES).toContain(availabilityErrorRatio(w));
      expect(RECORDED_NAMES).toContain(latencyErrorRatio(w));
    }
    const windows = BURN_RATE_PAIRS.flatMap((p) => [p.long, p.short]);
    expect(new Set(windows)).toEqual(new Set(SLI_WINDOWS));
  });

  it("use the SRE workbook's burn rates", () => {
    expect(BURN_RATE_PAIRS.map((p) => [p.long, p.short, p.factor, p.severity])).toEqual([
      ['1h', '5m', 14.4, 'page'],
      ['6h', '30m', 6, 'page'],
      ['1d', '2h', 3, 'ticket'],
      ['3d', '6h', 1, 'ticket'],
    ]);
  });

  it.each(rules.map((r) => [isAlert(r) ? r.alert : r.record, r.expr] as const))(
    '%s reads only exported metrics and recorded rules',
    (_name, expr) => {
      const { metrics } = parsePromql(expr);
      expect(metrics.length).toBeGreaterThan(0);
      const known = new Set([...METRIC_NAMES, ...RECORDED_NAMES]);
      expect(metrics.filter((m) => !known.has(m))).toEqual([]);
    },
  );

  it('burn-rate alerts compare each SLI window against factor x budget', () => {
    const burn = ALERTS.filter((a) => /Burn$/.test(a.alert));
    expect(burn.map((a) => a.alert)).toEqual([
      'CouponClaimAvailabilityFastBurn',
      'CouponClaimAvailabilitySlowBurn',
      'CouponClaimLatencyFastBurn',
      'CouponClaimLatencySlowBurn',
    ]);
    const fast = burn[0]?.expr ?? '';
    expect(fast).toContain(`${availabilityErrorRatio('1h')} > (14.4 * 0.001)`);
    expect(fast).toContain(`${availabilityErrorRatio('5m')} > (14.4 * 0.001)`);
    expect(fast).toContain(`${availabilityErrorRatio('6h')} > (6 * 0.001)`);
    expect(fast).toContain(`${availabilityErrorRatio('30m')} > (6 * 0.001)`);
    expect(burn[3]?.expr).toContain(`${latencyErrorRatio('3d')} > (1 * 0.01)`);
  });
});
