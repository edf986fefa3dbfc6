import { zonedDays } from '@coupons/campaign';
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
import { TcpProxy } from './tcpProxy';

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

/**
 * A campaign of one shard whose days release `perDay` coupons each in one slice, open from a
 * minute ago for 36 hours: sold out today after `perDay` claims, nothing more until tomorrow.
 */
export function oneSliceCampaign(name: string, perDay: number): CampaignInput {
  const now = Date.now();
  const window = { startsInMs: -60_000, endsInMs: 36 * 3_600_000 };
  const days = zonedDays(now + window.startsInMs, now + window.endsInMs, 'Asia/Shanghai').length;
  return liveCampaign(uniqueId(name), {
    ...window,
    now,
    coupons: perDay * days,
    slicesPerDay: 1,
    shards: 1,
  });
}

export type PodOptions = NonNullable<Parameters<typeof startPod>[1]>;

/** A describe block's pods and the proxy in front of them, there while its tests run. */
export interface Stack {
  /** The i-th pod (default the first). */
  pod(i?: number): TestService;
  proxy(): TcpProxy;
}

/**
 * Starts the block's pods before its tests (the first creates the ledgers unless told), and a
 * TCP proxy in front of the pods named by `proxied`; stops them all after its tests.
 */
export function stackFor(
  campaigns: CampaignInput[],
  options: { pods?: PodOptions[]; proxied?: number[] } = {},
): Stack {
  const pods: TestService[] = [];
  let proxy: TcpProxy | undefined;
  beforeAll(async () => {
    for (const [i, pod] of (options.pods ?? [{}]).entries())
      pods.push(await startPod(campaigns, { ...(i > 0 ? { initLedgers: false } : {}), ...pod }));
    if (options.proxied !== undefined)
      proxy = await TcpProxy.start(options.proxied.map((i) => pods[i]!.port));
  });
  afterAll(async () => {
    await proxy?.close();
    for (const pod of pods) await pod.stop();
  });
  return {
    pod: (i = 0) => pods[i] ?? fail(`pod ${i} is not running`),
    proxy: () => proxy ?? fail('no proxy in this stack'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}
