import { randomBytes } from 'node:crypto';

/**
 * A campaign as a campaigns file holds it (parse it with @coupons/campaign's parseCampaigns).
 * Overrides may make it invalid on purpose (schema tests): the type is the valid shape.
 */
export interface CampaignInput {
  id: string;
  name: string;
  currency: string;
  poolFen: number;
  couponValueFen: number;
  minOrderFen: number;
  timeZone: string;
  startsAt: string;
  endsAt: string;
  couponExpiresAt: string;
  perUser: { daily: number; total: number };
  release: { slicesPerDay: number; rollover: boolean; dayWeights: Record<string, number> };
  shards: number;
}

/** An id no other test (or earlier run on the same servers) uses: `prefix-<8 hex>`. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

const HOUR_MS = 3_600_000;

/**
 * The one campaign fixture: the historic Spring Festival campaign in the file format (CNY 3
 * billion in 25-yuan coupons, Feb 6-28 2026 in Asia/Shanghai, hourly slices, 16 shards), with
 * `overrides` on top.
 */
export function campaignInput(overrides: Record<string, unknown> = {}): CampaignInput {
  const base: CampaignInput = {
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
  };
  return { ...base, ...overrides } as CampaignInput;
}

export interface LiveCampaignOptions {
  startsInMs?: number;
  endsInMs?: number;
  coupons?: number;
  couponValueFen?: number;
  minOrderFen?: number;
  perUser?: { daily: number; total: number };
  slicesPerDay?: number;
  rollover?: boolean;
  shards?: number;
  now?: number;
}

/**
 * A campaign placed relative to the real now (for tests where the ledger goes by Redis TIME,
 * which they cannot move): open an hour ago for three days unless told otherwise. Each day's
 * budget is released at once unless `slicesPerDay` says otherwise: with hourly slices, what had
 * been released an hour after opening would depend on the hour of the day in the campaign's zone
 * (a campaign opened just after midnight there has released a twenty-fourth of its first day),
 * and a test that claims more than that would pass or fail by the time it runs.
 */
export function liveCampaign(id: string, options: LiveCampaignOptions = {}): CampaignInput {
  const now = options.now ?? Date.now();
  const startsAt = now + (options.startsInMs ?? -HOUR_MS);
  const endsAt = now + (options.endsInMs ?? 72 * HOUR_MS);
  const couponValueFen = options.couponValueFen ?? 2500;
  return campaignInput({
    id,
    name: `Test campaign ${id}`,
    poolFen: (options.coupons ?? 10_000) * couponValueFen,
    couponValueFen,
    minOrderFen: options.minOrderFen ?? 0,
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
    couponExpiresAt: new Date(endsAt).toISOString(),
    perUser: options.perUser ?? { daily: 50, total: 100 },
    release: {
      slicesPerDay: options.slicesPerDay ?? 1,
      rollover: options.rollover ?? true,
      dayWeights: {},
    },
    shards: options.shards ?? 4,
  });
}
