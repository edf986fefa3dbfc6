import { performance } from 'node:perf_hooks';
import { runClosedLoop, type ClosedLoopOptions, type RequestSpec } from '../src';
import { answerAfter, loopbackFrame, startLoopbackServer, startSlowServer } from './loopbackServer';

const root: RequestSpec = { method: 'GET', path: '/' };
/** A closed-loop run against `target`, every request a GET /. */
const runAgainst = (
  target: { baseUrl: string },
  options: Omit<ClosedLoopOptions, 'baseUrl' | 'makeRequest'>,
) => runClosedLoop({ baseUrl: target.baseUrl, makeRequest: () => root, ...options });

loopbackFrame();

describe('runClosedLoop', () => {
  it('keeps exactly `concurrency` requests in flight and leaves the warm-up out', async () => {
    const server = await startSlowServer(30);
    const started = performance.now();
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const at = performance.now() - started;
      if (at > 60 && at < 1000) samples.push(server.inFlight);
    }, 2);

    const report = await runAgainst(server, {
      concurrency: 8,
      warmupMs: 150,
      durationMs: 900,
    }).finally(() => clearInterval(sampler));

    // Never more than 8 at the server, and 8 nearly all the time: a worker is only away between
    // an answer and its next request.
    expect(server.maxInFlight).toBe(8);
    expect(samples.length).toBeGreaterThan(100);
    expect(samples.filter((n) => n === 8).length / samples.length).toBeGreaterThan(0.75);
    expect(samples.reduce((sum, n) => sum + n, 0) / samples.length).toBeGreaterThan(7.3);
    // 8 workers at 30 ms: at most 8 * 900 / 30 = 240 answers in the window (plus the last round).
    expect(report.mode).toBe('closed');
    expect(report.served).toBeGreaterThan(120);
    expect(report.served).toBeLessThanOrEqual(248);
    expect(report.sent).toBe(report.served);
    expect(report.throughputPerSecond).toBeCloseTo(report.served / 0.9, 6);
    // The warm-up's requests reached the server but are not in the report.
    expect(server.arrivals.length - report.sent).toBeGreaterThanOrEqual(20);
  });

  it('counts a request without an answer within the timeout as a timeout and goes on', async () => {
    let calls = 0;
    const server = await startLoopbackServer((_request, response) => {
      calls += 1;
      // every other request hangs
      if (calls % 2 === 0) answerAfter(response, 5);
    });

    const report = await runAgainst(server, {
      concurrency: 2,
      durationMs: 400,
      timeoutMs: 100,
    });

    expect(report.timeouts).toBeGreaterThanOrEqual(3);
    expect(report.served).toBeGreaterThanOrEqual(3);
    expect(report.sent).toBe(report.served + report.timeouts);
  });
});
