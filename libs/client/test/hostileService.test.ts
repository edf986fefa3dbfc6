import fc from 'fast-check';
import { ERROR_CODES, ERROR_STATUS, isErrorCode } from '@coupons/contract';
import { CouponClient } from '../src/client';
import { CouponClientError } from '../src/errors';
import {
  claimMessage,
  couponMessage,
  redemptionMessage,
  reversalMessage,
  transientMessage,
  type MessageContext,
} from '../src/messages';
import type * as outcomes from '../src/outcomes';
import type { HttpResponse } from '../src/transport';
import {
  BUDGET,
  CAMPAIGN,
  COUPON,
  FakeTransport,
  lost,
  ManualClock,
  refused,
  seeded,
} from './support';

/**
 * The client against a service that answers anything: every status, every Retry-After, bodies
 * that are the contract's, almost the contract's, someone else's or garbage. Whatever comes back,
 * a call ends within its attempts and deadline in an outcome of its route (or a documented
 * error), no coupon of another user or campaign is taken, nothing is believed past the horizon,
 * and every message function says something.
 */

const HORIZON_MS = 6 * 3_600_000;
const DEADLINE_MS = 5_000;
const MAX_ATTEMPTS = 3;
const RUNS = Number(process.env.CLIENT_FUZZ_RUNS ?? 1_000);
const SEED =
  process.env.CLIENT_FUZZ_SEED === undefined ? undefined : Number(process.env.CLIENT_FUZZ_SEED);
const NOW = Date.parse('2026-02-10T12:30:00+08:00');

const KINDS = {
  claim: [
    'issued',
    'replayed',
    'sold_out',
    'user_limit',
    'not_started',
    'ended',
    'budget_exhausted',
  ],
  redeem: [
    'redeemed',
    'replayed',
    'already_redeemed',
    'order_reversed',
    'expired',
    'below_minimum',
    'order_already_discounted',
    'not_found',
  ],
  reverse: ['reversed', 'replayed', 'not_found'],
  coupon: ['found', 'not_found'],
  campaign: ['ok'],
  budget: ['ok'],
} as const;
type Op = keyof typeof KINDS;
const NOT_DONE = ['overloaded', 'rate_limited', 'unavailable', 'protocol'] as const;

/** The kinds a route's result has that its list above lacks: `never` when the list is whole. */
type Unlisted<R extends { kind: string }, L extends readonly string[]> = Exclude<
  R['kind'],
  L[number] | (typeof NOT_DONE)[number]
>;
// A new outcome in the client fails the type check here until the property expects it.
const listsAreWhole: [
  Unlisted<outcomes.ClaimResult, typeof KINDS.claim>,
  Unlisted<outcomes.RedeemResult, typeof KINDS.redeem>,
  Unlisted<outcomes.ReverseResult, typeof KINDS.reverse>,
  Unlisted<outcomes.CouponResult, typeof KINDS.coupon>,
  Unlisted<outcomes.CampaignResult, typeof KINDS.campaign>,
  Unlisted<outcomes.BudgetResult, typeof KINDS.budget>,
] extends [never, never, never, never, never, never]
  ? true
  : never = true;
void listsAreWhole;

/** A time as the service writes it, or one it should not write. */
const moment = fc.oneof(
  fc
    .integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 })
    .map((ms) => new Date(NOW + ms).toISOString()),
  fc.constantFrom(
    '2026-02-10T13:00:00+08:00',
    '9999-12-31T23:59:59+08:00',
    '0001-01-01T00:00:00Z',
    '2031-02-10T13:00:00+08:00',
    'soon',
    'tomorrow',
    '',
    '2026-02-30T25:61:00+08:00',
    '2026-02-10 13:00',
  ),
  fc.string(),
);

const number = fc.oneof(
  fc.integer({ min: -5, max: 100_000 }),
  fc.constantFrom(0, -1, 1e21, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.5),
  fc.double(),
);

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const coupon = fc.record({
  code: fc.oneof(fc.constant(COUPON.code), fc.string()),
  campaignId: fc.constantFrom('spring', 'spring', 'spring', 'autumn', ''),
  userId: fc.constantFrom('alice', 'alice', 'alice', 'mallory'),
  valueFen: fc.oneof(fc.constant(2500), number),
  currency: fc.constant('CNY'),
  status: fc.constantFrom('issued', 'redeemed', 'expired', 'lost'),
  issuedAt: moment,
  expiresAt: moment,
  trancheDay: fc.constant('2026-02-10'),
});

const body = fc.oneof(
  coupon.map((c) => ({ coupon: c })),
  fc.record({
    coupon,
    redemption: fc.record({
      code: fc.constant(COUPON.code),
      orderId: fc.constantFrom('o-1', 'o-1', 'o-2'),
      discountFen: fc.oneof(fc.constant(1999), number),
      redeemedAt: moment,
    }),
  }),
  fc.record({
    campaign: fc
      .record({
        timeZone: fc.constantFrom('Asia/Shanghai', 'UTC', 'Mars/Olympus', ''),
        id: fc.constantFrom('spring', 'autumn'),
        startsAt: moment,
        perUser: fc.record({ daily: number, total: number }),
      })
      .map((c) => ({ ...CAMPAIGN, ...c })),
  }),
  fc
    .record({
      campaignId: fc.constantFrom('spring', 'autumn'),
      asOf: moment,
      nextReleaseAt: fc.option(moment),
    })
    .map((b) => ({ ...BUDGET, ...b })),
  fc.record({
    error: fc.record(
      {
        code: fc.oneof(
          fc.constantFrom(...ERROR_CODES),
          fc.constantFrom('NEW_RULE', '__proto__', ''),
        ),
        message: fc.string(),
        retryAfterSeconds: number,
        nextReleaseAt: moment,
        startsAt: moment,
        retryAt: moment,
        limit: fc.constantFrom('daily', 'total', 'weekly'),
        reversedAt: moment,
        expiresAt: moment,
        minOrderFen: number,
        errorId: fc.string(),
      },
      { requiredKeys: ['code', 'message'] },
    ),
  }),
  fc.jsonValue(),
);

const status = fc.oneof(
  fc.constantFrom(
    200,
    201,
    400,
    401,
    403,
    404,
    408,
    409,
    409,
    409,
    410,
    422,
    429,
    500,
    502,
    503,
    504,
  ),
  fc.integer({ min: 100, max: 599 }),
);

const retryAfter = fc.oneof(
  fc.constantFrom('0', '1', '2', '30', '86400', '999999999', '-1', '1.5', 'soon', ''),
  fc.integer({ min: 0, max: 10 ** 9 }).map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.string(),
);

const answer: fc.Arbitrary<HttpResponse | Error> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      status,
      headers: fc.record(
        { 'retry-after': retryAfter, 'idempotent-replayed': fc.constantFrom('true', 'false') },
        { requiredKeys: [] },
      ),
      body: fc.oneof(
        { weight: 8, arbitrary: body.map((b) => JSON.stringify(b)) },
        fc.string(),
        fc.constant(''),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom<() => Error>(lost, refused).map((make) => make()) },
);

const ctx: fc.Arbitrary<MessageContext> = fc.record({
  locale: fc.constantFrom('zh-CN', 'en', 'xx_@@') as fc.Arbitrary<MessageContext['locale']>,
  timeZone: fc.constantFrom('Asia/Shanghai', 'America/New_York', 'UTC', 'Not/AZone', ''),
  now: fc.oneof(
    fc.constant(NOW),
    fc.integer({ min: -(2 ** 40), max: 2 ** 45 }),
    fc.constant(Number.NaN),
  ),
  perUser: maybe(fc.record({ daily: number, total: number })),
});

/** One call of `op` for alice on spring. */
function call(client: CouponClient, op: Op): Promise<{ kind: string; attempts: number }> {
  const target = { campaignId: 'spring', userId: 'alice', code: COUPON.code };
  switch (op) {
    case 'claim':
      return client.claim({ campaignId: 'spring', userId: 'alice', intentId: 'm-1' });
    case 'redeem':
      return client.redeem({ ...target, orderId: 'o-1', orderAmountFen: 5_000 });
    case 'reverse':
      return client.reverse({ ...target, orderId: 'o-1' });
    case 'coupon':
      return client.coupon(target);
    case 'campaign':
      return client.campaign('spring');
    case 'budget':
      return client.budget('spring');
  }
}

function say(op: Op, outcome: never, context: MessageContext): string {
  switch (op) {
    case 'claim':
      return claimMessage(outcome, context);
    case 'redeem':
      return redemptionMessage(outcome, context);
    case 'reverse':
      return reversalMessage(outcome, context);
    case 'coupon':
      return couponMessage(outcome, context);
    default:
      return (NOT_DONE as readonly string[]).includes((outcome as { kind: string }).kind)
        ? transientMessage(outcome, context)
        : 'ok';
  }
}

describe('the client against a service that answers anything', () => {
  it(`ends every call in its outcomes within its attempts and deadline, and takes no foreign coupon (${RUNS} runs)`, async () => {
    let answered = 0;
    let foreignOffered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(answer, { minLength: 4, maxLength: 16 }),
        fc.array(
          fc.constantFrom<Op>(
            'claim',
            'claim',
            'claim',
            'redeem',
            'reverse',
            'coupon',
            'campaign',
            'budget',
          ),
          { minLength: 8, maxLength: 14 },
        ),
        ctx,
        fc.integer(),
        async (script, ops, context, seed) => {
          const clock = new ManualClock(NOW);
          const transport = new FakeTransport(clock, (_request, i) => script[i % script.length]!);
          const client = new CouponClient({
            baseUrl: 'http://coupons.test',
            apiKey: 'key-1',
            clock,
            random: seeded(seed),
            transport,
            deadlineMs: DEADLINE_MS,
            maxAttempts: MAX_ATTEMPTS,
            horizonMs: HORIZON_MS,
            retryBudget: { minRetries: 1_000 },
          });
          for (const op of ops) {
            const before = { at: clock.now(), sent: transport.requests.length };
            let outcome: { kind: string; attempts: number } & Record<string, unknown>;
            try {
              outcome = await call(client, op);
            } catch (err) {
              // The only throw: a contract error with its own status, which the route does not read.
              if (!(err instanceof CouponClientError)) throw err;
              expect(isErrorCode(err.code)).toBe(true);
              expect(err.details.status).toBe(ERROR_STATUS[err.code as keyof typeof ERROR_STATUS]);
              continue;
            }
            const sent = transport.requests.length - before.sent;
            expect([...KINDS[op], ...NOT_DONE]).toContain(outcome.kind);
            expect(outcome.attempts).toBe(sent);
            expect(sent).toBeLessThanOrEqual(MAX_ATTEMPTS);
            expect(clock.now() - before.at).toBeLessThanOrEqual(DEADLINE_MS);
            const seconds = outcome.retryAfterSeconds;
            if (typeof seconds === 'number') {
              expect(Number.isInteger(seconds)).toBe(true);
              expect(seconds).toBeGreaterThanOrEqual(1);
              expect(seconds).toBeLessThanOrEqual(HORIZON_MS / 1000);
            }
            const taken = outcome.coupon as { userId: string; campaignId: string } | undefined;
            if (taken !== undefined)
              expect(taken).toMatchObject({ userId: 'alice', campaignId: 'spring' });
            expect(typeof say(op, outcome as never, context)).toBe('string');
          }
          for (const entry of Object.values(client.state().closedCampaigns))
            expect(entry.untilMs).toBeLessThanOrEqual(clock.now() + HORIZON_MS);
          answered += transport.requests.length;
          foreignOffered += script.filter(isForeignCoupon).length;
          await client.close();
        },
      ),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    // Ten answers a run at least (10,000 in the default 1,000 runs); foreign coupons were offered.
    expect(answered).toBeGreaterThanOrEqual(10 * RUNS);
    expect(foreignOffered).toBeGreaterThan(0);
  });
});

describe('the message functions', () => {
  it('say something for any outcome of the right shape, whatever its times and numbers', () => {
    const seconds = fc.oneof(number, fc.constant(Number.NaN), fc.constant(Infinity));
    const couponOf = coupon.map((c) => c as never);
    const claimOutcome = fc.oneof(
      fc.record({ kind: fc.constantFrom('issued', 'replayed'), coupon: couponOf }),
      fc.record({
        kind: fc.constant('sold_out'),
        nextReleaseAt: moment,
        retryAfterSeconds: seconds,
        local: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('not_started'),
        startsAt: moment,
        retryAfterSeconds: seconds,
        local: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('user_limit'),
        limit: fc.constant('daily'),
        retryAt: fc.option(moment),
        retryAfterSeconds: fc.option(seconds),
      }),
      fc.record({
        kind: fc.constantFrom('overloaded', 'rate_limited', 'unavailable', 'protocol'),
        retryAfterSeconds: seconds,
        maybeDone: fc.boolean(),
      }),
    );
    const redeemOutcome = fc.oneof(
      fc.record({
        kind: fc.constant('redeemed'),
        coupon: couponOf,
        redemption: fc.record({ discountFen: number, orderId: fc.string() }),
      }),
      fc.record({ kind: fc.constant('expired'), expiresAt: fc.option(moment) }),
      fc.record({ kind: fc.constant('below_minimum'), minOrderFen: fc.option(number) }),
      fc.record({ kind: fc.constant('order_reversed'), reversedAt: fc.option(moment) }),
    );
    fc.assert(
      fc.property(claimOutcome, redeemOutcome, couponOf, ctx, (claimed, redeemed, c, context) => {
        expect(typeof claimMessage(claimed as never, context)).toBe('string');
        expect(typeof redemptionMessage(redeemed as never, context)).toBe('string');
        expect(typeof couponMessage({ kind: 'found', coupon: c }, context)).toBe('string');
        expect(typeof reversalMessage({ kind: 'reversed', coupon: c }, context)).toBe('string');
      }),
      { numRuns: 2_000 },
    );
  });
});

function isForeignCoupon(answer: HttpResponse | Error): boolean {
  if (answer instanceof Error || answer.status < 200 || answer.status > 201) return false;
  const { coupon: c } = (safeJson(answer.body) ?? {}) as {
    coupon?: { userId?: string; campaignId?: string };
  };
  return c !== undefined && (c.userId !== 'alice' || c.campaignId !== 'spring');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
