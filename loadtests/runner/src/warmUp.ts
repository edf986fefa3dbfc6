import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startClosedLoop } from './closedLoop';
import { startOpenModel } from './openModel';

const WARM_UP_MS = 250;
let warmedUp: Promise<void> | null = null;

/**
 * Runs the generator against a throwaway loopback server in this process, once per process. Cold,
 * its first half second (JIT, llhttp's WebAssembly, lazily loaded modules) stalls the schedule
 * by 100 ms and more at 2,000/s, which would be charged to the server under test.
 */
export function warmUpGenerator(): Promise<void> {
  warmedUp ??= warmUp();
  return warmedUp;
}

async function warmUp(): Promise<void> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end('{"warm":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await startClosedLoop({
      baseUrl,
      concurrency: 8,
      durationMs: WARM_UP_MS,
      makeRequest: () => ({
        method: 'POST',
        path: '/warm-up',
        headers: { 'content-type': 'application/json' },
        body: '{"userId":"warm-up"}',
      }),
    });
    await startOpenModel({
      baseUrl,
      ratePerSecond: 2000,
      durationMs: WARM_UP_MS,
      makeRequest: () => ({ method: 'GET', path: '/warm-up' }),
      onResponse: () => {},
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
