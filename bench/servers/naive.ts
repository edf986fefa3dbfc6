import { Redis } from 'ioredis';
import { listen, redisUrl } from './listen';
import { naiveApp } from './naiveApp';

async function main(): Promise<void> {
  const redis = new Redis(redisUrl());
  listen(await naiveApp(redis), () => redis.disconnect());
}

main().catch((err: unknown) => {
  process.stderr.write(`naive twin failed: ${String(err)}\n`);
  process.exit(1);
});
