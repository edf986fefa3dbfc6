import { ConcurrencyLimit, type Permit, type Priority } from '../src';

const fixed = (limit: number, claimShare = 0.8) =>
  new ConcurrencyLimit({ initialLimit: limit, minLimit: 1, maxLimit: 1000, claimShare });

function acquireAll(limit: ConcurrencyLimit, priority: Priority, n: number): Permit[] {
  const permits: Permit[] = [];
  for (let i = 0; i < n; i++) {
    const permit = limit.tryAcquire(priority);
    if (permit === undefined) throw new Error(`permit ${i + 1} of ${n} refused`);
    permits.push(permit);
  }
  return permits;
}

describe('ConcurrencyLimit partitions', () => {
  it('leaves the redemption share to redemptions and reads: limit 10, share 0.8', () => {
    const limit = fixed(10);
    expect(limit.claimLimit).toBe(8);
    const claims = acquireAll(limit, 'claim', 8);
    expect(limit.tryAcquire('claim')).toBeUndefined();
    expect(limit.tryAcquire('other')).toBeUndefined();
    const redemption = limit.tryAcquire('redeem');
    expect(redemption).toBeDefined();
    expect(limit.tryAcquire('read')).toBeDefined();
    expect(limit.tryAcquire('redeem')).toBeUndefined();
    expect(limit.inflightByPriority).toEqual({ redeem: 1, read: 1, claim: 8, other: 0 });

    // A finished redemption frees a slot the claims still cannot have.
    redemption?.release();
    expect(limit.tryAcquire('claim')).toBeUndefined();
    claims[0]?.release();
    expect(limit.tryAcquire('claim')).toBeDefined();
  });

  it('lets redemptions and reads use every slot', () => {
    const limit = fixed(10);
    acquireAll(limit, 'redeem', 6);
    acquireAll(limit, 'read', 4);
    expect(limit.tryAcquire('redeem')).toBeUndefined();
    expect(limit.inflight).toBe(10);
  });

  it('frees a slot once, however often release is called', () => {
    const limit = fixed(2);
    const [a] = acquireAll(limit, 'read', 2);
    a?.release();
    a?.release({ latencyMs: 5, dropped: false });
    expect(limit.inflight).toBe(1);
    expect(limit.inflightByPriority.read).toBe(1);
  });
});

describe('ConcurrencyLimit gradient', () => {
  // minLimit above Gradient2's own floor under load (queueSize / (1 - 0.5) = 8).
  const options = { initialLimit: 20, minLimit: 10, maxLimit: 60 };

  /** Runs `rounds` full waves: fill the limit with reads, release them all at `latencyMs`. */
  function waves(
    limit: ConcurrencyLimit,
    rounds: number,
    latencyMs: number,
    dropped = false,
  ): void {
    for (let r = 0; r < rounds; r++) {
      const permits: Permit[] = [];
      for (let p = limit.tryAcquire('read'); p !== undefined; p = limit.tryAcquire('read')) {
        permits.push(p);
      }
      for (const p of permits) p.release({ latencyMs, dropped });
    }
  }

  it('grows while latency holds, up to the maximum', () => {
    const limit = new ConcurrencyLimit(options);
    waves(limit, 1, 10);
    expect(limit.limit).toBeGreaterThan(20);
    waves(limit, 50, 10);
    expect(limit.limit).toBe(60);
  });

  it('shrinks when latency rises well above its long-term level', () => {
    const limit = new ConcurrencyLimit({ ...options, latencyTargetMs: 1000 });
    waves(limit, 5, 10);
    const before = limit.limit;
    expect(before).toBe(60);
    waves(limit, 1, 40);
    expect(limit.limit).toBeLessThanOrEqual(before / 2);
    // ...while a rise within the tolerance (1.5x) leaves it alone.
    const tolerant = new ConcurrencyLimit({ ...options, latencyTargetMs: 1000 });
    waves(tolerant, 5, 10);
    waves(tolerant, 1, 14);
    expect(tolerant.limit).toBe(60);
  });

  it('takes a sustained slowdown for the new normal, unless it is over the latency target', () => {
    const adapting = new ConcurrencyLimit({ ...options, latencyTargetMs: 1000 });
    const anchored = new ConcurrencyLimit({ ...options, latencyTargetMs: 100 });
    for (const limit of [adapting, anchored]) {
      waves(limit, 5, 10);
      waves(limit, 400, 400);
    }
    expect(adapting.limit).toBe(60);
    expect(anchored.limit).toBe(10);
  });

  it('shrinks on dropped requests whatever their latency', () => {
    const limit = new ConcurrencyLimit(options);
    waves(limit, 1, 1, true);
    expect(limit.limit).toBeLessThan(20);
  });

  it('does not grow when little of the limit is used (application-limited)', () => {
    const limit = new ConcurrencyLimit(options);
    for (let i = 0; i < 100; i++)
      limit.tryAcquire('read')?.release({ latencyMs: 10, dropped: false });
    expect(limit.limit).toBe(20);
  });

  it('tracks the median service time and ignores nonsense samples', () => {
    const limit = new ConcurrencyLimit(options);
    expect(limit.medianLatencyMs).toBe(0);
    for (let i = 0; i < 400; i++) {
      limit.tryAcquire('read')?.release({ latencyMs: i % 2 === 0 ? 20 : 80, dropped: false });
      limit.tryAcquire('read')?.release({ latencyMs: 50, dropped: false });
    }
    expect(limit.medianLatencyMs).toBeGreaterThan(40);
    expect(limit.medianLatencyMs).toBeLessThan(60);
    limit.tryAcquire('read')?.release({ latencyMs: NaN, dropped: false });
    limit.tryAcquire('read')?.release({ latencyMs: -1, dropped: true });
    expect(limit.limit).toBe(20);
  });

  it('refuses nonsense bounds', () => {
    expect(() => new ConcurrencyLimit({ minLimit: 10, maxLimit: 5 })).toThrow(RangeError);
    expect(() => new ConcurrencyLimit({ claimShare: 0 })).toThrow(RangeError);
  });
});
