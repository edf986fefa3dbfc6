import { connect, type Socket } from 'node:net';
import { describeIfRedis } from '@coupons/testing';
import {
  couponApi,
  KEYS,
  type ApiAnswer,
  type TestService,
  QUIET_GUARD_ENV,
  useLiveCampaignService,
} from './support';

/** Sockets of the attack at any moment, each re-opened shortly after the pod closes it. */
const ATTACK_SOCKETS = 36;
const REOPEN_MS = 100;
/** How long each route is attacked. */
const PHASE_MS = 2000;
const CLAIMS_PER_SECOND = 20;
const REDEMPTIONS_PER_SECOND = 10;

/**
 * Slow bodies cost their sender: on each route in turn, 36 sockets send a request that declares
 * a body (Content-Length: 100) and never sends it, with a valid key of the route's scope, while
 * real claims and redemptions flow. Bodies are read before admission, so the attack holds no
 * admission slot and the real requests are answered as if it were not there.
 */
describeIfRedis('slow-body attack on every route while claims and redemptions flow', () => {
  let service: TestService;
  // Production defaults (body timeout, concurrency limits); the event-loop guard is not under
  // test on a shared machine.
  const campaign = useLiveCampaignService(
    'slow-bodies',
    { coupons: 100_000 },
    (s) => (service = s),
    QUIET_GUARD_ENV,
  );

  /** The routes, each with the key an attacker of it would have. */
  const targets = (code: string) => {
    const base = `/v1/campaigns/${campaign.id}`;
    return [
      { method: 'POST', path: `${base}/coupons`, key: KEYS.issueOnly },
      { method: 'POST', path: `${base}/coupons/${code}/redemptions`, key: KEYS.redeemOnly },
      { method: 'GET', path: `${base}/coupons/${code}?userId=x`, key: KEYS.readOnly },
      {
        method: 'DELETE',
        path: `${base}/coupons/${code}/redemptions/o1?userId=x`,
        key: KEYS.redeemOnly,
      },
      { method: 'GET', path: `${base}/budget`, key: KEYS.budgetOnly },
      { method: 'GET', path: base, key: KEYS.all },
      { method: 'GET', path: '/readyz', key: KEYS.all },
    ];
  };

  /** Keeps ATTACK_SOCKETS sockets on `target` until stopped. */
  function attack(target: { method: string; path: string; key: string }): () => void {
    let stopped = false;
    const sockets = new Set<Socket>();
    const open = () => {
      if (stopped) return;
      const socket = connect(service.port, '127.0.0.1');
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        setTimeout(open, REOPEN_MS);
      });
      socket.write(
        `${target.method} ${target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Authorization: Bearer ${target.key}\r\nContent-Type: application/json\r\n` +
          `Idempotency-Key: slow\r\nX-User-Id: slow\r\nContent-Length: 100\r\n\r\n`,
      );
    };
    for (let i = 0; i < ATTACK_SOCKETS; i += 1) open();
    return () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    };
  }

  it('at least 99% of the real claims and redemptions answered 2xx', async () => {
    const api = couponApi(service, campaign.id);
    const answers: { route: string; attacked: string; answer: ApiAnswer }[] = [];
    const coupons: { code: string; userId: string }[] = [];
    let n = 0;
    const claimOne = async (attacked: string) => {
      const userId = `real-${n++}`;
      const answer = await api.call('POST', '/coupons', {
        body: { userId },
        headers: { 'Idempotency-Key': userId, 'X-User-Id': userId },
      });
      answers.push({ route: 'claim', attacked, answer });
      if (answer.status === 201) coupons.push({ code: answer.body.coupon.code as string, userId });
    };
    const redeemOne = async (attacked: string) => {
      const coupon = coupons.shift();
      if (coupon === undefined) return;
      const answer = await api.redeem(coupon.code, {
        userId: coupon.userId,
        orderId: `order-${coupon.userId}`,
        orderAmountFen: 5_000,
      });
      answers.push({ route: 'redeem', attacked, answer });
    };
    // Coupons for the first redemptions.
    for (let i = 0; i < 5; i += 1) await claimOne('none');
    answers.length = 0;

    const firstCode = coupons[0]!.code;
    for (const target of targets(firstCode)) {
      const stop = attack(target);
      const attacked = `${target.method} ${target.path}`;
      const pending: Promise<void>[] = [];
      const claims = setInterval(() => pending.push(claimOne(attacked)), 1000 / CLAIMS_PER_SECOND);
      const redemptions = setInterval(
        () => pending.push(redeemOne(attacked)),
        1000 / REDEMPTIONS_PER_SECOND,
      );
      await new Promise((resolve) => setTimeout(resolve, PHASE_MS));
      clearInterval(claims);
      clearInterval(redemptions);
      await Promise.all(pending);
      stop();
    }

    const failed = answers.filter(({ answer }) => answer.status < 200 || answer.status >= 300);
    expect(answers.length).toBeGreaterThan(
      targets(firstCode).length * (PHASE_MS / 1000) * CLAIMS_PER_SECOND,
    );
    expect({
      failed: failed.map(
        ({ route, attacked, answer }) => `${route} under ${attacked}: ${answer.status}`,
      ),
      ok: failed.length <= answers.length * 0.01,
    }).toEqual({ failed: expect.any(Array), ok: true });
  }, 60_000);
});
