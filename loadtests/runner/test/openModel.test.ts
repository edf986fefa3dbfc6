import { createServer, type AddressInfo } from 'node:net';
import { runOpenModel, type OpenModelOptions, type RequestSpec } from '../src';
import { answerAfter, loopbackFrame, startLoopbackServer, startSlowServer } from './loopbackServer';

// Real HTTP on loopback against node:http servers started here. Bounds are loose enough for a
// busy 2-core machine, and each one fails when the behaviour its test names is broken.

const get = (path: string): RequestSpec => ({ method: 'GET', path });
const root = get('/');

/** An open-model run against `target` that GETs / unless `options` says what to send. */
const runAgainst = (target: { baseUrl: string }, options: Partial<OpenModelOptions>) =>
  runOpenModel({ baseUrl: target.baseUrl, makeRequest: () => root, ...options });

loopbackFrame();

function countBetween(times: number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length;
}

describe('runOpenModel', () => {
  it('keeps the schedule when the server is slow: 200/s for 1 s sends 200 requests over 1 s', async () => {
    const server = await startSlowServer(300);

    const report = await runAgainst(server, {
      ratePerSecond: 200,
      durationMs: 1000,
    });

    // A generator that waited for answers would have sent a few, or a burst of `connections`.
    expect(server.arrivals).toHaveLength(200);
    const first = server.arrivals[0]!;
    expect(countBetween(server.arrivals, first, first + 500)).toBeGreaterThanOrEqual(85);
    expect(countBetween(server.arrivals, first, first + 500)).toBeLessThanOrEqual(115);
    expect(server.arrivals.at(-1)! - first).toBeGreaterThan(900);
    expect(server.arrivals.at(-1)! - first).toBeLessThan(1200);
    expect(report).toMatchObject({ mode: 'open', sent: 200, served: 200, timeouts: 0 });
    expect(report.offeredRate).toBeGreaterThan(180);
    expect(report.servedLatencyMs.p50).toBeGreaterThanOrEqual(299);
    expect(report.durationMs).toBeGreaterThanOrEqual(1000);
  });

  it('survives connections that fail to open while requests wait for one, counting errors', async () => {
    // Nothing listens on this port: every connect is refused while the others queue behind the
    // two connections. Handing a failed connection straight back crashed the process in undici.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const report = await runAgainst(
      { baseUrl: `http://127.0.0.1:${port}` },
      {
        ratePerSecond: 400,
        durationMs: 500,
        connections: 2,
        timeoutMs: 1000,
      },
    );
    expect(report.sent).toBe(200);
    expect(report.served).toBe(0);
    expect(report.errors + report.timeouts).toBe(200);
    expect(report.errors).toBeGreaterThan(0);
  });

  it('counts a request queued for a connection past its timeout as a timeout (connections: 1)', async () => {
    const server = await startSlowServer(200);

    // 10 requests 10 ms apart on one connection: only the first is answered within 300 ms of its
    // scheduled time. A clock started at the socket would let every one of them be "served".
    const report = await runAgainst(server, {
      ratePerSecond: 100,
      durationMs: 100,
      connections: 1,
      timeoutMs: 300,
    });

    expect(report).toMatchObject({ sent: 10, served: 1, timeouts: 9, errors: 0 });
    expect(report.waitedForConnection).toBe(9);
  });

  it('measures latency from the scheduled time, so the wait for a connection is included', async () => {
    const server = await startSlowServer(50);

    // 5 requests in the first 5 ms, one connection, 50 ms each: answers at about 50, 100, ... 250.
    const report = await runAgainst(server, {
      ratePerSecond: 1000,
      durationMs: 5,
      connections: 1,
    });

    expect(report).toMatchObject({ sent: 5, served: 5, timeouts: 0 });
    expect(report.servedLatencyMs.p50).toBeGreaterThanOrEqual(140);
    expect(report.servedLatencyMs.max).toBeGreaterThanOrEqual(240);
  });

  it('sends what is left of each deadline in X-Request-Timeout-Ms, the wait for a connection taken off', async () => {
    const told: number[] = [];
    const server = await startLoopbackServer((request, response) => {
      told.push(Number(request.headers['x-request-timeout-ms']));
      answerAfter(response, 100);
    });

    // 3 requests at once, one connection, 100 ms each: the second waits ~100 ms, the third ~200.
    const report = await runAgainst(server, {
      ratePerSecond: 1000,
      durationMs: 3,
      connections: 1,
      timeoutMs: 1000,
    });

    expect(report).toMatchObject({ sent: 3, served: 3 });
    expect(told).toHaveLength(3);
    const [first, second, third] = told as [number, number, number];
    expect(first).toBeGreaterThan(950);
    expect(first).toBeLessThanOrEqual(1000);
    expect(first - second).toBeGreaterThanOrEqual(90);
    expect(second - third).toBeGreaterThanOrEqual(90);
  });

  it('counts 429/503 with Retry-After as shed, without it as other statuses, and resets as errors', async () => {
    const server = await startLoopbackServer((request, response) => {
      const [status, retryAfter] = request.url!.slice(1).split('/');
      if (status === 'reset') {
        request.socket.destroy();
        return;
      }
      if (retryAfter !== undefined) response.setHeader('Retry-After', retryAfter);
      response.statusCode = Number(status);
      response.end('{}');
    });
    const paths = ['/200', '/429/1', '/503/2', '/429', '/503', '/404', '/reset'];

    const report = await runAgainst(server, {
      ratePerSecond: 350,
      durationMs: 100,
      makeRequest: (i) => get(paths[i % paths.length]!),
    });

    expect(report).toMatchObject({
      sent: 35,
      served: 5,
      shed: 10,
      otherStatus: { '404': 5, '429': 5, '503': 5 },
      errors: 5,
      timeouts: 0,
    });
    expect(report.servedLatencyMs.count).toBe(5);
    expect(report.shedLatencyMs.count).toBe(10);
  });

  it('reports latency percentiles of a server with known delays', async () => {
    const server = await startLoopbackServer((request, response) =>
      answerAfter(response, Number(request.url!.slice('/delay/'.length))),
    );
    // 60% answer in 20 ms, 35% in 60 ms, 5% in 150 ms: p50, p90 and p99 each fall inside one group.
    const delayOf = (i: number): number => (i % 20 < 12 ? 20 : i % 20 < 19 ? 60 : 150);

    const report = await runAgainst(server, {
      ratePerSecond: 100,
      durationMs: 2000,
      makeRequest: (i) => get(`/delay/${delayOf(i)}`),
    });

    expect(report).toMatchObject({ sent: 200, served: 200 });
    const latency = report.servedLatencyMs;
    expect(latency.p50).toBeGreaterThanOrEqual(19.5);
    expect(latency.p50).toBeLessThan(45);
    expect(latency.p90).toBeGreaterThanOrEqual(59.5);
    expect(latency.p90).toBeLessThan(100);
    expect(latency.p99).toBeGreaterThanOrEqual(149.5);
    expect(latency.p99).toBeLessThan(200);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p99);
  });

  it('follows a linear ramp: 0 to 400/s over 1 s sends a quarter in the first half', async () => {
    const server = await startLoopbackServer((_request, response) => response.end('ok'));

    const report = await runAgainst(server, {
      stages: [{ durationMs: 1000, targetRate: 400 }],
    });

    // The area under the ramp: 50 arrivals in the first 500 ms, 150 in the second.
    expect(report.sent).toBe(200);
    const first = server.arrivals[0]!;
    expect(countBetween(server.arrivals, first, first + 500)).toBeGreaterThanOrEqual(35);
    expect(countBetween(server.arrivals, first, first + 500)).toBeLessThanOrEqual(65);
    expect(countBetween(server.arrivals, first + 250, first + 500)).toBeGreaterThan(
      countBetween(server.arrivals, first, first + 250),
    );
  });

  it('sends follow-ups that onResponse asks for with the same request, and refuses any past the end', async () => {
    const seen = new Map<string, number>();
    const server = await startLoopbackServer((request, response) => {
      const attempts = (seen.get(request.url!) ?? 0) + 1;
      seen.set(request.url!, attempts);
      response.statusCode = attempts === 1 ? 503 : 201;
      if (attempts === 1) response.setHeader('Retry-After', '1');
      response.end(JSON.stringify({ attempts }));
    });
    const bodies: string[] = [];
    const refused: boolean[] = [];

    // 20 claims in the first 200 ms, then 300 ms of nothing in which follow-ups may still fall.
    const report = await runAgainst(server, {
      startRate: 100,
      stages: [
        { durationMs: 200, targetRate: 100 },
        { durationMs: 0, targetRate: 0 },
        { durationMs: 300, targetRate: 0 },
      ],
      makeRequest: (i) => get(`/claim/${i}`),
      onResponse: (_i, status, headers, body, retry) => {
        bodies.push(body);
        if (status === 503) {
          expect(headers['retry-after']).toBe('1');
          expect(retry(5)).toBe(true);
        } else {
          refused.push(retry(60_000));
        }
      },
    });

    expect(report).toMatchObject({ sent: 40, served: 20, shed: 20, followUps: 20 });
    expect([...seen.values()]).toEqual(Array(20).fill(2));
    expect(bodies.filter((body) => body === '{"attempts":2}')).toHaveLength(20);
    expect(refused).toEqual(Array(20).fill(false));
  });

  it("hands onResponse each answer's latency from its scheduled time", async () => {
    const server = await startLoopbackServer((_request, response) => {
      setTimeout(() => response.end('ok'), 40);
    });
    const latencies: number[] = [];
    await runAgainst(server, {
      ratePerSecond: 50,
      durationMs: 200,
      makeRequest: () => get('/slow'),
      onResponse: (_i, _status, _headers, _body, _retry, latencyMs) => latencies.push(latencyMs),
    });
    expect(latencies).toHaveLength(10);
    for (const ms of latencies) {
      expect(ms).toBeGreaterThanOrEqual(40);
      expect(ms).toBeLessThan(2000);
    }
  });

  it('stops scheduling when its signal aborts', async () => {
    const server = await startLoopbackServer((_request, response) => response.end('ok'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);

    const report = await runAgainst(server, {
      ratePerSecond: 100,
      durationMs: 10_000,
      signal: controller.signal,
    });

    expect(report.sent).toBeGreaterThan(10);
    expect(report.sent).toBeLessThan(40);
    expect(report.durationMs).toBeLessThan(1000);
  });
});
