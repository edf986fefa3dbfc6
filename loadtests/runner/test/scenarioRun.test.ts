import type { IncomingMessage } from 'node:http';
import { formatScenarioResult, runScenario, type ScenarioOptions } from '../src';
import { loopbackFrame, startLoopbackServer, type LoopbackServer } from './loopbackServer';

// A stand-in for the coupon service on loopback: the contract's statuses and bodies, nothing else.

let server: LoopbackServer | undefined;

loopbackFrame();

interface Claim {
  key: string;
  userId: string;
}

function claimOf(request: IncomingMessage, body: string): Claim {
  const { userId } = JSON.parse(body) as { userId: string };
  return { key: String(request.headers['idempotency-key']), userId };
}

const options = (url: string, scenario: ScenarioOptions['scenario']): ScenarioOptions => ({
  url,
  scenario,
  apiKey: 'test-key',
  campaign: 'c1',
  runId: 't1',
  durationScale: 0.01,
  timeoutMs: 1000,
  connections: 100,
  maxRetries: 3,
});

describe('runScenario', () => {
  it('retry storm: eager clients retry the same claim at once, polite ones wait for Retry-After', async () => {
    const attempts = new Map<string, string[]>();
    server = await startLoopbackServer((request, response, body) => {
      const claim = claimOf(request, body);
      expect(request.headers.authorization).toBe('Bearer test-key');
      expect(request.url).toBe('/v1/campaigns/c1/coupons');
      const seen = attempts.get(claim.key) ?? [];
      seen.push(claim.userId);
      attempts.set(claim.key, seen);
      response.setHeader('content-type', 'application/json');
      if (seen.length === 1) {
        response.statusCode = 503;
        response.setHeader('Retry-After', '1');
        response.end('{"error":{"code":"OVERLOADED","retryAfterSeconds":1}}');
      } else {
        response.statusCode = 201;
        response.end('{"coupon":{"valueFen":2500}}');
      }
    });

    // 100 ms ramp to 300/s, 600 ms at 300/s: 195 claims; Retry-After 1 s is past the end.
    const result = await runScenario({ ...options(server.baseUrl, 'retry-storm'), capacity: 100 });

    const { eager, polite } = result.retryStorm!;
    expect(eager.claims + polite.claims).toBe(195);
    // Eager clients retry at once and succeed, but for claims shed after the schedule's end (a
    // few, more on a busy machine).
    expect(eager.succeeded).toBeGreaterThan(eager.claims / 2);
    expect(eager.succeeded).toBe(eager.claims - eager.gaveUp);
    expect(eager.retries).toBe(eager.succeeded);
    expect(polite).toMatchObject({ succeeded: 0, retries: 0, gaveUp: polite.claims });
    // a retry is the same logical claim: same key, same user; every claim has its own user
    const retried = [...attempts.values()].filter((users) => users.length === 2);
    expect(retried).toHaveLength(eager.retries);
    expect(retried.every(([first, second]) => first === second)).toBe(true);
    expect(new Set([...attempts.values()].map((users) => users[0])).size).toBe(195);
    expect(result.report).toMatchObject({ sent: 195 + eager.retries, shed: 195 });
    expect(formatScenarioResult(result)).toContain(
      `eager clients (retry at once): ${eager.succeeded} of ${eager.claims} claims succeeded`,
    );
  });

  it('tranche exhaustion: counts issued coupons and exhaustion answers, and checks the budget', async () => {
    let issuedFen = 0;
    server = await startLoopbackServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      if (request.method === 'GET') {
        response.end(
          JSON.stringify({ releasedFen: 50_000, issuedFen, remainingFen: 50_000 - issuedFen }),
        );
        return;
      }
      if (issuedFen < 50_000) {
        issuedFen += 2500;
        response.statusCode = 201;
        response.end('{"coupon":{"valueFen":2500}}');
      } else {
        response.statusCode = 409;
        response.end('{"error":{"code":"TRANCHE_EXHAUSTED"}}');
      }
    });

    // 100/s for 60 s x 0.005: 30 claims for 20 coupons.
    const result = await runScenario({
      ...options(server.baseUrl, 'tranche-exhaustion'),
      rate: 100,
      durationScale: 0.005,
    });

    expect(result.trancheExhaustion).toMatchObject({
      issued: 20,
      issuedValueFen: 50_000,
      answers: { TRANCHE_EXHAUSTED: 10 },
      budgetBefore: { issuedFen: 0 },
      budgetAfter: { issuedFen: 50_000, remainingFen: 0 },
    });
    expect(formatScenarioResult(result)).toContain(
      "the ledger's issued total grew by exactly the 50000 fen",
    );
  });

  it('refuses a capacity-based scenario without --capacity', async () => {
    await expect(runScenario(options('http://127.0.0.1:9', 'flash-crowd'))).rejects.toThrow(
      /--capacity/,
    );
  });
});
