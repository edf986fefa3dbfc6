import { connect } from 'node:net';
import { describeIfRedis } from '@coupons/testing';
import {
  checkAnswer,
  exchange,
  formatReport,
  runHttpFuzz,
  serialize,
  type FuzzRequest,
} from './fuzz/httpFuzz';
import { startFuzzService, type FuzzService } from './fuzz/world';
import {
  couponApi,
  KEYS,
  standaloneRedisDbUrl,
  uniqueId,
  until,
  type TestService,
} from './support';

/**
 * The HTTP fuzzer's short run (test/fuzz/httpFuzz.ts says what it generates and what must hold):
 * FUZZ_RUNS requests (2,000 by default) against the real service on the harness's standalone
 * Redis, in a database of its own. `npm run fuzz` runs the same property longer, outside jest.
 * FUZZ_SEED replays a run.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const REDIS_DB = 12;

/** Everything the server sends on one connection until it closes it (or `ms` pass). */
function readAll(port: number, bytes: string, ms = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

/** A request in the fuzzer's terms, so its contract check (checkAnswer) applies. */
function plainRequest(method: string, target: string, headers: [string, string][]): FuzzRequest {
  return {
    method,
    target,
    version: 'HTTP/1.1',
    headers,
    body: '',
    encoding: 'identity',
    framing: { kind: 'none' },
  };
}

describeIfRedis('the HTTP API under generated requests', () => {
  let fuzz: FuzzService;

  beforeAll(async () => {
    fuzz = await startFuzzService(standaloneRedisDbUrl(REDIS_DB));
  });
  afterAll(async () => {
    await fuzz?.stop();
  });

  it(
    `answers ${RUNS} generated requests by the contract, and no refusal changes Redis`,
    async () => {
      const report = await runHttpFuzz(fuzz.world, fuzz.redis, {
        numRuns: RUNS,
        idle: fuzz.idle,
        ...(SEED === undefined ? {} : { seed: SEED }),
      });
      process.stdout.write(`${formatReport(report, { outcomes: 12 })}\n`);
      if (report.failure !== undefined) throw new Error(formatReport(report));
      expect(report.requests).toBeGreaterThanOrEqual(RUNS);
    },
    // About 10 ms a request; generous for a busy machine, and for shrinking a failure.
    60_000 + RUNS * 50,
  );

  /**
   * Defects the fuzzer found, each pinned by the smallest request that shows it. The property
   * above does not generate the last four (they would fail it every run); the first two it
   * meets only by chance, since it needs a request that changes the ledger.
   */
  describe('what the fuzzer found', () => {
    // Without the per-key limit (off by default), admission is synchronous: node hands the
    // request over, the route starts its ledger call, then node refuses what follows, every
    // time. With the limit on, the same happens whenever its Redis check wins the race.
    let found: FuzzService;
    beforeAll(async () => {
      found = await startFuzzService(standaloneRedisDbUrl(REDIS_DB), { API_KEY_RATE_LIMIT: 'off' });
    });
    afterAll(async () => {
      await found?.stop();
    });
    const campaignPath = () => `/v1/campaigns/${found.world.campaignId}`;
    const api = () => couponApi(found.service, found.world.campaignId);
    const idle = () => until('the service idle', () => found.idle() || undefined);

    async function redeemedCoupon(name: string): Promise<{ user: string; code: string }> {
      const user = uniqueId(name);
      const claimed = await api().claim(user, `${name}-claim`);
      expect(claimed.status).toBe(201);
      const code = claimed.body.coupon.code as string;
      const redeemed = await api().redeem(code, {
        userId: user,
        orderId: `${name}-order`,
        orderAmountFen: 5_000,
      });
      expect(redeemed.status).toBe(201);
      return { user, code };
    }

    it('a request node refuses after handing it over is not carried out: a reversal with Transfer-Encoding: ! answered 400 leaves the redemption', async () => {
      const { user, code } = await redeemedCoupon('te');
      const outcome = await exchange(
        found.world.port,
        Buffer.from(
          `DELETE ${campaignPath()}/coupons/${code}/redemptions/te-order?userId=${user} HTTP/1.1\r\n` +
            `Host: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.all}\r\nTransfer-Encoding: !\r\n\r\n`,
        ),
        { head: false, timeoutMs: 3_000 },
      );
      await idle();
      const after = await api().read(code, user);
      // What the caller was told, and what was done: a 400 must leave the redemption in place.
      expect(outcome.kind === 'answer' && outcome.status).toBe(400);
      expect(after.body.coupon.status).toBe('redeemed');
    });

    it('a claim followed on its connection by bytes node cannot parse is answered for what it did: a coupon issued is answered 201', async () => {
      const user = uniqueId('pipelined');
      const body = JSON.stringify({ userId: user });
      const text = await readAll(
        found.world.port,
        `POST ${campaignPath()}/coupons HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.all}\r\n` +
          `Content-Type: application/json\r\nIdempotency-Key: pipelined-1\r\nContent-Length: ${body.length}\r\n\r\n` +
          `${body}\x00not http\r\n\r\n`,
      );
      await idle();
      const answered = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
      // The same claim again: a replay when the first one issued a coupon.
      const again = await api().claim(user, 'pipelined-1');
      const issued = again.headers.get('idempotent-replayed') === 'true';
      expect({ issued, answered }).toEqual({
        issued,
        answered: issued ? expect.arrayContaining([201]) : expect.any(Array),
      });
    });

    it('answers an Expect other than 100-continue in the contract’s JSON (node answers 417 with no body)', async () => {
      const request = plainRequest('GET', `${campaignPath()}/budget`, [
        ['Host', '127.0.0.1'],
        ['Authorization', `Bearer ${KEYS.all}`],
        ['Expect', 'something-else'],
      ]);
      const outcome = await exchange(found.world.port, serialize(request), {
        head: false,
        timeoutMs: 3_000,
      });
      checkAnswer(request, outcome);
    });

    it('answers an HTTP/1.1 request without Host in the contract’s JSON (node answers 400 with no body)', async () => {
      const request = plainRequest('GET', `${campaignPath()}/budget`, [
        ['Authorization', `Bearer ${KEYS.all}`],
      ]);
      const outcome = await exchange(found.world.port, serialize(request), {
        head: false,
        timeoutMs: 3_000,
      });
      checkAnswer(request, outcome);
    });

    it('answers CONNECT in the contract’s JSON (node closes the connection without a word)', async () => {
      const request = plainRequest('CONNECT', '127.0.0.1:443', [['Host', '127.0.0.1:443']]);
      const outcome = await exchange(found.world.port, serialize(request), {
        head: false,
        timeoutMs: 3_000,
      });
      checkAnswer(request, outcome);
    });
  });

  describe('errors after the answer', () => {
    let service: TestService | undefined;
    let printed: jest.SpyInstance;
    let other: FuzzService;

    beforeAll(async () => {
      // Express prints what reaches its final handler to stderr unless NODE_ENV is "test", as it
      // is under jest: start one service as it runs in production.
      const before = process.env.NODE_ENV;
      process.env.NODE_ENV = 'production';
      try {
        other = await startFuzzService(standaloneRedisDbUrl(REDIS_DB));
        service = other.service;
      } finally {
        process.env.NODE_ENV = before;
      }
      printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    });
    afterAll(async () => {
      printed?.mockRestore();
      await other?.stop();
    });

    it('goes through the service’s logger, never printed raw to stderr: a compressed body cut short by the body timeout', async () => {
      const body = JSON.stringify({ userId: 'fz-alice' });
      const outcome = await exchange(
        service!.port,
        Buffer.from(
          `POST /v1/campaigns/${other.world.campaignId}/coupons HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Authorization: Bearer ${KEYS.all}\r\nContent-Type: application/json\r\nIdempotency-Key: cut\r\n` +
            `Content-Encoding: gzip\r\nContent-Length: ${body.length + 10}\r\n\r\n${body}`,
        ),
        { head: false, timeoutMs: 3_000 },
      );
      expect(outcome.kind === 'answer' && outcome.status).toBe(408);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(printed).not.toHaveBeenCalled();
    });
  });
});
