import { join } from 'node:path';
import {
  decide,
  emptyHpaState,
  fallbackReading,
  proposal,
  type HpaState,
  type MetricReading,
} from '../src/hpa';
import { builtProdScaledObject, type ScaledObjectSpec } from '../src/manifest';

const ROOT = join(__dirname, '..', '..', '..');

describe('a metric proposal', () => {
  it('is ceil(value / target) for AverageValue, and the current count within the tolerance', () => {
    expect(proposal({ kind: 'AverageValue', value: 7, target: 0.7 }, 3)).toBe(10);
    expect(proposal({ kind: 'AverageValue', value: 2.2, target: 0.7 }, 3)).toBe(3); // ratio 1.05
    expect(proposal({ kind: 'AverageValue', value: 2.4, target: 0.7 }, 3)).toBe(4); // ratio 1.14
  });

  it('is ceil(ready pods x value / target) for Value', () => {
    expect(proposal({ kind: 'Value', value: 1, target: 0.8 }, 8)).toBe(10);
    expect(proposal({ kind: 'Value', value: 0.85, target: 0.8 }, 8)).toBe(8); // ratio 1.06
    expect(proposal({ kind: 'Value', value: 0.4, target: 0.8 }, 8)).toBe(4);
    expect(proposal({ kind: 'Value', value: 1, target: 0.8 }, 8, 4)).toBe(5); // 4 of 8 ready
  });

  it('is nothing when the metric could not be read', () => {
    expect(proposal({ kind: 'invalid' }, 3)).toBeUndefined();
    expect(proposal({ kind: 'AverageValue', value: NaN, target: 0.7 }, 3)).toBeUndefined();
  });
});

describe("the HPA with the prod ScaledObject's behaviour", () => {
  let so: ScaledObjectSpec;
  beforeAll(() => {
    so = builtProdScaledObject(ROOT);
  });
  const demand = (podsNeeded: number): MetricReading[] => [
    { kind: 'AverageValue', value: podsNeeded, target: 0.7 },
  ];
  const step = (state: HpaState, nowMs: number, current: number, readings: MetricReading[]) =>
    decide(
      {
        nowMs,
        current,
        readings,
        minReplicas: so.minReplicas,
        maxReplicas: so.maxReplicas,
        behavior: so.behavior,
      },
      state,
    ).desired;

  it('reads the manifest: 15 s polls, 3 to 40 replicas, fallback 20 holding the running fleet', () => {
    expect(so.pollingIntervalSeconds).toBe(15);
    expect([so.minReplicas, so.maxReplicas]).toEqual([3, 40]);
    expect(so.fallback).toEqual({
      failureThreshold: 3,
      replicas: 20,
      behavior: 'currentReplicasIfHigher',
    });
    expect(so.triggers.map((t) => t.name)).toEqual(
      expect.arrayContaining(['demand', 'saturation']),
    );
  });

  it('quadruples a small fleet per 15 s (Percent 300 beats Pods 8) up to the ceiling', () => {
    const state = emptyHpaState();
    const a = step(state, 0, 3, demand(30)); // wants 43
    expect(a).toBe(12); // ceil(3 x 4) = 12 > 3 + 8
    expect(step(state, 5_000, a, demand(30))).toBe(12); // same period: nothing more
    expect(step(state, 15_000, a, demand(30))).toBe(40); // 48 allowed, capped at the maximum
  });

  it('adds 8 pods at once when a fleet of 1-2 would otherwise grow slower', () => {
    const state = emptyHpaState();
    expect(
      decide(
        {
          nowMs: 0,
          current: 2,
          readings: demand(30),
          minReplicas: 1,
          maxReplicas: 40,
          behavior: so.behavior,
        },
        state,
      ).desired,
    ).toBe(10); // max(ceil(2 x 4) = 8, 2 + 8 = 10)
  });

  it('waits 5 minutes of lower demand before scaling down, then gives back a tenth per minute', () => {
    const state = emptyHpaState();
    expect(step(state, 0, 40, demand(28))).toBe(40); // ratio 1: within the tolerance
    let current = 40;
    for (let t = 15_000; t < 300_000; t += 15_000) {
      current = step(state, t, current, demand(2));
      expect(current).toBe(40); // the 40 of t=0 is inside the 5-minute window
    }
    current = step(state, 300_000, current, demand(2));
    expect(current).toBe(36); // 3 proposed; a tenth of 40 per minute
    expect(step(state, 315_000, current, demand(2))).toBe(36); // the minute's tenth is used up
    expect(step(state, 360_000, current, demand(2))).toBe(32);
  });

  it('keeps the fleet when a metric is unreadable and the others would shrink it', () => {
    const state = emptyHpaState();
    expect(
      step(state, 0, 20, [{ kind: 'invalid' }, { kind: 'Value', value: 0.1, target: 0.8 }]),
    ).toBe(20);
    expect(step(state, 15_000, 20, [{ kind: 'invalid' }])).toBe(20);
  });

  it('falls back to the running fleet when it is larger than fallback.replicas (currentReplicasIfHigher), to fallback.replicas when static', () => {
    const higher = fallbackReading('AverageValue', 0.7, so.fallback, 35, 35);
    expect(higher).toEqual({ kind: 'AverageValue', value: 0.7 * 35, target: 0.7 });
    const statik = fallbackReading(
      'AverageValue',
      0.7,
      { ...so.fallback, behavior: 'static' },
      35,
      35,
    );
    expect(statik).toEqual({ kind: 'AverageValue', value: 0.7 * 20, target: 0.7 });
    // Prometheus goes at t=15 s under a fleet of 35 that demand had sized.
    const run = (reading: MetricReading) => {
      const state = emptyHpaState();
      let current = step(state, 0, 35, demand(24.5));
      for (let t = 15_000; t <= 600_000; t += 15_000) current = step(state, t, current, [reading]);
      return current;
    };
    expect(run(higher)).toBe(35); // held through the outage
    // Cut towards fallback.replicas once the 5-minute window passes: 21, within the tolerance of 20.
    expect(run(statik)).toBe(21);
    // KEDA's Value fallback divides by the ready pods, the HPA multiplies by them: the fallback
    // count whatever is ready.
    const value = fallbackReading('Value', 0.8, so.fallback, 12, 4);
    expect(proposal(value, 12, 4)).toBe(20);
    const lower = fallbackReading('Value', 0.8, so.fallback, 10, 10);
    expect(step(emptyHpaState(), 0, 10, [lower])).toBe(20); // a small fleet rises to fallback
  });
});
