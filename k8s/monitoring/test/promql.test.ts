import { parsePromql } from '../src/promql';

describe('parsePromql', () => {
  it('finds series names, not functions, aggregations, keywords, labels or strings', () => {
    const parts = parsePromql(
      'histogram_quantile(0.99, sum by (le, outcome) (rate(coupon_claim_duration_seconds_bucket{job="$job", outcome!~"a|b"}[$__rate_interval])))' +
        ' / on (namespace) group_left (pod) max without (instance) (up offset 5m) > bool 1e-3' +
        ' and namespace_job:coupon_claims_received:rate5m unless absent(label_replace(kube_x, "dst", "$1", "src", "(.*)"))',
    );
    expect(parts.metrics).toEqual([
      'coupon_claim_duration_seconds_bucket',
      'up',
      'namespace_job:coupon_claims_received:rate5m',
      'kube_x',
    ]);
    expect(parts.functions).toEqual([
      'histogram_quantile',
      'sum',
      'rate',
      'max',
      'absent',
      'label_replace',
    ]);
    expect(parts.ranges).toEqual(['$__rate_interval']);
    expect(parts.selectors[0]).toEqual({
      metric: 'coupon_claim_duration_seconds_bucket',
      matchers: 'job="$job", outcome!~"a|b"',
    });
    expect(parts.selectors[1]).toEqual({ metric: 'up', matchers: '' });
  });

  it('reads every range selector, and strings holding brackets or braces do not confuse it', () => {
    const parts = parsePromql(
      'increase(a{x="[1m]}"}[5m]) + rate(b[ 1h ]) - vector(0) + c{y=\'{"q"}\'} * $factor',
    );
    expect(parts.metrics).toEqual(['a', 'b', 'c']);
    expect(parts.ranges).toEqual(['5m', '1h']);
    expect(parts.functions).toEqual(['increase', 'rate', 'vector']);
  });

  it('refuses unbalanced input instead of guessing', () => {
    expect(() => parsePromql('rate(a{x="1"[5m])')).toThrow(/unbalanced/);
    expect(() => parsePromql('a{x="1}')).toThrow(/unterminated|unbalanced/);
  });
});
