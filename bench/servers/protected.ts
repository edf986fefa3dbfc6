import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { Redis } from 'ioredis';
import toobusy from 'toobusy-js';
import { listen, redisUrl } from './listen';
import { naiveApp } from './naiveApp';

/**
 * The naive twin behind the protection an express user reaches for, configured the way its
 * READMEs show, and placed first so a rejection skips body parsing and Redis:
 * - toobusy-js with its defaults (503 when the event loop lagged > 70 ms at the last 500 ms
 *   check), answering with Retry-After so a client can tell a shed answer from a fault;
 * - express-rate-limit with its in-memory store, one-second window, per-IP limit =
 *   RATE_LIMIT_PER_SECOND (the bench passes the naive twin's measured capacity; all load comes
 *   from one IP, as it would from one chat backend, so this is a global cap at capacity).
 */
const limitPerSecond = Number(process.env.RATE_LIMIT_PER_SECOND);
if (!Number.isSafeInteger(limitPerSecond) || limitPerSecond < 1)
  throw new Error('RATE_LIMIT_PER_SECOND must be a positive integer');

const tooBusy: RequestHandler = (_req, res, next) => {
  if (!toobusy()) {
    next();
    return;
  }
  res
    .status(503)
    .set('Retry-After', '1')
    .json({ error: { code: 'OVERLOADED', message: 'busy, try again', retryAfterSeconds: 1 } });
};

const limiter = rateLimit({
  windowMs: 1000,
  limit: limitPerSecond,
  standardHeaders: 'draft-8',
  legacyHeaders: false,
  message: { error: { code: 'RATE_LIMITED', message: 'too many requests' } },
});

async function main(): Promise<void> {
  const redis = new Redis(redisUrl());
  listen(await naiveApp(redis, [tooBusy, limiter]), () => {
    toobusy.shutdown();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`protected twin failed: ${String(err)}\n`);
  process.exit(1);
});
