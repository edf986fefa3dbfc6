import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_CAMPAIGN_ID = 'bench';
const DAY_MS = 86_400_000;

export interface ServiceSetup {
  apiKey: string;
  campaignId: string;
  /**
   * The same campaign id with one coupon per shard a day: once the first claims took them, every
   * shard is sold out until tomorrow (the sold-out point).
   */
  soldOutCampaignsFile: string;
  /** what the real service needs besides PORT, REDIS_URL and LOG_LEVEL */
  env: Record<string, string>;
}

/**
 * A key with every scope and a campaign open now with far more budget than a run can spend and
 * generous per-user limits: the bench measures throughput, not exhaustion.
 */
export function prepareService(dir: string, now = Date.now()): ServiceSetup {
  const apiKey = `bench_${randomBytes(24).toString('base64url')}`;
  const sha256 = createHash('sha256').update(apiKey).digest('hex');
  const scopes = ['coupons:issue', 'coupons:read', 'coupons:redeem', 'budget:read'];
  const endsAt = new Date(now + 7 * DAY_MS).toISOString();
  const campaign = {
    id: BENCH_CAMPAIGN_ID,
    name: 'npm run bench',
    currency: 'CNY',
    poolFen: 2500 * 10_000_000_000,
    couponValueFen: 2500,
    minOrderFen: 0,
    timeZone: 'UTC',
    startsAt: new Date(now - DAY_MS).toISOString(),
    endsAt,
    couponExpiresAt: endsAt,
    perUser: { daily: 1000, total: 1000 },
    release: { slicesPerDay: 1, rollover: true },
    shards: 16,
  };
  const campaignsFile = join(dir, 'campaigns.json');
  writeFileSync(campaignsFile, JSON.stringify({ campaigns: [campaign] }, null, 2));
  const soldOutCampaignsFile = join(dir, 'campaigns-soldout.json');
  const days = 9; // the window's calendar days (UTC): from yesterday to a week ahead
  const soldOut = { ...campaign, poolFen: 2500 * campaign.shards * days };
  writeFileSync(soldOutCampaignsFile, JSON.stringify({ campaigns: [soldOut] }, null, 2));
  return {
    apiKey,
    campaignId: BENCH_CAMPAIGN_ID,
    soldOutCampaignsFile,
    env: {
      NODE_ENV: 'development',
      // Its start-up initialises the ledger in the (flushed) private Redis.
      LEDGER_AUTO_INIT: 'true',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      CAMPAIGNS_FILE: campaignsFile,
      COUPON_API_KEYS: JSON.stringify([{ id: 'bench', sha256, scopes }]),
      SHUTDOWN_GRACE_MS: '1000',
    },
  };
}
