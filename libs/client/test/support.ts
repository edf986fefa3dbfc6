import { setImmediate as tick } from 'node:timers/promises';
import type { ClientClock, Random } from '../src/clock';
import {
  TransportError,
  type HttpRequest,
  type HttpResponse,
  type Transport,
} from '../src/transport';

/**
 * A clock that only moves when told: `advance(ms)`, or a `sleep` (which moves it by the sleep's
 * length at once, after `onSleep` has run). Every sleep is recorded.
 */
export class ManualClock implements ClientClock {
  readonly sleeps: number[] = [];
  /** Runs inside each sleep, before time moves: lets a test act "while the client waits". */
  onSleep: ((ms: number) => Promise<void> | void) | undefined;

  constructor(private ms = Date.parse('2026-02-10T12:30:00+08:00')) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    await this.onSleep?.(ms);
    // As node's timers do: an abort during the wait rejects with an AbortError.
    if (signal?.aborted === true) throw new DOMException('The operation was aborted', 'AbortError');
    this.ms += Math.max(0, ms);
    await tick();
  }
}

/**
 * Real time plus every sleep skipped so far: requests take their real time, waits take none.
 * For tests against the real service, where Retry-After seconds would otherwise be waited out.
 */
export class SkippingClock implements ClientClock {
  private skipped = 0;
  readonly sleeps: number[] = [];
  onSleep: ((ms: number) => Promise<void> | void) | undefined;

  now(): number {
    return Date.now() + this.skipped;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    await this.onSleep?.(ms);
    this.skipped += Math.max(0, ms);
    await tick();
  }
}

/** Draws these values in turn, then repeats the last one. */
export function randoms(...values: number[]): Random {
  let i = 0;
  return () => {
    const value = values[Math.min(i, values.length - 1)] ?? 0;
    i += 1;
    return value;
  };
}

/** A seeded uniform generator (mulberry32): a fixed sequence that looks random. */
export { mulberry32 as seeded } from '@coupons/testing';

export interface Recorded {
  request: HttpRequest;
  /** The clock's time when it was sent. */
  at: number;
}

type Script = (request: HttpRequest, index: number) => HttpResponse | Error | 'hang';

/**
 * A transport that answers from a script and records every request with the clock's time. 'hang'
 * never answers (until the attempt's signal ends it).
 */
export class FakeTransport implements Transport {
  readonly requests: Recorded[] = [];
  closed = false;

  constructor(
    private readonly clock: ClientClock,
    public script: Script,
  ) {}

  async send(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const index = this.requests.length;
    this.requests.push({ request, at: this.clock.now() });
    const answer = this.script(request, index);
    if (answer === 'hang')
      return new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    await tick();
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Wraps a transport to record what was sent, when (by `clock`), and what came back. */
export class RecordingTransport implements Transport {
  readonly exchanges: {
    request: HttpRequest;
    at: number;
    status?: number;
    retryAfter?: string;
    error?: string;
  }[] = [];

  constructor(
    private readonly inner: Transport,
    private readonly clock: ClientClock = { now: Date.now, sleep: async () => undefined },
  ) {}

  async send(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const entry: RecordingTransport['exchanges'][number] = { request, at: this.clock.now() };
    this.exchanges.push(entry);
    try {
      const response = await this.inner.send(request, signal);
      entry.status = response.status;
      if (response.headers['retry-after'] !== undefined)
        entry.retryAfter = response.headers['retry-after'];
      return response;
    } catch (err) {
      entry.error = err instanceof TransportError ? err.kind : String(err);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Exchanges of one claim, by its Idempotency-Key. */
  of(idempotencyKey: string): RecordingTransport['exchanges'] {
    return this.exchanges.filter((e) => e.request.headers['idempotency-key'] === idempotencyKey);
  }
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** An error answer in the contract's shape; Retry-After from retryAfterSeconds. */
export function apiError(
  status: number,
  code: string,
  extras: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResponse {
  const retry = extras.retryAfterSeconds;
  return json(
    status,
    { error: { code, message: `${code} (test)`, ...extras } },
    { ...(typeof retry === 'number' ? { 'retry-after': String(retry) } : {}), ...headers },
  );
}

export const COUPON = {
  code: 'ABCD-EFGH-JKMN-PQRS',
  campaignId: 'spring',
  userId: 'alice',
  valueFen: 2500,
  currency: 'CNY',
  status: 'issued',
  issuedAt: '2026-02-10T12:30:00.000+08:00',
  expiresAt: '2026-02-28T23:59:59.999+08:00',
  trancheDay: '2026-02-10',
} as const;

const AT = '2026-02-10T13:00:00+08:00';

/** GET /v1/campaigns/spring as the contract answers it. */
export const CAMPAIGN = {
  id: 'spring',
  name: 'S',
  currency: 'CNY',
  status: 'running',
  poolFen: 5000,
  couponValueFen: 2500,
  minOrderFen: 0,
  timeZone: 'Asia/Shanghai',
  startsAt: AT,
  endsAt: AT,
  couponExpiresAt: AT,
  perUser: { daily: 3, total: 21 },
  release: {
    slicesPerDay: 24,
    rollover: true,
    releasedFen: 2500,
    unreleasedFen: 2500,
    nextReleaseAt: null,
    today: null,
    tranches: [],
  },
  asOf: AT,
} as const;

/** GET /v1/campaigns/spring/budget while a shard is lost. */
export const BUDGET = {
  campaignId: 'spring',
  currency: 'CNY',
  poolFen: 5000,
  releasedFen: 2500,
  issuedFen: null,
  remainingFen: null,
  unreleasedFen: 2500,
  today: null,
  nextReleaseAt: null,
  asOf: AT,
  shards: [{ shard: 0, state: 'missing', releasedFen: 2500, issuedFen: null, remainingFen: null }],
  unknownShards: [{ shard: 0, reason: 'missing' }],
} as const;

export const issued = (coupon: object = COUPON) => json(201, { coupon });
/** A fresh coupon for the user the claim names. */
export const issuedTo = (request: HttpRequest) =>
  issued({ ...COUPON, userId: request.headers['x-user-id'] });
export const replayed = (coupon: object = COUPON) =>
  json(201, { coupon }, { 'idempotent-replayed': 'true' });
export const overloaded = (seconds = 2) =>
  apiError(503, 'OVERLOADED', { retryAfterSeconds: seconds });
export const unavailable = (seconds = 2) =>
  apiError(503, 'UNAVAILABLE', { retryAfterSeconds: seconds });
export const lost = () => new TransportError('no_answer', 'other side closed');
export const refused = () => new TransportError('connection', 'ECONNREFUSED');
