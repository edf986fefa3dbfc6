import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Serves handler on 127.0.0.1:$PORT (0: any free port) with node's defaults, as `app.listen` does,
 * and prints "listening <port>" once, the line the bench waits for. SIGTERM exits at once: the
 * bench has stopped sending by then, and nothing here holds state worth draining.
 */
export function listen(handler: RequestListener, beforeExit?: () => void): void {
  const server = createServer(handler);
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
  process.once('SIGTERM', () => {
    beforeExit?.();
    process.exit(0);
  });
}

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === '') throw new Error('REDIS_URL is required');
  return url;
}
