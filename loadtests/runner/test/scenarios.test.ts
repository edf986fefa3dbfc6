import { ArrivalSchedule } from '../src';
import * as shapes from '../src/scenarios';

describe('scenario shapes', () => {
  it('smoke is 2/s for 30 s, as the k6 smoke scenario', () => {
    expect(ArrivalSchedule.times(shapes.smoke())).toHaveLength(60);
    expect(shapes.totalDurationMs(shapes.smoke())).toBe(30_000);
  });

  it('flash crowd ramps to 10x capacity in 60 s, holds 60 s and ramps down in 30 s', () => {
    expect(shapes.flashCrowd(100)).toEqual([
      { durationMs: 60_000, targetRate: 1000 },
      { durationMs: 60_000, targetRate: 1000 },
      { durationMs: 30_000, targetRate: 0 },
    ]);
    expect(new ArrivalSchedule(shapes.flashCrowd(100)).total).toBe(30_000 + 60_000 + 15_000);
  });

  it('retry storm holds 3x capacity, soak 70% for an hour, tranche exhaustion a constant rate', () => {
    expect(shapes.retryStorm(100).at(-1)).toEqual({ durationMs: 60_000, targetRate: 300 });
    expect(shapes.soak(100).at(-1)).toEqual({ durationMs: 3_600_000, targetRate: 70 });
    expect(new ArrivalSchedule(shapes.trancheExhaustion(50, 10_000)).total).toBe(500);
  });

  it('scale shortens the durations and keeps the rates', () => {
    const short = shapes.scale(shapes.flashCrowd(100), 0.1);
    expect(short.map((stage) => stage.durationMs)).toEqual([6000, 6000, 3000]);
    expect(short.map((stage) => stage.targetRate)).toEqual([1000, 1000, 0]);
    expect(() => shapes.scale(shapes.smoke(), 0)).toThrow(RangeError);
  });
});
