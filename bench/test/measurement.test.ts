import { MAX_GENERATOR_LAG_MS, notAMeasurement } from '../src/results';

const lag = (count: number, p99: number) => ({
  schedulerLagMs: { count, p50: 0, p90: 0, p99, max: p99 },
});

describe('notAMeasurement', () => {
  it('accepts a point whose generator kept to its timeline within 20 ms', () => {
    expect(MAX_GENERATOR_LAG_MS).toBe(20);
    expect(notAMeasurement(lag(1000, 3))).toBeUndefined();
    expect(notAMeasurement(lag(1000, 20))).toBeUndefined();
  });

  it('marks a point past 20 ms of lag, saying how late', () => {
    expect(notAMeasurement(lag(1000, 20.5))).toBe('generator lag p99 21 ms > 20 ms');
    expect(notAMeasurement(lag(1000, 193))).toMatch(/193 ms/);
  });

  it('has nothing to say about a closed loop, which keeps no timeline', () => {
    expect(notAMeasurement(lag(0, 0))).toBeUndefined();
  });
});
