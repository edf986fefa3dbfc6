import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransportError, UndiciTransport } from '../src/transport';

/** A node:http server on loopback whose handler the test sets. */
async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const never = () => new AbortController().signal;

describe('UndiciTransport', () => {
  it('sends method, path, headers and body, and reads status, lower-case headers and body', async () => {
    let seen:
      { method?: string; url?: string; headers: Record<string, unknown>; body: string } | undefined;
    const { server, url } = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(201, { 'Content-Type': 'application/json', 'Idempotent-Replayed': 'true' });
        res.end('{"ok":true}');
      });
    });
    const transport = new UndiciTransport(url);
    try {
      const response = await transport.send(
        {
          method: 'POST',
          path: '/v1/campaigns/c/coupons',
          headers: { 'idempotency-key': 'k', 'content-type': 'application/json' },
          body: '{"userId":"u"}',
        },
        never(),
      );
      expect(response).toEqual({
        status: 201,
        headers: expect.objectContaining({ 'idempotent-replayed': 'true' }),
        body: '{"ok":true}',
      });
      expect(seen).toMatchObject({
        method: 'POST',
        url: '/v1/campaigns/c/coupons',
        headers: expect.objectContaining({ 'idempotency-key': 'k' }),
        body: '{"userId":"u"}',
      });
    } finally {
      await transport.close();
      await stop(server);
    }
  });

  it('calls a refused connection "connection": nothing was sent', async () => {
    const { server, url } = await serve(() => undefined);
    await stop(server);
    const transport = new UndiciTransport(url);
    try {
      const error = await transport
        .send({ method: 'GET', path: '/', headers: {} }, never())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransportError);
      expect(error).toMatchObject({ kind: 'connection' });
    } finally {
      await transport.close();
    }
  });

  it('calls a connection closed after the request "no_answer": it may have been carried out', async () => {
    const { server, url } = await serve((req) => req.socket.destroy());
    const transport = new UndiciTransport(url);
    try {
      const error = await transport
        .send({ method: 'POST', path: '/', headers: {}, body: '{}' }, never())
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'no_answer' });
    } finally {
      await transport.close();
      await stop(server);
    }
  });

  it('ends with the signal’s reason when it aborts', async () => {
    const { server, url } = await serve(() => undefined); // never answers
    const transport = new UndiciTransport(url);
    const controller = new AbortController();
    const reason = new Error('deadline');
    try {
      const pending = transport.send({ method: 'GET', path: '/', headers: {} }, controller.signal);
      setImmediate(() => controller.abort(reason));
      await expect(pending).rejects.toBe(reason);
    } finally {
      await transport.close();
      await stop(server);
    }
  });

  it('does not read an answer larger than maxResponseBytes', async () => {
    const { server, url } = await serve((_req, res) => res.end('x'.repeat(2048)));
    const transport = new UndiciTransport(url, {
      connections: 1,
      keepAliveTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      maxResponseBytes: 1024,
    });
    try {
      await expect(
        transport.send({ method: 'GET', path: '/', headers: {} }, never()),
      ).rejects.toMatchObject({
        kind: 'no_answer',
      });
    } finally {
      await transport.close();
      await stop(server);
    }
  });

  it('refuses a base URL with a path', () => {
    expect(() => new UndiciTransport('http://127.0.0.1:1/api')).toThrow(RangeError);
  });
});
