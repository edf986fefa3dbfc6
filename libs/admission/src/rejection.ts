import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Priority } from './request';
import type { SoldOutEntry } from './soldOutCache';

/** Why a request was shed: a bounded set, usable as a metric label. */
export const SHED_REASONS = [
  'draining',
  'event_loop',
  'token_bucket',
  'concurrency',
  'deadline',
  'user_rate',
  'key_rate',
  'sold_out',
] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

export type RejectionCode = 'OVERLOADED' | 'UNAVAILABLE' | 'RATE_LIMITED' | 'TRANCHE_EXHAUSTED';

/** An answer built once and written many times: one writeHead, one end (writeAnswer). */
export interface PreparedAnswer {
  readonly status: number;
  /** Headers as a flat [name, value, ...] list: writeHead takes it without copying. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** A shed answer, ready to write with writeAnswer (one writeHead, one end). */
export interface Rejection extends PreparedAnswer {
  readonly admitted: false;
  readonly status: 503 | 429 | 409;
  readonly code: RejectionCode;
  readonly reason: ShedReason;
  readonly priority: Priority;
  readonly retryAfterSeconds: number;
  /** `{"error":{"code","message","retryAfterSeconds"}}` (TRANCHE_EXHAUSTED adds nextReleaseAt). */
  readonly body: Buffer;
  /**
   * Content-Type, Content-Length, Retry-After, Cache-Control (and Connection: close when
   * draining) as a flat [name, value, ...] list: writeHead takes it without copying.
   */
  readonly rawHeaders: readonly string[];
}

const ANSWER: Record<Exclude<ShedReason, 'sold_out'>, [503 | 429, RejectionCode, string]> = {
  draining: [503, 'UNAVAILABLE', 'this instance is shutting down; retry'],
  event_loop: [503, 'OVERLOADED', 'the service is overloaded (event loop busy); retry later'],
  token_bucket: [
    503,
    'OVERLOADED',
    'the service is overloaded (request rate over capacity); retry later',
  ],
  concurrency: [
    503,
    'OVERLOADED',
    'the service is overloaded (too much work in flight); retry later',
  ],
  deadline: [503, 'OVERLOADED', 'the request cannot be served within its X-Request-Timeout-Ms'],
  user_rate: [429, 'RATE_LIMITED', 'this user sends too many requests; retry later'],
  key_rate: [429, 'RATE_LIMITED', 'this API key sends too many requests; retry later'],
};

/** Answers for retries up to this many seconds are built once and reused. */
const MAX_CACHED_SECONDS = 600;

/**
 * Every shed answer but sold-out depends only on (reason, priority, seconds), so each is built
 * once and the shed path allocates nothing. Bounded: 7 reasons x 4 priorities x 600 seconds.
 */
export class RejectionCache {
  private readonly rows = Object.fromEntries(
    Object.keys(ANSWER).map((reason): [string, Record<Priority, Rejection[]>] => [
      reason,
      { redeem: [], read: [], claim: [], other: [] },
    ]),
  ) as Record<Exclude<ShedReason, 'sold_out'>, Record<Priority, Rejection[]>>;

  get(reason: Exclude<ShedReason, 'sold_out'>, priority: Priority, seconds: number): Rejection {
    const row = this.rows[reason][priority];
    const cached = row[seconds];
    if (cached !== undefined) return cached;
    const [status, code, message] = ANSWER[reason];
    const made = rejection(
      status,
      code,
      reason,
      priority,
      seconds,
      errorBody(code, message, seconds),
    );
    if (Number.isInteger(seconds) && seconds <= MAX_CACHED_SECONDS) row[seconds] = made;
    return made;
  }
}

/** Retry-After values remembered per sold-out entry before the memo starts over. */
const MAX_SOLD_OUT_ANSWERS = 256;

/**
 * A sold-out answer's JSON body, in the service's words: it says when the next release comes
 * (`nextReleaseAt`, as the service writes times) and carries `retryAfterSeconds`.
 */
export type SoldOutBody = (nextReleaseAt: string, retryAfterSeconds: number) => string;

/**
 * TRANCHE_EXHAUSTED answers of claims, memoised per sold-out entry and Retry-After: within a
 * second the jitter draws from about `soldOutSpreadSeconds` values, so most answers are reused.
 */
export class SoldOutAnswers {
  private readonly byEntry = new WeakMap<SoldOutEntry, Map<number, Rejection>>();

  constructor(private readonly body: SoldOutBody) {}

  get(entry: SoldOutEntry, seconds: number): Rejection {
    let memo = this.byEntry.get(entry);
    if (memo === undefined) {
      memo = new Map();
      this.byEntry.set(entry, memo);
    }
    let answer = memo.get(seconds);
    if (answer === undefined) {
      if (memo.size >= MAX_SOLD_OUT_ANSWERS) memo.clear();
      const json = this.body(entry.nextReleaseAt, seconds);
      answer = rejection(409, 'TRANCHE_EXHAUSTED', 'sold_out', 'claim', seconds, json);
      memo.set(seconds, answer);
    }
    return answer;
  }
}

/** Writes a prepared answer: one writeHead, one end. Keep-alive stays (but for draining). */
export function writeAnswer(res: ServerResponse, answer: PreparedAnswer): void {
  res.writeHead(answer.status, answer.rawHeaders as string[]).end(answer.body);
}

function errorBody(code: RejectionCode, message: string, seconds: number): string {
  return JSON.stringify({ error: { code, message, retryAfterSeconds: seconds } });
}

function rejection(
  status: Rejection['status'],
  code: RejectionCode,
  reason: ShedReason,
  priority: Priority,
  retryAfterSeconds: number,
  json: string,
): Rejection {
  const body = Buffer.from(json);
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': body.length,
    'retry-after': String(retryAfterSeconds),
    'cache-control': 'no-store',
  };
  // A draining instance tells keep-alive clients to reconnect, and so to reach another pod.
  if (reason === 'draining') headers.connection = 'close';
  const rawHeaders = Object.entries(headers).flatMap(([name, value]) => [name, String(value)]);
  return Object.freeze({
    admitted: false,
    status,
    code,
    reason,
    priority,
    retryAfterSeconds,
    body,
    rawHeaders: Object.freeze(rawHeaders),
  });
}
