import { SoldOutCache } from '../src';

const RELEASE = Date.UTC(2027, 1, 10, 4, 0, 0); // 12:00 Asia/Shanghai
const ISO = '2027-02-10T12:00:00.000+08:00';

describe('SoldOutCache', () => {
  it('is sold out until exactly the next release, not 1 ms later or earlier', () => {
    const cache = new SoldOutCache();
    cache.markSoldOut('c1', 3, RELEASE, ISO);
    expect(cache.isSoldOut('c1', 3, RELEASE - 3_600_000)).toBe(true);
    expect(cache.isSoldOut('c1', 3, RELEASE - 1)).toBe(true);
    expect(cache.lookup('c1', 3, RELEASE - 1)).toEqual({ untilMs: RELEASE, nextReleaseAt: ISO });
    expect(cache.isSoldOut('c1', 3, RELEASE)).toBe(false);
    // ...and the entry is gone, even for a clock that steps back afterwards.
    expect(cache.isSoldOut('c1', 3, RELEASE - 1)).toBe(false);
  });

  it('keys by campaign and shard', () => {
    const cache = new SoldOutCache();
    cache.markSoldOut('c1', 3, RELEASE, ISO);
    expect(cache.isSoldOut('c1', 4, RELEASE - 1)).toBe(false);
    expect(cache.isSoldOut('c2', 3, RELEASE - 1)).toBe(false);
    cache.markSoldOut('c1', 3, RELEASE + 1000, ISO);
    expect(cache.isSoldOut('c1', 3, RELEASE)).toBe(true);
    cache.forget('c1');
    expect(cache.isSoldOut('c1', 3, RELEASE)).toBe(false);
  });

  it('is bounded: campaigns beyond the limit push out the oldest, odd shards are not kept', () => {
    const cache = new SoldOutCache({ maxCampaigns: 2, maxShards: 16 });
    cache.markSoldOut('a', 0, RELEASE, ISO);
    cache.markSoldOut('b', 0, RELEASE, ISO);
    cache.markSoldOut('c', 0, RELEASE, ISO);
    expect(cache.isSoldOut('a', 0, 0)).toBe(false);
    expect(cache.isSoldOut('b', 0, 0)).toBe(true);
    expect(cache.isSoldOut('c', 0, 0)).toBe(true);
    for (const shard of [16, -1, 1.5, NaN]) {
      cache.markSoldOut('b', shard, RELEASE, ISO);
      expect(cache.isSoldOut('b', shard, 0)).toBe(false);
    }
  });
});
