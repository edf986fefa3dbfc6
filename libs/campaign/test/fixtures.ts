import { CampaignConfigError, parseCampaigns, parseIsoInstant, type Campaign } from '../src';

/** Epoch ms of an ISO-8601 instant with offset; throws on a typo so a test cannot pass by accident. */
export function ms(iso: string): number {
  const value = parseIsoInstant(iso);
  if (value === undefined) throw new Error(`bad instant in test: ${iso}`);
  return value;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The historic campaign as it appears in a campaigns file, with `overrides` on top. */
export function rawCampaign(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'spring-festival-2026',
    name: 'Spring Festival free-order coupons',
    currency: 'CNY',
    poolFen: 300_000_000_000,
    couponValueFen: 2500,
    minOrderFen: 0,
    timeZone: 'Asia/Shanghai',
    startsAt: '2026-02-06T00:00:00+08:00',
    endsAt: '2026-02-28T23:59:59.999+08:00',
    couponExpiresAt: '2026-02-28T23:59:59.999+08:00',
    perUser: { daily: 3, total: 21 },
    release: { slicesPerDay: 24, rollover: true, dayWeights: {} },
    shards: 16,
    ...overrides,
  };
}

export function campaignFrom(overrides: Record<string, unknown> = {}): Campaign {
  const [campaign] = parseCampaigns({ campaigns: [rawCampaign(overrides)] });
  if (campaign === undefined) throw new Error('no campaign parsed');
  return campaign;
}

/** The issues a campaigns file object is rejected with; fails the test when it is accepted. */
export function issuesOf(input: unknown): string[] {
  try {
    parseCampaigns(input);
  } catch (err) {
    if (err instanceof CampaignConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a CampaignConfigError, but the input was accepted');
}

export function issuesOfCampaign(overrides: Record<string, unknown>): string[] {
  return issuesOf({ campaigns: [rawCampaign(overrides)] });
}

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
