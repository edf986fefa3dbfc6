import {
  AdmissionGate,
  ConcurrencyLimit,
  EventLoopGuard,
  SoldOutCache,
  TokenBucket,
  type AdmissionGateOptions,
  type Admitted,
  type Decision,
  type EventLoopSample,
  type GateRequest,
  type LimitCheck,
  type LimitVerdict,
  type Rejection,
} from '../src';

const NOW = Date.UTC(2027, 1, 10, 3, 0, 0);
const RELEASE = NOW + 3_600_000;
const RELEASE_ISO = '2027-02-10T12:00:00.000+08:00';
/** Users named "sold" are on shard 3, everybody else on shard 0. */
const shardOf = (userId: string) => (userId === 'sold' ? 3 : 0);
const claim = (userId = 'u1', headers: Record<string, string> = {}): GateRequest => ({
  priority: 'claim',
  campaignId: 'c1',
  userId,
  shard: shardOf(userId),
  headers,
});
/** The sold-out answer's body as a service would word it. */
const soldOutBody = (nextReleaseAt: string, retryAfterSeconds: number) =>
  JSON.stringify({
    error: { code: 'TRANCHE_EXHAUSTED', message: 'sold out', retryAfterSeconds, nextReleaseAt },
  });
const redeem: GateRequest = { priority: 'redeem', campaignId: 'c1', headers: {} };
const read: GateRequest = { priority: 'read', campaignId: 'c1', headers: {} };

/** A per-id limit in memory: `points` per id, then blocked; spied on by the tests. */
class FakeLimit implements LimitCheck {
  readonly used = new Map<string, number>();
  constructor(private readonly points: number) {}
  blockedMs(id: string): number {
    return (this.used.get(id) ?? 0) >= this.points ? 30_000 : 0;
  }
  consume(id: string): Promise<LimitVerdict> {
    const used = (this.used.get(id) ?? 0) + 1;
    this.used.set(id, used);
    return Promise.resolve(
      used > this.points ? { limited: true, retryAfterMs: 30_000 } : { limited: false },
    );
  }
}

function layers() {
  let sample: EventLoopSample = { delayP99Ms: 1, utilization: 0.2, activeMs: 20 };
  const eventLoop = new EventLoopGuard(
    { sustainSamples: 1 },
    { sample: () => sample, close: () => undefined },
  );
  return {
    now: () => NOW,
    random: () => 0.5,
    eventLoop,
    setLoop(next: EventLoopSample) {
      sample = next;
      eventLoop.tick();
    },
    tokenBucket: new TokenBucket({ ratePerSecond: 100, burst: 100 }),
    concurrency: new ConcurrencyLimit({ initialLimit: 10, minLimit: 1, maxLimit: 100 }),
    user: new FakeLimit(2),
    key: new FakeLimit(1000),
    soldOut: new SoldOutCache(),
  };
}
type Layers = ReturnType<typeof layers>;

function gateOf(l: Layers, extra: Partial<AdmissionGateOptions> = {}): AdmissionGate {
  return new AdmissionGate({
    now: l.now,
    random: l.random,
    eventLoop: l.eventLoop,
    tokenBucket: l.tokenBucket,
    concurrency: l.concurrency,
    userLimit: { limiter: l.user },
    keyLimit: { limiter: l.key },
    soldOut: { cache: l.soldOut, body: soldOutBody },
    ...extra,
  });
}

/** A gate that only a token bucket of 10 (1 a second) holds: no user limit, `slots` concurrent. */
function bucketGate(l: Layers, slots: number): AdmissionGate {
  return gateOf(l, {
    userLimit: undefined,
    tokenBucket: new TokenBucket({ ratePerSecond: 1, burst: 10 }),
    concurrency: new ConcurrencyLimit({ initialLimit: slots, minLimit: 1, maxLimit: slots }),
  });
}

/** Spies on every layer's entry point. */
function spies(l: Layers) {
  return {
    eventLoop: jest.spyOn(l.eventLoop, 'admits'),
    tokenBucket: jest.spyOn(l.tokenBucket, 'tryTake'),
    concurrency: jest.spyOn(l.concurrency, 'tryAcquire'),
    userBlocked: jest.spyOn(l.user, 'blockedMs'),
    userConsume: jest.spyOn(l.user, 'consume'),
    keyBlocked: jest.spyOn(l.key, 'blockedMs'),
    keyConsume: jest.spyOn(l.key, 'consume'),
    soldOut: jest.spyOn(l.soldOut, 'lookup'),
  };
}
type Spies = ReturnType<typeof spies>;

function expectCalled(s: Spies, called: (keyof Spies)[]): void {
  for (const [name, spy] of Object.entries(s)) {
    if (called.includes(name as keyof Spies)) expect(spy).toHaveBeenCalled();
    else expect(spy).not.toHaveBeenCalled();
  }
}

function admittedNow(d: Decision | Promise<Decision>): Admitted {
  if (d instanceof Promise) throw new Error('expected a synchronous answer');
  if (!d.admitted) throw new Error(`expected an admission, got ${d.reason}`);
  return d;
}

function rejected(d: Decision | Promise<Decision>): Rejection {
  if (d instanceof Promise) throw new Error('expected a synchronous answer');
  if (d.admitted) throw new Error('expected a rejection');
  return d;
}

/** The contract's error shape, Retry-After agreeing with the body. */
function expectWellFormed(r: Rejection): void {
  const body = JSON.parse(r.body.toString('utf8')) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({
    code: r.code,
    message: expect.any(String),
    retryAfterSeconds: r.retryAfterSeconds,
  });
  expect(Number.isInteger(r.retryAfterSeconds) && r.retryAfterSeconds >= 1).toBe(true);
  const header = (name: string) => r.rawHeaders[r.rawHeaders.indexOf(name) + 1];
  expect(header('retry-after')).toBe(String(r.retryAfterSeconds));
  expect(header('content-length')).toBe(String(r.body.length));
  expect(header('content-type')).toBe('application/json');
}

describe('AdmissionGate order: a shed answer never calls a later layer', () => {
  it('draining answers UNAVAILABLE before touching anything else', () => {
    const l = layers();
    const gate = gateOf(l);
    const s = spies(l);
    gate.startDraining();
    const r = rejected(gate.admit(claim()));
    expect(r).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      reason: 'draining',
      priority: 'claim',
    });
    expect(r.rawHeaders).toEqual(expect.arrayContaining(['connection', 'close']));
    expectWellFormed(r);
    expectCalled(s, []);
  });

  it('event loop: sheds claims before the token bucket', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    l.setLoop({ delayP99Ms: 500, utilization: 1, activeMs: 100 }); // claims at half
    const s = spies(l);
    const r = rejected(gate.admit(claim()));
    expect(r).toMatchObject({ status: 503, code: 'OVERLOADED', reason: 'event_loop' });
    expectWellFormed(r);
    expectCalled(s, ['eventLoop']);
    admittedNow(gate.admit(claim()));
    expect(s.tokenBucket).toHaveBeenCalledTimes(1);
    // Redemptions pass the claim threshold.
    admittedNow(gate.admit(redeem));
  });

  it('token bucket: sheds before the concurrency limit', () => {
    const l = layers();
    const gate = gateOf(l, { tokenBucket: new TokenBucket({ ratePerSecond: 1, burst: 1 }) });
    admittedNow(gate.admit(read));
    const s = spies(l);
    const r = rejected(gate.admit(read));
    expect(r).toMatchObject({
      status: 503,
      code: 'OVERLOADED',
      reason: 'token_bucket',
      priority: 'read',
    });
    expectCalled(s, ['eventLoop']);
  });

  it('concurrency: sheds before deadline, limits and sold-out', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    for (let i = 0; i < 8; i++) admittedNow(gate.admit(claim(`u${i}`)));
    const s = spies(l);
    const r = rejected(gate.admit(claim()));
    expect(r).toMatchObject({ status: 503, reason: 'concurrency', priority: 'claim' });
    expectCalled(s, ['eventLoop', 'tokenBucket', 'concurrency']);
  });

  it('deadline: a caller that will not wait long enough is refused, its slot given back', () => {
    const l = layers();
    const gate = gateOf(l, { deadline: { minRemainingMs: 50 } });
    const s = spies(l);
    const r = rejected(gate.admit(claim('u1', { 'x-request-timeout-ms': '40' })));
    expect(r).toMatchObject({ status: 503, code: 'OVERLOADED', reason: 'deadline' });
    expectCalled(s, ['eventLoop', 'tokenBucket', 'concurrency']);
    expect(l.concurrency.inflight).toBe(0);
  });

  it('deadline: the floor follows the median service time', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    for (let i = 0; i < 20; i++)
      l.concurrency.tryAcquire('read')?.release({ latencyMs: 300, dropped: false });
    expect(rejected(gate.admit(claim('u1', { 'x-request-timeout-ms': '250' }))).reason).toBe(
      'deadline',
    );
    const ok = admittedNow(gate.admit(claim('u1', { 'x-request-timeout-ms': '400' })));
    expect(ok.deadline.remainingMs(NOW)).toBe(400);
  });

  it('user limit: a free pass (an id first seen in the window) admits synchronously, no store call', () => {
    const l = layers();
    const passes = new Set(['fresh']);
    const limiter = Object.assign(l.user, {
      freePass: (id: string) => passes.delete(id),
    });
    const gate = gateOf(l, { userLimit: { limiter } });
    const s = spies(l);
    expect(admittedNow(gate.admit(claim('fresh')))).toMatchObject({
      admitted: true,
      userId: 'fresh',
    });
    expect(s.userConsume).not.toHaveBeenCalled();
    // Its next request is no longer free: counted in the store (a promise).
    expect(gate.admit(claim('fresh'))).toBeInstanceOf(Promise);
    expect(s.userConsume).toHaveBeenCalledTimes(1);
  });

  it('user limit: a user blocked in memory is refused synchronously, Redis untouched', () => {
    const l = layers();
    const gate = gateOf(l);
    l.user.used.set('u1', 2);
    const s = spies(l);
    const r = rejected(gate.admit(claim('u1')));
    expect(r).toMatchObject({ status: 429, code: 'RATE_LIMITED', reason: 'user_rate' });
    expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(30);
    expect(r.retryAfterSeconds).toBeLessThanOrEqual(32);
    expectWellFormed(r);
    expectCalled(s, ['eventLoop', 'tokenBucket', 'concurrency', 'userBlocked']);
    expect(l.concurrency.inflight).toBe(0);
  });

  it('user limit: counted once per request in the store, then RATE_LIMITED, sold-out never asked', async () => {
    const l = layers();
    const gate = gateOf(l);
    const s = spies(l);
    const first = gate.admit(claim('u1'));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ admitted: true, userId: 'u1' });
    expect(s.soldOut).toHaveBeenCalledTimes(1);
    expect(l.user.used.get('u1')).toBe(1);
    // Another pod used the rest meanwhile: not blocked here, the store says no.
    l.user.used.set('u1', 2);
    s.userBlocked.mockReturnValue(0);
    s.soldOut.mockClear();
    expect(await gate.admit(claim('u1'))).toMatchObject({
      admitted: false,
      status: 429,
      reason: 'user_rate',
    });
    expect(s.soldOut).not.toHaveBeenCalled();
    expect(l.user.used.get('u1')).toBe(3);
    expect(l.concurrency.inflight).toBe(1);
    // Reads are not per-user limited by default: no store call, no promise.
    s.userConsume.mockClear();
    admittedNow(gate.admit({ ...read, userId: 'u1' }));
    expect(s.userConsume).not.toHaveBeenCalled();
  });

  it('key limit: only when configured, counted per authenticated key', async () => {
    const l = layers();
    l.key = new FakeLimit(1);
    const gate = gateOf(l, { userLimit: undefined });
    const withKey = (keyId = 'k1'): GateRequest => ({ ...read, keyId });
    expect(await gate.admit(withKey())).toMatchObject({ admitted: true, keyId: 'k1' });
    expect(rejected(gate.admit(withKey()))).toMatchObject({ status: 429, reason: 'key_rate' });
    expect(await gate.admit(withKey('k2'))).toMatchObject({ admitted: true });
    // A request the service did not authenticate carries no key: nothing counted.
    admittedNow(gate.admit(read));
    expect([...l.key.used.keys()]).toEqual(['k1', 'k2']);
    const noKeyLimit = gateOf(layers(), { userLimit: undefined, keyLimit: undefined });
    admittedNow(noKeyLimit.admit(withKey()));
  });

  it("user limit: counted per user, whichever of the platform's services sends the claim", async () => {
    const l = layers();
    const gate = gateOf(l);
    for (let i = 0; i < 3; i += 1) await gate.admit({ ...claim('shared'), keyId: 'chat' });
    expect(rejected(gate.admit({ ...claim('shared'), keyId: 'chat' })).reason).toBe('user_rate');
    expect(rejected(gate.admit({ ...claim('shared'), keyId: 'orders' })).reason).toBe('user_rate');
    expect([...l.user.used.keys()]).toEqual(['shared']);
  });

  it('sold out: TRANCHE_EXHAUSTED without Redis, Retry-After past the next release', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    l.soldOut.markSoldOut('c1', 3, RELEASE, RELEASE_ISO, NOW);
    const r = rejected(gate.admit(claim('sold')));
    expect(r).toMatchObject({ status: 409, code: 'TRANCHE_EXHAUSTED', reason: 'sold_out' });
    expectWellFormed(r);
    expect(JSON.parse(r.body.toString()).error.nextReleaseAt).toBe(RELEASE_ISO);
    expect(NOW + r.retryAfterSeconds * 1000).toBeGreaterThanOrEqual(RELEASE);
    expect(r.retryAfterSeconds).toBeLessThanOrEqual(3600 + 60);
    expect(l.concurrency.inflight).toBe(0);
    // Other shards, and other priorities, are not sold out.
    admittedNow(gate.admit(claim('u1')));
    admittedNow(gate.admit({ ...redeem, userId: 'sold' }));
  });

  it("user limit: a store that does not answer is waited for only until the caller's deadline", async () => {
    const l = layers();
    jest.spyOn(l.user, 'consume').mockReturnValue(new Promise<LimitVerdict>(() => undefined));
    const gate = gateOf(l, { deadline: { minRemainingMs: 1 } });
    const r = rejected(await gate.admit(claim('u1', { 'x-request-timeout-ms': '20' })));
    expect(r).toMatchObject({ status: 503, code: 'OVERLOADED', reason: 'deadline' });
    expect(l.concurrency.inflight).toBe(0);
    expect(gate.snapshot().limitChecksPending).toBe(0);
  });

  it('draining: a request that arrived before it began (its body still coming) is still served', () => {
    const gate = gateOf(layers(), { userLimit: undefined });
    gate.startDraining();
    admittedNow(gate.admit({ ...claim(), arrivedBeforeDraining: true }));
    expect(rejected(gate.admit(claim())).reason).toBe('draining');
  });

  it('concurrency: past the limit a claim waits only what its deadline leaves (X-Request-Timeout-Ms, injected clock)', () => {
    const l = layers();
    let now = NOW;
    const gate = gateOf({ ...l, now: () => now }, { userLimit: undefined, keyLimit: undefined });
    // The pod serves a claim in 4 ms: past the 8 claim slots each claim adds 0.5 ms of waiting.
    for (let i = 0; i < 20; i += 1)
      admittedNow(gate.admit(claim(`w${i}`))).permit.release({ latencyMs: 4, dropped: false });
    const held = Array.from({ length: 8 }, (_, i) => admittedNow(gate.admit(claim(`h${i}`))));
    // A caller with 2 s to spare is served late; one whose deadline leaves no room is refused.
    admittedNow(gate.admit(claim('patient', { 'x-request-timeout-ms': '2000' })));
    now += 1;
    expect(rejected(gate.admit(claim('hurried', { 'x-request-timeout-ms': '5' }))).reason).toBe(
      'concurrency',
    );
    expect(held).toHaveLength(8);
  });

  it('bulkDemand: claims that reached the gate against claims served to the end', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    const served = admittedNow(gate.admit(claim('u1')));
    const dropped = admittedNow(gate.admit(claim('u2')));
    admittedNow(gate.admit(redeem)).permit.release({ latencyMs: 2, dropped: false });
    served.permit.release({ latencyMs: 2, dropped: false });
    dropped.permit.release({ latencyMs: 2000, dropped: true });
    l.soldOut.markSoldOut('c1', 3, RELEASE, RELEASE_ISO, NOW);
    rejected(gate.admit(claim('sold')));
    // Three claims arrived, one was served and one answered sold out (kept up with); the dropped
    // one was not; the redemption is not a claim.
    expect(gate.bulkDemand()).toEqual({ arrivals: 3, completions: 2 });
    l.concurrency = new ConcurrencyLimit({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    const full = gateOf(l, { userLimit: undefined });
    admittedNow(full.admit(claim('u1')));
    rejected(full.admit(claim('u2')));
    // Shed for lack of capacity: demand the pod did not keep up with.
    expect(full.bulkDemand()).toEqual({ arrivals: 2, completions: 0 });
  });

  it('never rejects its promise: a limiter that throws admits', async () => {
    const l = layers();
    jest.spyOn(l.user, 'consume').mockRejectedValue(new Error('boom'));
    const gate = gateOf(l);
    await expect(gate.admit(claim('u1'))).resolves.toMatchObject({ admitted: true });
  });
});

describe('AdmissionGate priorities', () => {
  it('limit 10, share 0.8: the 9th claim is refused, a redemption still admitted', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    for (let i = 0; i < 8; i++) admittedNow(gate.admit(claim(`u${i}`)));
    expect(rejected(gate.admit(claim('u9'))).reason).toBe('concurrency');
    expect(admittedNow(gate.admit(redeem)).priority).toBe('redeem');
    expect(admittedNow(gate.admit(read)).priority).toBe('read');
    expect(rejected(gate.admit(redeem)).reason).toBe('concurrency');
  });

  it('claims cannot empty the token bucket either: they leave the redemption share', () => {
    const l = layers();
    const gate = bucketGate(l, 100);
    for (let i = 0; i < 8; i++) admittedNow(gate.admit(claim(`u${i}`)));
    expect(rejected(gate.admit(claim('u9'))).reason).toBe('token_bucket');
    admittedNow(gate.admit(redeem));
    admittedNow(gate.admit(redeem));
    expect(rejected(gate.admit(redeem)).reason).toBe('token_bucket');
  });
});

describe('AdmissionGate answers and stats', () => {
  it('spreads Retry-After of overload answers and reuses the precomputed bodies', () => {
    const l = layers();
    let r = 0;
    const gate = gateOf(l, { random: () => (r = (r + 0.37) % 1) });
    gate.startDraining();
    const answers = Array.from({ length: 200 }, () => rejected(gate.admit(read)));
    const seconds = new Set(answers.map((a) => a.retryAfterSeconds));
    expect([...seconds].sort()).toEqual([1, 2]);
    const overloaded = gateOf(layers(), {
      random: () => (r = (r + 0.37) % 1),
      tokenBucket: new TokenBucket({ ratePerSecond: 1, burst: 1 }),
    });
    admittedNow(overloaded.admit(read));
    const shed = Array.from({ length: 200 }, () => rejected(overloaded.admit(read)));
    expect(new Set(shed.map((a) => a.retryAfterSeconds))).toEqual(new Set([1, 2, 3, 4, 5]));
    const twice = shed.filter((a) => a.retryAfterSeconds === 3);
    expect(twice[0]).toBe(twice[1]);
  });

  it('reads saturated when claims alone drain the token bucket to its reserve', () => {
    const l = layers();
    const gate = bucketGate(l, 1000);
    for (let i = 0; i < 7; i++) admittedNow(gate.admit(claim(`u${i}`)));
    // 7 of the 8 tokens claims may take (2 are kept for redemptions and reads).
    expect(gate.snapshot().saturation).toBeCloseTo(7 / 8);
    admittedNow(gate.admit(claim('u7')));
    expect(rejected(gate.admit(claim('u8'))).reason).toBe('token_bucket');
    expect(gate.snapshot().saturation).toBe(1);
    // A redemption still gets a reserved token.
    admittedNow(gate.admit(redeem));
  });

  it('counts demand before shedding, sheds by reason and priority, in-flight and saturation', () => {
    const l = layers();
    const gate = gateOf(l, { userLimit: undefined });
    for (let i = 0; i < 9; i++) void gate.admit(claim(`u${i}`));
    admittedNow(gate.admit(redeem));
    const snap = gate.snapshot();
    expect(snap.received).toEqual({ redeem: 1, read: 0, claim: 9, other: 0 });
    expect(snap.shed.concurrency).toEqual({ redeem: 0, read: 0, claim: 1, other: 0 });
    expect(snap.inflight).toEqual({ redeem: 1, read: 0, claim: 8, other: 0 });
    expect(snap.concurrencyLimit).toBe(10);
    // Claims hold all 8 of their slots (the ninth was shed): saturated for claims, though a
    // redemption still got in (9 of 10 slots overall).
    expect(snap.saturation).toBe(1);
    expect(snap.eventLoopActiveSeconds).toBe(0);
    l.eventLoop.tick();
    expect(gate.snapshot().eventLoopActiveSeconds).toBeCloseTo(0.02);
    // The snapshot is a copy: later requests do not change it.
    admittedNow(gate.admit(read));
    expect(snap.received.read).toBe(0);
  });
});
