import { describeIfRedis } from '@coupons/testing';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import {
  couponApi,
  KEYS,
  metricsText,
  rawExchange,
  rawRequest,
  startTestService,
  uniqueId,
  until,
  waitUntilReady,
  type TestService,
  QUIET_GUARD_ENV,
  useLiveCampaignService,
  useHarnessRedis,
} from './support';

/** Every key in the harness Redis that names this test's user or campaign. */
async function keysNaming(redis: Redis, ...names: string[]): Promise<string[]> {
  const all = await redis.keys('*');
  return all.filter((key) => names.some((name) => key.includes(name))).sort();
}

function metric(text: string, line: RegExp): number {
  return Number(line.exec(text)?.[1] ?? 0);
}

/**
 * What an attacker found, each fixed: a caller without a key can no longer touch per-user state,
 * routes the gate did not see are refused or seen the same way, slow bodies cannot hold the
 * slots, the connection limits act, bad escapes and node's own errors answer in the contract.
 */
describeIfRedis('hostile callers', () => {
  let service: TestService;
  let redis: Redis;
  const campaign = useLiveCampaignService('hostile', { shards: 2 }, (s) => (service = s), {
    ...QUIET_GUARD_ENV,
    USER_RATE_LIMIT: '30/60',
    BODY_TIMEOUT_MS: '300',
  });
  useHarnessRedis((r) => (redis = r));

  const url = (path: string) => `${service.base}/v1/campaigns/${campaign.id}${path}`;

  it('a caller without a key cannot lock a user out, nor write a key named by its headers', async () => {
    const victim = uniqueId('victim');
    const hostile = `{${'x'.repeat(250)}}`;
    const before = await keysNaming(redis, victim, 'xxxxxxxx');
    for (let i = 0; i < 32; i += 1) {
      for (const [path, userId] of [
        ['/v1/campaigns/no-such/coupons', victim],
        [`/v1/campaigns/${campaign.id}/coupons`, victim],
        [`/v1/campaigns/${campaign.id}/coupons`, hostile],
      ] as const) {
        const answer = await rawRequest(`${service.base}${path}`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Idempotency-Key': `k-${i}`,
            'X-User-Id': userId,
            ...(i % 2 === 0 ? { Authorization: 'Bearer not-a-key' } : {}),
          },
          body: JSON.stringify({ userId }),
        });
        expect(answer.status).toBe(401);
      }
    }
    expect(await keysNaming(redis, victim, 'xxxxxxxx')).toEqual(before);
    const real = await couponApi(service, campaign.id).call('POST', '/coupons', {
      body: { userId: victim },
      headers: { 'Idempotency-Key': 'real', 'X-User-Id': victim },
    });
    expect(real.status).toBe(201);
    // The user's first claim of the window is counted in memory: nothing of it in Redis yet.
    expect((await keysNaming(redis, victim)).filter((k) => k.startsWith('coupons:rl:'))).toEqual(
      [],
    );
  });

  it("counts a user per user, whichever of the platform's services (API keys) sends the claims", async () => {
    const user = uniqueId('shared-user');
    const other = await startTestService({
      clock: 'redis',
      campaigns: [campaign],
      env: { ...QUIET_GUARD_ENV, USER_RATE_LIMIT: '2/60' },
    });
    try {
      await waitUntilReady(other);
      const claim = (key: string, i: number) =>
        couponApi(other, campaign.id, key).call('POST', '/coupons', {
          body: { userId: user },
          headers: { 'Idempotency-Key': `t-${i}`, 'X-User-Id': user },
        });
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await claim(KEYS.issueOnly, i)).status);
      expect(statuses.slice(2)).toEqual([429, 429]);
      expect((await claim(KEYS.all, 9)).status).toBe(429);
    } finally {
      await other.stop();
    }
  });

  it('public routes are cheap: /healthz and /openapi.json without Redis, /readyz on a sampled PING', async () => {
    const pings = async () =>
      Number(/cmdstat_ping:calls=(\d+)/.exec(await service.redis.info('commandstats'))?.[1] ?? 0);
    const before = await pings();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${service.base}${['/healthz', '/openapi.json', '/readyz'][i % 3]}`),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
    await Promise.all(answers.map((answer) => answer.text()));
    // One PING at most for the seven probes (one more if a sample expired meanwhile).
    expect((await pings()) - before).toBeLessThanOrEqual(2);
    // A flood of them is rate-limited like any route: 429 with Retry-After, from memory.
    const flood = await Promise.all(
      Array.from({ length: 300 }, () =>
        fetch(`${service.base}/healthz?${'x'.repeat(2000)}`).then(async (answer) => {
          await answer.text();
          return answer;
        }),
      ),
    );
    const limited = flood.filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
  });

  it('a retry through a rotated API key replays the same coupon: the Idempotency-Key is scoped to (campaign, user)', async () => {
    // During a rotation the platform's service holds the old key and the new one; a claim sent
    // with the old key whose answer was lost is retried with the new one.
    const user = uniqueId('rotated-user');
    const send = (key: string) =>
      couponApi(service, campaign.id, key).call('POST', '/coupons', {
        body: { userId: user },
        headers: { 'Idempotency-Key': 'chat-msg-1', 'X-User-Id': user },
      });
    const issued = async () =>
      Number((await service.ledgers.get(campaign.id)!.snapshot()).issuedCoupons);
    const before = await issued();
    const first = await send(KEYS.issueOnly);
    const retry = await send(KEYS.all);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.coupon.code).toBe(first.body.coupon.code);
    // One coupon issued for the two calls.
    expect((await issued()) - before).toBe(1);
  });

  it('routes only what express routes the same way: case, trailing slash and absolute-form', async () => {
    const issued = () => service.ledgers.get(campaign.id)!.snapshot();
    const before = (await issued()).issuedCoupons;
    const auth = { Authorization: `Bearer ${KEYS.all}`, 'Content-Type': 'application/json' };
    const body = JSON.stringify({ userId: 'case-user' });
    for (const path of [
      `/V1/campaigns/${campaign.id}/coupons`,
      `/v1/campaigns/${campaign.id}/COUPONS`,
      `/v1/Campaigns/${campaign.id}/coupons`,
      `/v1/campaigns/${campaign.id}/coupons/`,
    ]) {
      const answer = await rawRequest(`${service.base}${path}`, {
        method: 'POST',
        headers: { ...auth, 'Idempotency-Key': 'case-1', 'X-User-Id': 'case-user' },
        body,
      });
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).error.code).toBe('NOT_FOUND');
    }
    const absolute = await rawExchange(
      service.port,
      `POST http://127.0.0.1:${service.port}/v1/campaigns/${campaign.id}/coupons HTTP/1.1\r\n` +
        `Host: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.all}\r\nContent-Type: application/json\r\n` +
        `Idempotency-Key: abs-1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(absolute.status).toBe(400);
    expect(JSON.parse(absolute.body).error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect((await issued()).issuedCoupons).toBe(before);
  });

  it('answers a wrong method on a known route 405 with Allow, and takes Bearer in any case', async () => {
    const wrong = await rawRequest(url('/coupons'), {
      method: 'GET',
      headers: { Authorization: `Bearer ${KEYS.all}` },
    });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect(JSON.parse(wrong.body).error.code).toBe('METHOD_NOT_ALLOWED');
    const put = await rawRequest(url('/budget'), {
      method: 'PUT',
      headers: { Authorization: `bearer ${KEYS.all}` },
    });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const ok = await rawRequest(url('/budget'), {
        headers: { Authorization: `${scheme} ${KEYS.all}` },
      });
      expect(ok.status).toBe(200);
    }
  });

  it('refuses two Idempotency-Key (or X-User-Id, or Authorization) headers with 400 naming it', async () => {
    const body = JSON.stringify({ userId: 'dup-user' });
    for (const [name, a, b] of [
      ['Idempotency-Key', 'k1', 'k2'],
      ['X-User-Id', 'dup-user', 'dup-user'],
      ['Authorization', `Bearer ${KEYS.all}`, `Bearer ${KEYS.all}`],
    ] as const) {
      const headers = [
        `Authorization: Bearer ${KEYS.all}`,
        'Idempotency-Key: k0',
        'Content-Type: application/json',
        `${name}: ${a}`,
        `${name}: ${b}`,
      ].filter((line, i, all) => all.indexOf(line) === i || line.startsWith(name));
      const answer = await rawExchange(
        service.port,
        `POST /v1/campaigns/${campaign.id}/coupons HTTP/1.1\r\nHost: x\r\n${headers.join('\r\n')}\r\n` +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      );
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.details).toEqual([
        { field: name, problem: 'sent more than once' },
      ]);
    }
  });

  it('answers a bad percent-escape 400 naming the field, and logs no raw code', async () => {
    for (const code of ['%zz', '%00%FF', 'ABCD%E0%A4%A']) {
      const answer = await rawRequest(url(`/coupons/${code}?userId=alice`), {
        headers: { Authorization: `Bearer ${KEYS.all}` },
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.details).toEqual([
        { field: 'code', problem: 'malformed percent-encoding' },
      ]);
    }
    await rawRequest(url('/coupons/SECRET7CODE?userId=alice&api_key=LEAKED'), {
      headers: { Authorization: `Bearer ${KEYS.all}` },
    });
    await rawRequest(url('/COUPONS/SECRET8CODE'), {
      headers: { Authorization: `Bearer ${KEYS.all}` },
    });
    expect(service.log()).not.toMatch(/SECRET7CODE|SECRET8CODE|LEAKED|%zz|%00%FF/);
  });

  it('answers what node refuses itself in the contract’s JSON: 400, 431', async () => {
    const broken = await rawExchange(service.port, 'GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).error.code).toBe('INVALID_REQUEST');
    const huge = await rawExchange(
      service.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge.status).toBe(431);
    expect(JSON.parse(huge.body).error.code).toBe('HEADERS_TOO_LARGE');
  });

  it('refuses a body on a route that takes none, checks the scope before reading one, and gives a body 300 ms', async () => {
    const budgetOnly = `Bearer ${KEYS.budgetOnly}`;
    const limitBefore = metric(
      await metricsText(service),
      /^coupon_admission_concurrency_limit (\d+)/m,
    );
    // A body announced but never sent, on a route without one: refused at once (such a route acts
    // on its headers, and a body that then failed to parse would turn its answer into a 400).
    const sockets: Socket[] = [];
    const answers = await Promise.all(
      Array.from(
        { length: 33 },
        () =>
          new Promise<string>((resolve) => {
            const socket = connect(service.port, '127.0.0.1');
            sockets.push(socket);
            let text = '';
            socket.on('data', (chunk: Buffer) => {
              text += chunk.toString();
              if (text.includes('\r\n\r\n')) resolve(text.split(' ')[1] ?? '');
            });
            socket.write(
              `GET /v1/campaigns/${campaign.id}/budget HTTP/1.1\r\nHost: x\r\nAuthorization: ${budgetOnly}\r\n` +
                'Content-Length: 100\r\n\r\n',
            );
          }),
      ),
    );
    expect(new Set(answers)).toEqual(new Set(['400']));
    // The same key on a route that takes a body: 403 before a byte of it is read.
    const forbidden = await rawExchange(
      service.port,
      `POST /v1/campaigns/${campaign.id}/coupons HTTP/1.1\r\nHost: x\r\nAuthorization: ${budgetOnly}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n',
    );
    expect(forbidden.status).toBe(403);
    // A body that does not arrive in time: 408, the connection closed, the slot free again.
    const started = Date.now();
    const slow = await rawExchange(
      service.port,
      `POST /v1/campaigns/${campaign.id}/coupons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.all}\r\n` +
        'Content-Type: application/json\r\nIdempotency-Key: slow\r\nContent-Length: 100\r\n\r\n{"user',
    );
    expect(slow.status).toBe(408);
    expect(slow.headers.connection).toBe('close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2_000);
    // Meanwhile a well-behaved redemption is served, and the limit learnt nothing from them.
    const api = couponApi(service, campaign.id);
    const claimed = await api.claim('well-behaved', 'wb-1');
    expect(claimed.status).toBe(201);
    const redeemed = await api.redeem(claimed.body.coupon.code as string, {
      userId: 'well-behaved',
      orderId: 'wb-order',
      orderAmountFen: 100,
    });
    expect(redeemed.status).toBe(201);
    await until('every slot free', async () => {
      const text = await metricsText(service);
      return /^coupon_admission_inflight\{priority="read"\} 0$/m.test(text) || undefined;
    });
    const limitAfter = metric(
      await metricsText(service),
      /^coupon_admission_concurrency_limit (\d+)/m,
    );
    expect(limitAfter).toBeGreaterThanOrEqual(limitBefore);
    for (const socket of sockets) socket.destroy();
  });

  it('invites a body (100 Continue) only once the key, the scope and admission let the request in', async () => {
    const head = (authorization: string, key: string) =>
      `POST /v1/campaigns/${campaign.id}/coupons HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n` +
      `Content-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: 22\r\n` +
      'Expect: 100-continue\r\n\r\n';
    // No key: the answer is the 401, never an invitation to upload.
    const stranger = await rawExchange(service.port, head('Bearer nope', 'x-1'));
    expect(stranger.status).toBe(401);
    // A key with the scope: 100 Continue, then the body, then the coupon.
    const socket = connect(service.port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.write(head(`Bearer ${KEYS.all}`, 'continue-1'));
    await until('100 Continue', () =>
      text.startsWith('HTTP/1.1 100 Continue') ? true : undefined,
    );
    socket.write('{"userId":"continued"}');
    await until('the answer', () => (/HTTP\/1\.1 201 /.test(text) ? true : undefined));
    socket.destroy();
  });
});

/**
 * `count` sockets to host:port, added to `sockets` (the test destroys them), each reading and
 * dropping what it is sent; opened `one by one` (each connected before the next) or `at once`.
 * Which of them the server has closed, by index, kept up to date.
 */
async function openSockets(
  sockets: Socket[],
  port: number,
  host: string,
  count: number,
  pace: 'one by one' | 'at once',
): Promise<boolean[]> {
  const closed: boolean[] = [];
  for (let i = 0; i < count; i += 1) {
    const socket = connect(port, host);
    sockets.push(socket);
    const index = closed.push(false) - 1;
    socket.on('close', () => (closed[index] = true));
    socket.on('error', () => undefined);
    socket.resume();
    if (pace === 'one by one') await new Promise((resolve) => socket.once('connect', resolve));
  }
  return closed;
}

describeIfRedis('the connection limits act', () => {
  it('HTTP_LISTEN_BACKLOG is the listening socket’s backlog, HTTP_MAX_CONNECTIONS closes the extra sockets', async () => {
    const service = await startTestService({
      env: { HTTP_LISTEN_BACKLOG: '7', HTTP_MAX_CONNECTIONS: '3' },
    });
    const sockets: Socket[] = [];
    try {
      const listening = execFileSync('ss', ['-ltnH', `sport = :${service.port}`], {
        encoding: 'utf8',
      });
      // ss shows a listening socket's backlog in Send-Q (the third column).
      expect(listening.trim().split(/\s+/)[2]).toBe('7');
      const closed = await openSockets(sockets, service.port, '127.0.0.1', 6, 'one by one');
      await until('the extra sockets closed', () =>
        closed.filter(Boolean).length === 3 ? true : undefined,
      );
      expect(closed.slice(0, 3)).toEqual([false, false, false]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await service.stop();
    }
  });

  it('the server’s own timeouts act within about a second (slow headers: 408 in the contract)', async () => {
    const service = await startTestService({ env: { HTTP_REQUEST_TIMEOUT_MS: '1000' } });
    try {
      const started = Date.now();
      const answer = await rawExchange(service.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 6_000);
      const took = Date.now() - started;
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.body).error.code).toBe('REQUEST_TIMEOUT');
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(2_600);
    } finally {
      await service.stop();
    }
  });

  it('the metrics port binds METRICS_HOST, caps its connections and times out slow clients', async () => {
    const service = await startTestService({
      env: { METRICS_HOST: '127.0.0.2', HTTP_REQUEST_TIMEOUT_MS: '1000' },
    });
    const sockets: Socket[] = [];
    try {
      const refused = await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`).then(
        () => false,
        () => true,
      );
      expect(refused).toBe(true);
      expect((await fetch(`http://127.0.0.2:${service.metricsPort}/metrics`)).status).toBe(200);
      const closed = await openSockets(sockets, service.metricsPort, '127.0.0.2', 70, 'at once');
      await until('the sockets past 64 closed', () =>
        closed.filter(Boolean).length >= 6 ? true : undefined,
      );
      // The rest sent nothing: answered 408 and closed by the headers timeout, within about a
      // second of it.
      await until(
        'the idle ones timed out',
        () => (closed.every(Boolean) ? true : undefined),
        4_000,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await service.stop();
    }
  });
});
