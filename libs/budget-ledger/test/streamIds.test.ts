import { compareStreamIds, nextStreamId, parseStreamId, streamIdMs } from '../src';

describe('stream ids as the scripts order them', () => {
  it('compares by milliseconds, then sequence, as numbers (never as text)', () => {
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareStreamIds('10-10', '10-2')).toBeGreaterThan(0);
    expect(compareStreamIds('1796215146503-1', '1796215146503-1')).toBe(0);
  });

  it('steps to the next id (what XTRIM MINID keeps from), exactly past 2^53', () => {
    expect(nextStreamId('1796215146503-0')).toBe('1796215146503-1');
    expect(nextStreamId('5-18446744073709551614')).toBe('5-18446744073709551615');
    expect(streamIdMs('1796215146503-7')).toBe(1796215146503);
  });

  it('refuses what is not an id', () => {
    expect(() => parseStreamId('1796215146503')).toThrow(/not a stream id/);
    expect(() => parseStreamId('*')).toThrow(/not a stream id/);
  });
});
