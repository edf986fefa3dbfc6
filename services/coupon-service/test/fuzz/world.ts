import { Redis } from 'ioredis';
import {
  couponApi,
  liveCampaign,
  startTestService,
  uniqueId,
  waitUntilReady,
  type TestService,
  QUIET_GUARD_ENV,
} from '../support';
import type { FuzzWorld } from './httpFuzz';

/**
 * The service the fuzzer attacks: real HTTP server, real Redis (`redisUrl`, a database nothing
 * else writes), short body and request timeouts so requests that announce more than they send
 * end quickly, both rate limiters on (their keys are part of the state a refusal must not
 * touch), and a campaign with users who hold coupons, one redeemed and one redeemed then
 * reversed, so generated requests reach every ledger outcome.
 */
const FUZZ_ENV = {
  ...QUIET_GUARD_ENV,
  BODY_TIMEOUT_MS: '200',
  HTTP_REQUEST_TIMEOUT_MS: '2000',
  USER_RATE_LIMIT: '200/60',
  API_KEY_RATE_LIMIT: '1000000/60',
} as const;

export interface FuzzService {
  service: TestService;
  redis: Redis;
  world: FuzzWorld;
  /** No admitted request in progress, no rate-limit check waiting on Redis. */
  idle(): boolean;
  stop(): Promise<void>;
}

export async function startFuzzService(
  redisUrl: string,
  /** Environment over FUZZ_ENV's. */
  env: Record<string, string> = {},
): Promise<FuzzService> {
  const campaign = liveCampaign(uniqueId('fuzz'), {
    coupons: 1_000_000,
    minOrderFen: 1_000,
    perUser: { daily: 3, total: 5 },
    shards: 4,
  });
  const service = await startTestService({
    redisUrl,
    clock: 'redis',
    campaigns: [campaign],
    env: { ...FUZZ_ENV, ...env },
  });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await waitUntilReady(service);
    await service.ledgers.get(campaign.id)!.init({ neverIssued: true });
    const api = couponApi(service, campaign.id);
    const users = ['fz-alice', 'fz-bob', 'fz-carol', 'fz-dave', 'fz-erin', 'fz-frank'];
    const codes: string[] = [];
    for (const user of users) {
      const claimed = await api.claim(user, `setup-${user}`);
      if (claimed.status !== 201) throw new Error(`setup claim: ${claimed.status}`);
      codes.push(claimed.body.coupon.code as string);
    }
    const orderIds = ['fz-order-1', 'fz-order-2', 'fz-order-reversed'];
    const redeemed = await api.redeem(codes[0]!, {
      userId: users[0]!,
      orderId: orderIds[0]!,
      orderAmountFen: 5_000,
    });
    const toReverse = await api.redeem(codes[1]!, {
      userId: users[1]!,
      orderId: orderIds[2]!,
      orderAmountFen: 5_000,
    });
    const reversed = await api.reverse(codes[1]!, orderIds[2]!, users[1]!);
    if ([redeemed.status, toReverse.status, reversed.status].join() !== '201,201,200')
      throw new Error('setup redemptions failed');
    return {
      service,
      redis,
      world: { port: service.port, campaignId: campaign.id, users, codes, orderIds },
      idle: () => {
        const reading = service.admission.reading();
        const inflight = Object.values(reading.inflight).reduce((sum, n) => sum + n, 0);
        return inflight === 0 && reading.limitChecksPending === 0;
      },
      stop: async () => {
        await service.stop();
        redis.disconnect();
      },
    };
  } catch (err) {
    await service.stop();
    redis.disconnect();
    throw err;
  }
}
