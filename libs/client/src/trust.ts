/**
 * What the client believes of the times and numbers an answer names: the service is trusted
 * within bounds. A moment must be an ISO-8601 time with its offset, within ten years of now; a
 * wait is a whole number of seconds from 1 up to the horizon (default 24 h); an amount is a whole,
 * non-negative, safe number of fen. Anything else makes the answer a `protocol` outcome.
 */

/** The furthest ahead anything the service says is believed: waits and the sold-out memory. */
export const DEFAULT_HORIZON_MS = 24 * 3_600_000;

/** Moments further than this from now are not the contract's (its campaigns last months). */
const MOMENT_RANGE_MS = 10 * 366 * 86_400_000;

const ISO_MOMENT = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:\d\d)$/;

/** Epoch ms of a moment the service named, or undefined when it is not believable. */
export function momentMs(value: unknown, nowMs: number): number | undefined {
  if (typeof value !== 'string' || !ISO_MOMENT.test(value)) return undefined;
  const at = Date.parse(value);
  if (!Number.isFinite(at) || Math.abs(at - nowMs) > MOMENT_RANGE_MS) return undefined;
  return at;
}

/** A wait in whole seconds within [1, horizon]; undefined when `seconds` is not a number. */
export function boundedSeconds(seconds: number | undefined, horizonMs: number): number | undefined {
  if (seconds === undefined || Number.isNaN(seconds)) return undefined;
  return Math.min(Math.floor(horizonMs / 1000), Math.max(1, Math.ceil(seconds)));
}

/** Seconds from now until a moment, bounded as every wait is. */
export function secondsUntil(atMs: number, nowMs: number, horizonMs: number): number {
  return boundedSeconds((atMs - nowMs) / 1000, horizonMs) ?? 1;
}

export function isFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const zones = new Map<string, boolean>();

/** Whether Intl knows the zone (a campaign's zone decides how every message says a time). */
export function isTimeZone(value: string): boolean {
  let known = zones.get(value);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: value });
      known = true;
    } catch {
      known = false;
    }
    // Bounded: a hostile service must not grow it without end.
    if (zones.size < 1_000) zones.set(value, known);
  }
  return known;
}
