import { connect, type Socket } from 'node:net';
import { METRICS_MAX_CONNECTIONS } from '@coupons/runtime';
import { Registry } from 'prom-client';
import { startMetricsServer } from '../src';

/** Everything the server sends on one raw connection until it closes it (or `waitMs` passes). */
function exchange(port: number, bytes: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, waitMs);
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(bytes);
  });
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe("the recorder's metrics port, hardened as the service's", () => {
  let server: Awaited<ReturnType<typeof startMetricsServer>>;
  beforeAll(async () => {
    server = await startMetricsServer({
      registry: new Registry(),
      host: '127.0.0.1',
      port: 0,
      ready: () => true,
      requestTimeoutMs: 300,
    });
  });
  afterAll(async () => {
    server.server.closeAllConnections();
    await new Promise((resolve) => server.server.close(resolve));
  });

  it('answers what it does not serve, and what node refuses, as JSON', async () => {
    const notFound = await exchange(
      server.port,
      'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(notFound).toMatch(/^HTTP\/1\.1 404 /);
    expect(bodyOf(notFound)).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    const post = await exchange(
      server.port,
      'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expect(post).toMatch(/^HTTP\/1\.1 405 /);
    expect(post).toMatch(/\r\nallow: GET, HEAD\r\n/i);
    expect(bodyOf(post).error.code).toBe('METHOD_NOT_ALLOWED');
    const garbage = await exchange(server.port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(garbage).error.code).toBe('INVALID_REQUEST');
    const huge = await exchange(
      server.port,
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(huge).error.code).toBe('HEADERS_TOO_LARGE');
  });

  it('closes a half-sent request after its request timeout with a JSON 408', async () => {
    const started = Date.now();
    const answer = await exchange(server.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', 10_000);
    // The timeout (300 ms) is checked once a second: never the ~70 s of node's defaults.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(answer).error.code).toBe('REQUEST_TIMEOUT');
  });

  it('holds at most its connection cap, closing the ones past it at once', async () => {
    const sockets: Socket[] = [];
    const closedEarly: number[] = [];
    try {
      await Promise.all(
        Array.from(
          { length: METRICS_MAX_CONNECTIONS + 16 },
          (_, i) =>
            new Promise<void>((resolve) => {
              const socket = connect(server.port, '127.0.0.1', () => resolve());
              socket.on('error', () => undefined);
              socket.on('close', () => closedEarly.push(i));
              sockets.push(socket);
            }),
        ),
      );
      const deadline = Date.now() + 3000;
      while (closedEarly.length < 16 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(closedEarly.length).toBe(16);
      expect(server.server.listenerCount('request')).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});
