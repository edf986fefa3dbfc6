import { describeIfRedis } from '@coupons/testing';
import {
  couponApi,
  KEYS,
  liveCampaign,
  startTestService,
  uniqueId,
  until,
  waitUntilReady,
  type CampaignInput,
  type TestService,
} from '../../../services/coupon-service/test/support';
import { CouponClient, type CouponClientOptions } from '../src/client';

export { couponApi, KEYS, liveCampaign, uniqueId, until, type CampaignInput, type TestService };

/** Without redis-server the service tests are skipped locally and fail under CI=true. */
export { describeIfRedis };

/**
 * A quiet service: no event-loop shedding on a shared test machine, no per-user limiter; the
 * tests that want shedding turn it on.
 */
export const QUIET_ENV = {
  ADMISSION_EVENT_LOOP_DELAY_MS: '60000',
  USER_RATE_LIMIT: 'off',
};

/**
 * A pod of the real service on the Redis-tracked clock (the ledger goes by Redis TIME, so
 * campaigns are placed around the real now), ready; its campaigns' ledgers created unless told.
 */
export async function startPod(
  campaigns: CampaignInput[],
  options: { env?: Record<string, string>; redisUrl?: string; initLedgers?: boolean } = {},
): Promise<TestService> {
  const service = await startTestService({
    clock: 'redis',
    campaigns,
    env: { ...QUIET_ENV, ...options.env },
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
  });
  await waitUntilReady(service);
  if (options.initLedgers !== false)
    for (const campaign of campaigns)
      await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
  return service;
}

export function clientOf(
  baseUrl: string,
  options: Partial<CouponClientOptions> = {},
): CouponClient {
  return new CouponClient({ baseUrl, apiKey: KEYS.all, ...options });
}

/** Coupons the ledger has issued for the campaign, by the budget route. */
export async function issuedCount(service: TestService, campaign: CampaignInput): Promise<number> {
  const budget = await couponApi(service, campaign.id).budget();
  if (budget.status !== 200) throw new Error(`budget answered ${budget.status}`);
  return (budget.body.issuedFen as number) / campaign.couponValueFen;
}
