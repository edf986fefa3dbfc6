import { cpuQuota, MIN_QUOTA_US, quotaWrites } from '../src/cgroup';

describe('cpuQuota', () => {
  it('caps to 25% of a core with the shortest period the kernel takes: 1 ms every 4 ms', () => {
    // A 1 ms period would need a 250 µs quota, under the kernel's 1 ms minimum.
    expect(cpuQuota(0.25)).toEqual({ quotaUs: 1000, periodUs: 4000 });
  });

  it('keeps the quota at or over 1 ms and the quota/period ratio at the share asked for', () => {
    for (const share of [0.05, 0.1, 0.3, 1 / 3, 0.5, 0.75, 1]) {
      const { quotaUs, periodUs } = cpuQuota(share);
      expect(quotaUs).toBeGreaterThanOrEqual(MIN_QUOTA_US);
      expect(periodUs).toBeGreaterThanOrEqual(1000);
      expect(Math.abs(quotaUs / periodUs - share)).toBeLessThan(0.001);
    }
    expect(cpuQuota(1)).toEqual({ quotaUs: 1000, periodUs: 1000 });
    expect(cpuQuota(0.001)).toEqual({ quotaUs: 1000, periodUs: 1_000_000 });
  });

  it('refuses a share it cannot express', () => {
    expect(() => cpuQuota(0)).toThrow(RangeError);
    expect(() => cpuQuota(1.5)).toThrow(RangeError);
    expect(() => cpuQuota(0.0005)).toThrow(/over 1 s/);
  });
});

describe('quotaWrites', () => {
  const quota = { quotaUs: 1000, periodUs: 4000 };

  it('writes the v1 period before the quota', () => {
    expect(quotaWrites(1, quota)).toEqual([
      ['cpu.cfs_period_us', '4000'],
      ['cpu.cfs_quota_us', '1000'],
    ]);
  });

  it('writes v2 cpu.max as "quota period"', () => {
    expect(quotaWrites(2, quota)).toEqual([['cpu.max', '1000 4000']]);
  });
});
