import type { ClaimOutcome } from '../src/outcomes';
import {
  clientOf,
  couponApi,
  describeIfRedis,
  issuedCount,
  liveCampaign,
  oneSliceCampaign,
  stackFor,
  uniqueId,
  until,
} from './serviceHarness';
import { SkippingClock } from './support';
import { headerOf, type Cut } from './tcpProxy';

/** The coupon of an outcome that has one, else a failure naming the outcome. */
function couponOf(outcome: ClaimOutcome): { code: string; userId: string } {
  if (outcome.kind !== 'issued' && outcome.kind !== 'replayed')
    throw new Error(`expected a coupon, got ${JSON.stringify(outcome)}`);
  return outcome.coupon;
}

/** Cuts the first request of every Idempotency-Key; lets its retries through. */
function cutFirstAttempts(mode: Cut): (head: string) => Cut {
  const seen = new Set<string>();
  return (head) => {
    const key = headerOf(head, 'idempotency-key');
    if (key === undefined || seen.has(key)) return 'none';
    seen.add(key);
    return mode;
  };
}

/**
 * The connection drops after the claim went out: the service carries it out, the answer never
 * arrives. The retry (same Idempotency-Key) must get that coupon, never a second one.
 */
describeIfRedis('a connection cut after the claim was sent', () => {
  const campaign = liveCampaign(uniqueId('client-cut'));
  const stack = stackFor([campaign], { proxied: [0] });

  it.each([
    ['once the answer started (the claim was surely served)', 'after-response' as const],
    ['as soon as the request was forwarded', 'after-request' as const],
  ])('%s: every claim ends with one coupon, the one the retry answers', async (_name, mode) => {
    const [service, proxy] = [stack.pod(), stack.proxy()];
    proxy.cut = cutFirstAttempts(mode);
    // Ten lost answers at once are more than a 10% retry budget retries, and enough for the
    // throttle to hold back: this test is about what a retry answers, so every claim gets one.
    const client = clientOf(proxy.url, {
      clock: new SkippingClock(),
      retryBudget: { minRetries: 10 },
      throttle: false,
    });
    const before = await issuedCount(service, campaign);
    const users = Array.from({ length: 10 }, (_, i) => `${mode}-${i}`);
    try {
      const outcomes = await Promise.all(
        users.map((userId) =>
          client.claim({ campaignId: campaign.id, userId, intentId: `m-${userId}` }),
        ),
      );
      // Every first attempt's answer was lost, and the service finished it.
      await until(
        'every cut request answered by the service',
        () => proxy.seen.every((r) => r.answered) || undefined,
      );
      const api = couponApi(service, campaign.id);
      for (const [i, outcome] of outcomes.entries()) {
        expect(outcome).toMatchObject({ attempts: 2, maybeDone: true });
        if (mode === 'after-response') expect(outcome.kind).toBe('replayed');
        const coupon = couponOf(outcome);
        expect(coupon.userId).toBe(users[i]);
        // The coupon the ledger holds for this user is the one the retry answered.
        const read = await api.read(coupon.code, users[i]!);
        expect(read.status).toBe(200);
        const sent = proxy.withHeader('idempotency-key', outcome.idempotencyKey);
        expect(sent.map((r) => r.cut)).toEqual([mode, 'none']);
      }
      expect(new Set(outcomes.map((o) => couponOf(o).code)).size).toBe(10);
      expect((await issuedCount(service, campaign)) - before).toBe(10);
    } finally {
      await client.close();
    }
  });
});

/**
 * The crowd sells the campaign out while one claim's answer is lost: that claim was served, so
 * its retry must reach the service (which replays its coupon), whatever the sold-out memory says.
 */
describeIfRedis('a lost answer on a campaign selling out', () => {
  const campaign = oneSliceCampaign('client-cut-soldout', 3);
  const stack = stackFor([campaign], { proxied: [0] });

  it('the retry of the served claim gets its coupon; new claims are answered from memory once the service says so again', async () => {
    const [service, proxy] = [stack.pod(), stack.proxy()];
    const clock = new SkippingClock();
    const client = clientOf(proxy.url, { clock });
    const claim = (userId: string) => client.claim({ campaignId: campaign.id, userId });
    // ann's first attempt is served (the first coupon) and its answer cut.
    proxy.cut = (head) => (headerOf(head, 'x-user-id') === 'ann' ? 'after-response' : 'none');
    const others: ClaimOutcome[] = [];
    clock.onSleep = async () => {
      clock.onSleep = undefined;
      proxy.cut = () => 'none';
      // While ann waits to retry, the crowd takes the rest and learns it is sold out.
      for (const userId of ['bo', 'cy', 'dan', 'eve']) others.push(await claim(userId));
    };
    try {
      const ann = await claim('ann');
      expect(
        others.map((o) =>
          o.kind === 'sold_out' ? `sold_out${o.local ? ' (local)' : ''}` : o.kind,
        ),
      ).toEqual(['issued', 'issued', 'sold_out', 'sold_out (local)']);
      expect(ann).toMatchObject({ kind: 'replayed', attempts: 2, maybeDone: true });
      const read = await couponApi(service, campaign.id).read(couponOf(ann).code, 'ann');
      expect(read.status).toBe(200);
      expect(proxy.withHeader('x-user-id', 'ann').map((r) => r.cut)).toEqual([
        'after-response',
        'none',
      ]);
      // ann's coupon came from the service: the memory is forgotten. The next claim asks the
      // service, which says sold out again; the one after is answered from memory.
      expect(await claim('fay')).toMatchObject({ kind: 'sold_out', local: false, attempts: 1 });
      const requests = proxy.seen.length;
      expect(await claim('gus')).toMatchObject({ kind: 'sold_out', local: true, attempts: 0 });
      expect(proxy.seen).toHaveLength(requests);
      expect(await issuedCount(service, campaign)).toBe(3);
    } finally {
      await client.close();
    }
  });
});
