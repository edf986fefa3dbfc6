import { ArrivalSchedule, type Stage } from '../src';

function perWindow(times: number[], windowMs: number, windows: number): number[] {
  const counts = Array<number>(windows).fill(0);
  for (const t of times) {
    const window = Math.floor(t / windowMs);
    if (window < windows) counts[window]! += 1;
  }
  return counts;
}

describe('ArrivalSchedule', () => {
  it('gives a constant rate exactly rate * duration arrivals, evenly spaced from t=0', () => {
    const times = ArrivalSchedule.times([{ durationMs: 1000, targetRate: 200 }], 200);
    expect(times).toHaveLength(200);
    expect(times[0]).toBe(0);
    expect(times[1]).toBeCloseTo(5, 9);
    expect(times.at(-1)).toBeCloseTo(995, 9);
  });

  it('ramps linearly: each second of a 0 -> 100/s ramp carries the area under the line', () => {
    const times = ArrivalSchedule.times([{ durationMs: 10_000, targetRate: 100 }]);
    expect(times).toHaveLength(500);
    // second k holds the integral of 10t from k to k+1 = 5(2k+1)
    const counts = perWindow(times, 1000, 10);
    counts.forEach((count, k) => expect(Math.abs(count - 5 * (2 * k + 1))).toBeLessThanOrEqual(1));
  });

  it('holds, ramps down and steps as the stages say', () => {
    const stages: Stage[] = [
      { durationMs: 2000, targetRate: 100 },
      { durationMs: 2000, targetRate: 100 },
      { durationMs: 2000, targetRate: 0 },
      { durationMs: 0, targetRate: 50 },
      { durationMs: 1000, targetRate: 50 },
    ];
    const times = ArrivalSchedule.times(stages);
    expect(times).toHaveLength(100 + 200 + 100 + 50);
    expect(perWindow(times, 1000, 7)).toEqual([25, 75, 100, 100, 75, 25, 50]);
    for (let i = 1; i < times.length; i += 1) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });

  it('reports its length and count, and refuses negative or missing numbers', () => {
    const schedule = new ArrivalSchedule([{ durationMs: 3000, targetRate: 30 }], 10);
    expect(schedule.durationMs).toBe(3000);
    expect(schedule.total).toBe(60);
    expect(() => new ArrivalSchedule([{ durationMs: -1, targetRate: 1 }])).toThrow(RangeError);
    expect(() => new ArrivalSchedule([{ durationMs: 1, targetRate: Number.NaN }])).toThrow(
      RangeError,
    );
  });
});
