import { fullJitterBackoffMs, retryDelayMs } from '../src/backoff';
import { randoms } from './support';

const options = { baseMs: 100, capMs: 1_000 };

describe('full-jitter backoff', () => {
  it('draws from [0, base x 2^(retry-1)), capped', () => {
    const top = randoms(0.999999);
    expect(fullJitterBackoffMs(1, options, top)).toBe(99);
    expect(fullJitterBackoffMs(2, options, top)).toBe(199);
    expect(fullJitterBackoffMs(3, options, top)).toBe(399);
    expect(fullJitterBackoffMs(4, options, top)).toBe(799);
    expect(fullJitterBackoffMs(5, options, top)).toBe(999);
    expect(fullJitterBackoffMs(30, options, top)).toBe(999);
  });

  it('is spread over the whole interval by the random draw', () => {
    expect(fullJitterBackoffMs(3, options, randoms(0))).toBe(0);
    expect(fullJitterBackoffMs(3, options, randoms(0.5))).toBe(200);
    expect(fullJitterBackoffMs(3, options, randoms(0.25))).toBe(100);
  });

  it('refuses a retry number below 1', () => {
    expect(() => fullJitterBackoffMs(0, options, randoms(0))).toThrow(RangeError);
  });
});

describe('retry delay', () => {
  it('is never shorter than Retry-After', () => {
    expect(retryDelayMs(1, 3, options, randoms(0.999))).toBe(3_000);
    expect(retryDelayMs(5, 1, options, randoms(0))).toBe(1_000);
  });

  it('is the backoff when it is longer than Retry-After, or without one', () => {
    expect(retryDelayMs(1, undefined, options, randoms(0.5))).toBe(50);
    expect(retryDelayMs(1, 0, options, randoms(0.5))).toBe(50);
  });
});
