import { retryAfterSeconds } from '../src';

/** n evenly spaced draws over [0, 1). */
const draws = (n: number) => Array.from({ length: n }, (_, i) => i / n);

describe('retryAfterSeconds', () => {
  it('backs off by whole seconds within [min, min + spread], every value used', () => {
    const seen = new Set<number>();
    for (const r of draws(1000)) {
      const s = retryAfterSeconds({ kind: 'backoff', minSeconds: 2, spreadSeconds: 4 }, () => r);
      expect(Number.isInteger(s)).toBe(true);
      seen.add(s as number);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6]);
    expect(retryAfterSeconds({ kind: 'backoff', minSeconds: 0, spreadSeconds: 0 }, () => 0)).toBe(
      1,
    );
  });

  it('points past the next release, spread evenly over the window', () => {
    const now = 1_000_000;
    const release = now + 90_500; // 90.5 s away
    const counts = new Map<number, number>();
    for (const r of draws(6000)) {
      const s = retryAfterSeconds(
        { kind: 'at', nowMs: now, atMs: release, spreadSeconds: 60 },
        () => r,
      ) as number;
      expect(now + s * 1000).toBeGreaterThanOrEqual(release);
      expect(s).toBeLessThanOrEqual(91 + 60);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    // 61 distinct seconds from 91 to 151, none holding much more than its share of 1/60.
    expect(Math.min(...counts.keys())).toBe(91);
    expect(Math.max(...counts.keys())).toBe(151);
    expect(counts.size).toBe(61);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(101);
  });

  it('is at least 1 for a moment already past', () => {
    const hint = { kind: 'at', nowMs: 5000, atMs: 4000, spreadSeconds: 0 } as const;
    expect(retryAfterSeconds(hint, () => 0)).toBe(1);
  });
});
