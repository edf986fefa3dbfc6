import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { isErrorCode } from '@coupons/contract';
import { CouponClient } from '../src/client';
import { CouponClientError } from '../src/errors';
import { claimMessage } from '../src/messages';
import { COUPON } from './support';

/**
 * The undici transport against a socket that writes whatever it likes: a status line or none,
 * headers of every kind, a body longer or shorter than it says, chunked framing broken, the
 * connection closed midway. The client still ends every claim in an outcome or a documented error.
 */

const RUNS = Number(process.env.CLIENT_SOCKET_RUNS ?? 300);

const CRLF = '\r\n';
const goodBody = JSON.stringify({ coupon: COUPON });

const statusLine = fc.oneof(
  fc.constantFrom(200, 201, 409, 503, 204, 304, 101, 999).map((s) => `HTTP/1.1 ${s} X`),
  fc.constantFrom('HTTP/1.1 201', 'HTTP/1.0 201 Created', 'HTTP/2 201', 'SMTP 220 hi', ''),
  fc.string({ maxLength: 40 }),
);

const header = fc.oneof(
  fc.constantFrom(
    'Content-Type: application/json',
    'Retry-After: 999999999',
    'Retry-After: soon',
    'Idempotent-Replayed: true',
    'Transfer-Encoding: chunked',
    'Content-Length: 5',
    'Content-Length: 99999',
    'Content-Length: -1',
    'Content-Length: 5, 6',
    'Connection: close',
    'X: \u0001',
    'no colon',
  ),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }))
    .map(([k, v]) => `${k}: ${v}`),
);

const body = fc.oneof(
  fc.constant(goodBody),
  fc.constant(`5${CRLF}{"cou${CRLF}zz${CRLF}`),
  fc.string({ maxLength: 200 }),
  fc.constant(''),
);

/** The raw bytes of one answer, and whether the server closes after writing them. */
const raw = fc.record({
  status: statusLine,
  headers: fc.array(header, { maxLength: 6 }),
  body,
  close: fc.boolean(),
  cutAt: fc.option(fc.nat(400), { nil: undefined }),
});

type Raw = typeof raw extends fc.Arbitrary<infer T> ? T : never;

describe('the client against a socket that writes anything', () => {
  let server: Server;
  let next: Raw | undefined;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.once('data', () => {
        const answer = next;
        if (answer === undefined) return void socket.destroy();
        const text = [answer.status, ...answer.headers, '', answer.body].join(CRLF);
        const bytes = answer.cutAt === undefined ? text : text.slice(0, answer.cutAt);
        socket.write(bytes);
        if (answer.close || answer.cutAt !== undefined) socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it(`ends every claim in an outcome or a documented error (${RUNS} answers)`, async () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await fc.assert(
      fc.asyncProperty(raw, async (answer) => {
        next = answer;
        // One attempt, a short deadline: an answer that never completes ends at the deadline.
        const client = new CouponClient({
          baseUrl: `http://127.0.0.1:${address.port}`,
          apiKey: 'key-1',
          maxAttempts: 1,
          deadlineMs: 300,
          throttle: false,
        });
        try {
          const outcome = await client.claim({ campaignId: 'spring', userId: 'alice' });
          if (outcome.kind === 'issued' || outcome.kind === 'replayed')
            expect(outcome.coupon).toMatchObject({ userId: 'alice', campaignId: 'spring' });
          expect(typeof claimMessage(outcome, { locale: 'en', timeZone: 'UTC' })).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(CouponClientError);
          expect(isErrorCode((err as CouponClientError).code)).toBe(true);
        } finally {
          await client.close();
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
