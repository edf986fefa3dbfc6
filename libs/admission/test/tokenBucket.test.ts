import { TokenBucket } from '../src';

describe('TokenBucket', () => {
  it('lets a full burst through, then the rate, refilling continuously', () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 });
    const t0 = 1_000_000;
    for (let i = 0; i < 5; i++) expect(bucket.tryTake(t0)).toBe(true);
    expect(bucket.tryTake(t0)).toBe(false);
    expect(bucket.tryTake(t0 + 99)).toBe(false);
    expect(bucket.tryTake(t0 + 100)).toBe(true);
    expect(bucket.tryTake(t0 + 100)).toBe(false);
    // A long pause refills to the burst, not beyond.
    let taken = 0;
    while (bucket.tryTake(t0 + 60_000)) taken++;
    expect(taken).toBe(5);
  });

  it('admits rate x time over a long run, whatever the offered load', () => {
    const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 50 });
    let admitted = 0;
    for (let t = 0; t < 10_000; t++) for (let k = 0; k < 5; k++) if (bucket.tryTake(t)) admitted++;
    expect(admitted).toBe(50 + 1000 * 10 - 1);
  });

  it('keeps a reserve for the callers that pass keep', () => {
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 10 });
    let claims = 0;
    while (bucket.tryTake(0, 2)) claims++;
    expect(claims).toBe(8);
    expect(bucket.tryTake(0)).toBe(true);
    expect(bucket.tryTake(0)).toBe(true);
    expect(bucket.tryTake(0)).toBe(false);
  });

  it('reports its use and ignores a clock stepping back', () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 4 });
    expect(bucket.use(1000)).toBe(0);
    bucket.tryTake(1000);
    bucket.tryTake(1000);
    expect(bucket.use(1000)).toBe(0.5);
    expect(bucket.use(500)).toBe(0.5);
    expect(bucket.use(600)).toBeCloseTo(0.25);
  });

  it('refuses nonsense options', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
