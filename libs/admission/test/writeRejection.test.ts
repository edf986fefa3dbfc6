import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdmissionGate, ConcurrencyLimit, TokenBucket, writeAnswer, type Decision } from '../src';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusedSocket: boolean;
}

function post(port: number, agent: Agent, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        port,
        agent,
        method: 'POST',
        path: '/v1/campaigns/c1/coupons',
        headers: { 'content-type': 'application/json', 'x-user-id': 'u1' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('writeAnswer of a shed answer on a raw node:http server', () => {
  let server: Server;
  let port: number;
  let gate: AdmissionGate;
  const passedOn: string[] = [];

  beforeAll(async () => {
    gate = new AdmissionGate({
      concurrency: new ConcurrencyLimit(),
      tokenBucket: new TokenBucket({ ratePerSecond: 0.001, burst: 1 }),
    });
    server = createServer((req, res) => {
      const handle = (d: Decision) => {
        if (!d.admitted) return writeAnswer(res, d);
        passedOn.push(d.priority); // where express would take over
        d.permit.release();
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      };
      const decision = gate.admit({ priority: 'claim', headers: req.headers });
      if (decision instanceof Promise) void decision.then(handle);
      else handle(decision);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers shed requests with the fixed body on the same keep-alive connection, unread bodies and all', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = JSON.stringify({ userId: 'u1', pad: 'x'.repeat(4000) });
      const first = await post(port, agent, body);
      expect(first.status).toBe(201);
      for (let i = 0; i < 3; i++) {
        const shed = await post(port, agent, body);
        expect(shed.status).toBe(503);
        expect(shed.reusedSocket).toBe(true);
        expect(shed.headers['content-type']).toBe('application/json');
        expect(shed.headers['cache-control']).toBe('no-store');
        expect(shed.headers.connection).toBe('keep-alive');
        const error = (JSON.parse(shed.body) as { error: Record<string, unknown> }).error;
        expect(error).toEqual({
          code: 'OVERLOADED',
          message: expect.any(String),
          retryAfterSeconds: Number(shed.headers['retry-after']),
        });
      }
      expect(passedOn).toEqual(['claim']);

      gate.startDraining();
      const draining = await post(port, agent, body);
      expect(draining.status).toBe(503);
      expect(draining.headers.connection).toBe('close');
      expect(JSON.parse(draining.body)).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    } finally {
      agent.destroy();
    }
  });
});
