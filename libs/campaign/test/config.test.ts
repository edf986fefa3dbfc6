import { join } from 'node:path';
import { CampaignCalendar, loadCampaignsFile } from '../src';
import { ms } from './fixtures';

describe('config/campaigns.json', () => {
  const campaigns = loadCampaignsFile(
    join(__dirname, '..', '..', '..', 'config', 'campaigns.json'),
  );
  const now = ms('2026-11-25T12:00:00+08:00'); // a fixed "today", not the real clock

  it('holds the historic campaign, finished, and the 2027 one, running', () => {
    expect(campaigns.map((c) => c.id)).toEqual(['spring-festival-2026', 'spring-festival-2027']);
    const [historic, current] = campaigns.map((c) => new CampaignCalendar(c));
    expect(historic?.phase(now)).toBe('ended');
    expect(current?.phase(now)).toBe('running');
  });

  it('splits the 2027 pool evenly over its 120 days', () => {
    const current = new CampaignCalendar(campaigns[1]!);
    expect(current.poolCoupons).toBe(120_000_000);
    expect(current.days).toHaveLength(30 + 31 + 31 + 28);
    expect(current.days.every((d) => d.trancheCoupons === 1_000_000)).toBe(true);
    expect(current.dayAt(now)?.day).toBe('2026-11-25');
    // 24 full days and 13 of today's 24 hourly slices (00:00..12:00) are out
    expect(current.releasedCouponsAt(now)).toBe(24 * 1_000_000 + 13 * 41_667);
    expect(current.nextReleaseAt(now)).toBe(ms('2026-11-25T13:00:00+08:00'));
    expect(campaigns[1]!.couponExpiresAt).toBe(ms('2027-02-28T23:59:59.999+08:00'));
  });
});
