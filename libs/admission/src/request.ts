import type { IncomingHttpHeaders } from 'node:http';

// What the gate reads of a request before any work: its priority (from the route the service
// matched) and its deadline (from X-Request-Timeout-Ms).

/**
 * Priorities, highest first. `redeem` (a purchase in progress) and `read` may use every slot;
 * `claim` (a new coupon) and `other` share the claim partition, so an odd or unknown request can
 * never buy more priority than a claim. The service decides each request's priority from its
 * route; the gate only orders work by it.
 */
export const PRIORITIES = ['redeem', 'read', 'claim', 'other'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Priorities limited to the claim share of every layer that reserves capacity. */
export function isBulk(priority: Priority): boolean {
  return priority === 'claim' || priority === 'other';
}

export const REQUEST_TIMEOUT_HEADER = 'x-request-timeout-ms';

export interface DeadlineOptions {
  /** When the caller sends no (or a malformed) X-Request-Timeout-Ms. */
  defaultMs: number;
  /** Cap on what a caller may ask for (the server's own request timeout is 10 s). */
  maxMs: number;
}

export const DEFAULT_DEADLINE: DeadlineOptions = Object.freeze({ defaultMs: 2000, maxMs: 10_000 });

/** When the caller stops waiting, on the gate's clock (epoch ms). */
export class Deadline {
  constructor(readonly atMs: number) {}

  remainingMs(now: number): number {
    return this.atMs - now;
  }
}

/** The deadline a request carries: `X-Request-Timeout-Ms` from `now`, default when absent, capped. */
export function deadlineFrom(
  headers: IncomingHttpHeaders,
  now: number,
  options: DeadlineOptions = DEFAULT_DEADLINE,
): Deadline {
  return new Deadline(now + timeoutMs(headers[REQUEST_TIMEOUT_HEADER], options));
}

function timeoutMs(header: string | string[] | undefined, options: DeadlineOptions): number {
  if (typeof header !== 'string' || header.length === 0 || header.length > 9)
    return options.defaultMs;
  let ms = 0;
  for (let i = 0; i < header.length; i++) {
    const digit = header.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return options.defaultMs;
    ms = ms * 10 + digit;
  }
  return ms === 0 ? options.defaultMs : Math.min(ms, options.maxMs);
}

/** What `within` gives when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * `work`'s result if it settles within `ms`, else TIMED_OUT: one timer, cleared when the work
 * ends first. The work is not cancelled (it may still finish, and must be safe to finish); a
 * rejection is passed on.
 */
export function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  return Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
}
