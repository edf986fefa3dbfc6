import { ConcurrencyLimit, type ConcurrencyLimitOptions, type Permit, type Priority } from '../src';

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
  // minLimit above Gradient2's own floor under load (queueSize / (1 - 0.5) = 8); no latency
  // floor (maxQueueDelayMs 0), so the gradient is seen alone.
  const options = { initialLimit: 20, minLimit: 10, maxLimit: 60, maxQueueDelayMs: 0 };

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

  it('does not shrink on latency the saturated event loop made, and does on the same latency once it is not', () => {
    let saturated = true;
    const limit = new ConcurrencyLimit({ ...options, latencyTargetMs: 1000 }, () => saturated);
    waves(limit, 5, 10);
    expect(limit.limit).toBe(60);
    // The rise that halves a limit (the test above), while the loop is saturated: held.
    waves(limit, 1, 40);
    expect(limit.limit).toBe(60);
    saturated = false;
    waves(limit, 1, 40);
    expect(limit.limit).toBeLessThanOrEqual(30);
  });

  it('still shrinks on dropped requests while the loop is saturated', () => {
    const limit = new ConcurrencyLimit(options, () => true);
    waves(limit, 1, 1, true);
    expect(limit.limit).toBeLessThan(20);
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

describe('ConcurrencyLimit queueing: the limit is where queueing starts, not where refusals start', () => {
  /** A limit that has seen `latencyMs` as its median service time. */
  function warmed(latencyMs: number, options: Partial<ConcurrencyLimitOptions> = {}) {
    const limit = new ConcurrencyLimit({
      initialLimit: 10,
      minLimit: 10,
      maxLimit: 100,
      ...options,
    });
    for (let i = 0; i < 50; i++) limit.tryAcquire('read')?.release({ latencyMs, dropped: false });
    return limit;
  }

  it('serves a burst past the limit when the wait it adds fits maxQueueDelayMs and the budget', () => {
    const limit = warmed(2);
    // Claims hold 8 of 10 slots; past them each claim adds 2 ms / 8 slots of waiting.
    for (let i = 0; i < 30; i++) expect(limit.tryAcquire('claim', 1000)).toBeDefined();
    const strict = warmed(2);
    acquireAll(strict, 'claim', 8);
    expect(strict.tryAcquire('claim', 0)).toBeUndefined();
  });

  it('refuses once the wait would pass maxQueueDelayMs (50 ms) or the caller’s budget', () => {
    // Median 40 ms: each claim past the 8 adds 5 ms; 10 of them make 50 ms.
    const slow = warmed(40);
    const admitted = [];
    for (
      let p = slow.tryAcquire('claim', 1000);
      p !== undefined;
      p = slow.tryAcquire('claim', 1000)
    )
      admitted.push(p);
    expect(admitted).toHaveLength(18);
    const hurried = warmed(40);
    let n = 0;
    while (hurried.tryAcquire('claim', 20) !== undefined) n++;
    expect(n).toBe(12);
  });

  it('never passes maxLimit, and keeps the redemptions’ share of it', () => {
    const limit = warmed(0.01, { maxLimit: 20 });
    let claims = 0;
    while (limit.tryAcquire('claim', 1000) !== undefined) claims++;
    expect(claims).toBe(16);
    let redemptions = 0;
    while (limit.tryAcquire('redeem', 1000) !== undefined) redemptions++;
    expect(redemptions).toBe(4);
  });

  /**
   * A pod simulated on a manual clock, 1 ms a step: it does CAPACITY units of work a ms, shared
   * by the requests in flight (one request takes at least MIN_MS), each needing one unit. Arrivals
   * come at `rate` per ms, except that every 100 ms a 15 ms pause (a GC, a scheduling hiccup)
   * holds them back and releases them at once: the bursts an open model brings (after a first
   * 100 ms of steady arrivals, in which the pod learns its service time).
   */
  function simulate(limit: ConcurrencyLimit, rate: number, ms = 5000) {
    const CAPACITY = 5;
    const MIN_MS = 2;
    const DEADLINE_MS = 2000;
    const inflight: { permit: Permit; startedAt: number; work: number }[] = [];
    const latencies: number[] = [];
    let shed = 0;
    let owed = 0;
    for (let now = 0; now < ms; now++) {
      owed += rate;
      const arrivals = now >= 100 && now % 100 < 15 ? 0 : Math.floor(owed);
      owed -= arrivals;
      for (let i = 0; i < arrivals; i++) {
        const permit = limit.tryAcquire('claim', DEADLINE_MS - limit.medianLatencyMs);
        if (permit === undefined) shed++;
        else inflight.push({ permit, startedAt: now, work: 1 });
      }
      const share = Math.min(1 / MIN_MS, CAPACITY / Math.max(1, inflight.length));
      for (let i = inflight.length - 1; i >= 0; i--) {
        const request = inflight[i]!;
        request.work -= share;
        if (request.work > 1e-9) continue;
        inflight.splice(i, 1);
        const latencyMs = now + 1 - request.startedAt;
        latencies.push(latencyMs);
        request.permit.release({ latencyMs, dropped: latencyMs > DEADLINE_MS });
      }
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    return { shed, served: latencies.length, p99 };
  }

  const service = () => new ConcurrencyLimit({ initialLimit: 32, minLimit: 8, maxLimit: 256 });

  it('at 0.5x and 0.7x of capacity sheds nothing, bursts served well within their deadline', () => {
    for (const rate of [2.5, 3.5]) {
      const run = simulate(service(), rate);
      expect({ rate, shed: run.shed }).toEqual({ rate, shed: 0 });
      expect(run.p99).toBeLessThan(50);
    }
  });

  it('without a wait budget (refusing at the limit) the same bursts are shed', () => {
    const limit = service();
    const refusing = { tryAcquire: (p: Priority) => limit.tryAcquire(p, 0) };
    const run = simulate(Object.assign(Object.create(limit) as ConcurrencyLimit, refusing), 2.5);
    expect(run.shed).toBeGreaterThan(0);
  });

  it('at 3x of capacity sheds the excess and keeps the served latency bounded', () => {
    const run = simulate(service(), 15);
    expect(run.shed).toBeGreaterThan(run.served);
    expect(run.p99).toBeLessThan(200);
  });
});
