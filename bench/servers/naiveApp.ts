import { randomBytes } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';

export const BUDGET_KEY = 'naive:budget:fen';
const COUPON_VALUE_FEN = 2500;
/** Far more than any bench run issues: the twins measure throughput, not exhaustion. */
const BUDGET_FEN = COUPON_VALUE_FEN * 1_000_000_000;

// One debit per claim, checks before the write: the whole money logic of a service without admission control.
const DEBIT_LUA = `
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left < tonumber(ARGV[1]) then return -1 end
return redis.call('DECRBY', KEYS[1], ARGV[1])
`;

type Debit = (key: string, valueFen: number) => Promise<number>;

/**
 * The naive twin: express + express.json + ioredis + one Lua debit, and nothing else (no
 * admission, no auth, no idempotency, no per-user limit). `protection` runs before everything
 * else, which is where the protected twin puts toobusy-js and express-rate-limit.
 */
export async function naiveApp(redis: Redis, protection: RequestHandler[] = []): Promise<Express> {
  redis.defineCommand('naiveDebit', { numberOfKeys: 1, lua: DEBIT_LUA });
  const debit = (redis as unknown as { naiveDebit: Debit }).naiveDebit.bind(redis);
  await redis.set(BUDGET_KEY, BUDGET_FEN, 'NX');

  const app = express(); // express's defaults (ETag, X-Powered-By), as a service built in a hurry runs it
  if (protection.length > 0) app.use(...protection);
  app.use(express.json());
  app.post('/v1/campaigns/:campaignId/coupons', async (req, res) => {
    const userId: unknown = (req.body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId !== 'string') {
      res.status(400).json({ error: { code: 'INVALID_REQUEST', message: 'userId is required' } });
      return;
    }
    const left = await debit(BUDGET_KEY, COUPON_VALUE_FEN);
    if (left < 0) {
      res.status(410).json({ error: { code: 'CAMPAIGN_BUDGET_EXHAUSTED', message: 'sold out' } });
      return;
    }
    res.status(201).json({
      coupon: {
        code: randomBytes(10).toString('hex'),
        campaignId: req.params.campaignId,
        userId,
        valueFen: COUPON_VALUE_FEN,
        currency: 'CNY',
        status: 'issued',
        issuedAt: new Date().toISOString(),
      },
    });
  });
  return app;
}
