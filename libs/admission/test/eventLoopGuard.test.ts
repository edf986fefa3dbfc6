import {
  EventLoopGuard,
  perfHooksSampler,
  type EventLoopGuardOptions,
  type EventLoopSample,
  type EventLoopSampler,
} from '../src';

/** A sampler that answers whatever the test sets next. */
function scripted(): EventLoopSampler & { next: EventLoopSample; closed: boolean } {
  return {
    next: { delayP99Ms: 5, utilization: 0.3, activeMs: 30 },
    closed: false,
    sample() {
      return this.next;
    },
    close() {
      this.closed = true;
    },
  };
}

/** A guard on a scripted sampler, deciding on every sample unless `options` say otherwise. */
function scriptedGuard(options: Partial<EventLoopGuardOptions> = {}) {
  const sampler = scripted();
  const guard = new EventLoopGuard({ sustainSamples: 1, ...options }, sampler);
  return { sampler, guard };
}

const admitted = (guard: EventLoopGuard, priority: 'claim' | 'redeem', n: number) =>
  Array.from({ length: n }, () => guard.admits(priority)).filter(Boolean).length;

describe('EventLoopGuard', () => {
  it('takes a busy loop for an overloaded one only while claims arrive faster than they complete', () => {
    const claims = { delayP99Ms: 200, utilization: 0.9 };
    const { sampler, guard } = scriptedGuard({ claims });
    const demand = { arrivals: 0, completions: 0 };
    guard.watchDemand(() => demand);
    sampler.next = { delayP99Ms: 20, utilization: 1, activeMs: 100 };
    // A closed loop at capacity: 100% busy, every arrival completes. Not an overload.
    demand.arrivals += 1000;
    demand.completions += 1000;
    guard.tick();
    expect(guard.fraction).toBe(1);
    expect(admitted(guard, 'claim', 100)).toBe(100);
    // A crowd: three arrivals for each completion while the loop is pinned. Claims are throttled.
    demand.arrivals += 3000;
    demand.completions += 1000;
    guard.tick();
    expect(guard.fraction).toBe(0.5);
    // Below the utilisation threshold, excess demand alone changes nothing (the limit and the
    // bucket handle it): the fraction climbs back.
    sampler.next = { delayP99Ms: 5, utilization: 0.5, activeMs: 50 };
    demand.arrivals += 3000;
    demand.completions += 1000;
    guard.tick();
    expect(guard.fraction).toBeGreaterThan(0.5);
  });

  it('reacts to delay whatever the demand', () => {
    const { sampler, guard } = scriptedGuard();
    guard.watchDemand(() => ({ arrivals: 0, completions: 0 }));
    sampler.next = { delayP99Ms: 250, utilization: 0.5, activeMs: 50 };
    guard.tick();
    expect(guard.fraction).toBe(0.5);
  });

  it('reads the loop as saturated from the last sample’s utilisation (0.95 by default)', () => {
    const { sampler, guard } = scriptedGuard();
    sampler.next = { delayP99Ms: 5, utilization: 0.97, activeMs: 48.5 };
    guard.tick();
    expect(guard.saturated).toBe(true);
    sampler.next = { delayP99Ms: 5, utilization: 0.9, activeMs: 45 };
    guard.tick();
    expect(guard.saturated).toBe(false);
    const lower = scriptedGuard({ saturatedUtilization: 0.85 });
    lower.sampler.next = { delayP99Ms: 5, utilization: 0.9, activeMs: 45 };
    lower.guard.tick();
    expect(lower.guard.saturated).toBe(true);
  });

  it('ignores utilisation by default', () => {
    const { sampler, guard } = scriptedGuard();
    sampler.next = { delayP99Ms: 20, utilization: 1, activeMs: 100 };
    guard.tick();
    expect(guard.fraction).toBe(1);
  });

  it('admits everything while the loop is healthy', () => {
    const { guard } = scriptedGuard();
    guard.tick();
    expect(admitted(guard, 'claim', 100)).toBe(100);
  });

  it('throttles claims first when delay or utilisation crosses the claim threshold', () => {
    for (const bad of [
      { delayP99Ms: 250, utilization: 0.5, activeMs: 50 },
      { delayP99Ms: 5, utilization: 0.99, activeMs: 99 },
    ]) {
      const claims = { delayP99Ms: 200, utilization: 0.98 };
      const { sampler, guard } = scriptedGuard({ claims });
      sampler.next = bad;
      guard.tick();
      expect(guard.fraction).toBe(0.5);
      expect(admitted(guard, 'claim', 100)).toBe(50);
      expect(admitted(guard, 'redeem', 100)).toBe(100);
    }
  });

  it('waits for sustainSamples bad samples in a row before throttling', () => {
    const claims = { delayP99Ms: 200, utilization: 0.98 };
    const { sampler, guard } = scriptedGuard({ sustainSamples: 3, claims });
    const bad = { delayP99Ms: 5, utilization: 0.99, activeMs: 99 };
    const good = { delayP99Ms: 5, utilization: 0.3, activeMs: 30 };
    for (const next of [bad, bad, good, bad, bad]) {
      sampler.next = next;
      guard.tick();
      expect(guard.fraction).toBe(1);
    }
    guard.tick(); // the third bad sample in a row
    expect(guard.fraction).toBe(0.5);
    expect(admitted(guard, 'claim', 100)).toBe(50);
  });

  it('halves the fraction per bad sample down to its floor, never to zero', () => {
    const { sampler, guard } = scriptedGuard({ minFraction: 0.1 });
    sampler.next = { delayP99Ms: 300, utilization: 1, activeMs: 100 };
    for (let i = 0; i < 20; i++) guard.tick();
    expect(guard.fraction).toBe(0.1);
    expect(admitted(guard, 'claim', 1000)).toBe(100);
  });

  it('throttles every priority past the all threshold', () => {
    const { sampler, guard } = scriptedGuard();
    sampler.next = { delayP99Ms: 1500, utilization: 1, activeMs: 100 };
    guard.tick();
    guard.tick();
    expect(guard.throttlingAll).toBe(true);
    expect(admitted(guard, 'redeem', 100)).toBe(25);
  });

  it('recovers additively once the loop is healthy again', () => {
    const { sampler, guard } = scriptedGuard({ increase: 0.25 });
    sampler.next = { delayP99Ms: 1500, utilization: 1, activeMs: 100 };
    guard.tick();
    sampler.next = { delayP99Ms: 5, utilization: 0.3, activeMs: 30 };
    guard.tick();
    expect(guard.throttlingAll).toBe(false);
    expect(guard.fraction).toBe(0.75);
    expect(admitted(guard, 'redeem', 100)).toBe(100);
    guard.tick();
    expect(guard.fraction).toBe(1);
    expect(admitted(guard, 'claim', 100)).toBe(100);
  });

  it('adds up active time for a counter and keeps the last readings', () => {
    const { sampler, guard } = scriptedGuard();
    guard.tick();
    sampler.next = { delayP99Ms: 12, utilization: 0.9, activeMs: 90 };
    guard.tick();
    expect(guard.activeSeconds).toBeCloseTo(0.12);
    expect(guard.utilization).toBe(0.9);
    expect(guard.delayP99Ms).toBe(12);
    guard.stop();
    expect(sampler.closed).toBe(true);
  });

  it('samples on an unref-ed timer it can stop', () => {
    jest.useFakeTimers();
    try {
      const sampler = scripted();
      const guard = new EventLoopGuard({ intervalMs: 100 }, sampler).start();
      jest.advanceTimersByTime(1000);
      expect(guard.activeSeconds).toBeCloseTo(0.3);
      guard.stop();
      jest.advanceTimersByTime(1000);
      expect(guard.activeSeconds).toBeCloseTo(0.3);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('perfHooksSampler', () => {
  it('reads delay and utilisation from perf_hooks, active time included', () => {
    const sampler = perfHooksSampler();
    try {
      sampler.sample();
      const busyUntil = performance.now() + 30;
      while (performance.now() < busyUntil) {
        // keep the loop busy: active time, not sleeping
      }
      const s = sampler.sample();
      expect(s.activeMs).toBeGreaterThanOrEqual(25);
      expect(s.utilization).toBeGreaterThan(0);
      expect(s.utilization).toBeLessThanOrEqual(1);
      expect(Number.isFinite(s.delayP99Ms)).toBe(true);
      expect(s.delayP99Ms).toBeGreaterThanOrEqual(0);
    } finally {
      sampler.close();
    }
  });
});
