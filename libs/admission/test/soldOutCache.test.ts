import { SoldOutCache } from '../src';

const RELEASE = Date.UTC(2027, 1, 10, 4, 0, 0); // 12:00 Asia/Shanghai
const ISO = '2027-02-10T12:00:00.000+08:00';

describe('SoldOutCache', () => {
  it('is sold out until exactly the next release, not 1 ms later or earlier', () => {
    const cache = new SoldOutCache({ probeIntervalMs: Infinity });
    cache.markSoldOut('c1', 3, RELEASE, ISO, 0);
    expect(cache.isSoldOut('c1', 3, RELEASE - 3_600_000)).toBe(true);
    expect(cache.isSoldOut('c1', 3, RELEASE - 1)).toBe(true);
    expect(cache.lookup('c1', 3, RELEASE - 1)).toMatchObject({
      untilMs: RELEASE,
      nextReleaseAt: ISO,
    });
    expect(cache.isSoldOut('c1', 3, RELEASE)).toBe(false);
    // ...and the entry is gone, even for a clock that steps back afterwards.
    expect(cache.isSoldOut('c1', 3, RELEASE - 1)).toBe(false);
  });

  it('keys by campaign and shard', () => {
    const cache = new SoldOutCache({ probeIntervalMs: Infinity });
    cache.markSoldOut('c1', 3, RELEASE, ISO, 0);
    expect(cache.isSoldOut('c1', 4, RELEASE - 1)).toBe(false);
    expect(cache.isSoldOut('c2', 3, RELEASE - 1)).toBe(false);
    cache.markSoldOut('c1', 3, RELEASE + 1000, ISO, 0);
    expect(cache.isSoldOut('c1', 3, RELEASE)).toBe(true);
    cache.forget('c1');
    expect(cache.isSoldOut('c1', 3, RELEASE)).toBe(false);
  });

  it('is bounded: campaigns beyond the limit push out the oldest, odd shards are not kept', () => {
    const cache = new SoldOutCache({ maxCampaigns: 2, maxShards: 16, probeIntervalMs: Infinity });
    cache.markSoldOut('a', 0, RELEASE, ISO, 0);
    cache.markSoldOut('b', 0, RELEASE, ISO, 0);
    cache.markSoldOut('c', 0, RELEASE, ISO, 0);
    expect(cache.isSoldOut('a', 0, 0)).toBe(false);
    expect(cache.isSoldOut('b', 0, 0)).toBe(true);
    expect(cache.isSoldOut('c', 0, 0)).toBe(true);
    for (const shard of [16, -1, 1.5, NaN]) {
      cache.markSoldOut('b', shard, RELEASE, ISO, 0);
      expect(cache.isSoldOut('b', shard, 0)).toBe(false);
    }
  });

  it('lets one claim per probe interval through to Redis, and forgets a shard that was refilled', () => {
    const cache = new SoldOutCache({ probeIntervalMs: 1000 });
    const marked = RELEASE - 60_000;
    cache.markSoldOut('c1', 3, RELEASE, ISO, marked);
    expect(cache.isSoldOut('c1', 3, marked + 999)).toBe(true);
    expect(cache.isSoldOut('c1', 3, marked + 1000)).toBe(false); // the probe
    expect(cache.isSoldOut('c1', 3, marked + 1000)).toBe(true); // only one
    expect(cache.isSoldOut('c1', 3, marked + 1999)).toBe(true);
    expect(cache.isSoldOut('c1', 3, marked + 2000)).toBe(false); // the next probe
    // The probe's claim was issued: rebalancing moved budget in, so the shard is open again.
    cache.clear('c1', 3);
    expect(cache.isSoldOut('c1', 3, marked + 2001)).toBe(false);
    expect(cache.isSoldOut('c1', 3, marked + 2002)).toBe(false);
  });
});
