import { DateTime, IANAZone } from 'luxon';

const HOUR_MS = 3_600_000;

// ISO-8601 extended format with a mandatory offset; luxon alone would also take dates without a
// time or an offset (read in the host's zone), which would make a config mean different things
// on different machines.
const ISO_INSTANT =
  /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,3})?)?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)$/;

const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/;

export function isValidTimeZone(timeZone: string): boolean {
  return IANAZone.isValidZone(timeZone);
}

function zoned(ms: number, timeZone: string): DateTime {
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite epoch ms: ${ms}`);
  if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown time zone: ${timeZone}`);
  const dateTime = DateTime.fromMillis(ms, { zone: timeZone });
  if (!dateTime.isValid) throw new RangeError(`cannot represent ${ms} in ${timeZone}`);
  return dateTime;
}

const OFFSET_BUCKET_MS = 15 * 60_000;
const OFFSET_CACHE_MAX = 4096;
/** zone -> 15-minute bucket -> offset minutes; an answer formats "now" and the expiry, so a few buckets stay hot. */
const offsetCache = new Map<string, Map<number, number>>();

/**
 * The zone's UTC offset (minutes) at `ms`, from luxon once per 15-minute bucket and zone: this runs
 * for every timestamp in every answer, and luxon's full formatting was a fifth of a claim's CPU.
 * Offsets only change at transitions on quarter hours, and a bucket is cached only when its two
 * ends agree, so the cache is exact.
 */
function offsetMinutesAt(ms: number, timeZone: string): number {
  const bucket = Math.floor(ms / OFFSET_BUCKET_MS);
  let zoneCache = offsetCache.get(timeZone);
  const cached = zoneCache?.get(bucket);
  if (cached !== undefined) return cached;
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite epoch ms: ${ms}`);
  if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown time zone: ${timeZone}`);
  const zone = IANAZone.create(timeZone);
  const from = bucket * OFFSET_BUCKET_MS;
  const minutes = zone.offset(ms);
  if (zone.offset(from) === minutes && zone.offset(from + OFFSET_BUCKET_MS - 1) === minutes) {
    if (zoneCache === undefined) {
      if (offsetCache.size >= 64) offsetCache.clear();
      zoneCache = new Map();
      offsetCache.set(timeZone, zoneCache);
    }
    if (zoneCache.size >= OFFSET_CACHE_MAX) zoneCache.clear();
    zoneCache.set(bucket, minutes);
  }
  return minutes;
}

const MIN_FAST_MS = Date.UTC(1000, 0, 1);
const MAX_FAST_MS = Date.UTC(9999, 0, 1);
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function isUtcName(timeZone: string): boolean {
  const lowered = timeZone.toLowerCase();
  return lowered === 'utc' || lowered === 'gmt';
}

/** `ms` as ISO-8601 with the zone's offset at that instant, e.g. "2026-02-06T00:00:00.000+08:00". */
export function toZonedIso(ms: number, timeZone: string): string {
  if (!(ms >= MIN_FAST_MS && ms < MAX_FAST_MS))
    return zoned(ms, timeZone).toISO({
      suppressMilliseconds: false,
      includeOffset: true,
    }) as string;
  const minutes = offsetMinutesAt(ms, timeZone);
  const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 23);
  if (minutes === 0 && isUtcName(timeZone)) return `${local}Z`;
  const abs = Math.abs(minutes);
  return `${local}${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** The calendar day ("YYYY-MM-DD") that contains `ms` in `timeZone`. */
export function dayKey(ms: number, timeZone: string): string {
  if (!(ms >= MIN_FAST_MS && ms < MAX_FAST_MS)) return zoned(ms, timeZone).toISODate() as string;
  return new Date(ms + offsetMinutesAt(ms, timeZone) * 60_000).toISOString().slice(0, 10);
}

/** Epoch ms of an ISO-8601 instant with an explicit offset (or Z); undefined for anything else. */
export function parseIsoInstant(text: string): number | undefined {
  if (!ISO_INSTANT.test(text)) return undefined;
  const parsed = DateTime.fromISO(text, { setZone: true });
  return parsed.isValid ? parsed.toMillis() : undefined;
}

/** True for "YYYY-MM-DD" naming a real calendar date. */
export function isDayKey(text: string): boolean {
  return DAY_KEY.test(text) && DateTime.fromISO(text, { zone: 'utc' }).isValid;
}

/** The calendar day after `day` ("YYYY-MM-DD"). */
function nextDayKey(day: string): string {
  return DateTime.fromISO(day, { zone: 'utc' }).plus({ days: 1 }).toISODate() as string;
}

/**
 * The first instant of calendar day `day` in `timeZone`: usually local midnight, 01:00 where the
 * clocks jump over midnight, and the earlier of two midnights where they fall back across it
 * (luxon picks the later one there, so search back for the first instant that is on `day`).
 */
export function startOfDayMs(day: string, timeZone: string): number {
  if (!isDayKey(day)) throw new RangeError(`not a YYYY-MM-DD day: ${day}`);
  if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown time zone: ${timeZone}`);
  const local = DateTime.fromISO(day, { zone: timeZone });
  const candidate = local.toMillis();
  if (dayKey(candidate - 1, timeZone) < day) return candidate;
  let before = candidate - 6 * HOUR_MS; // no zone has shifted its clock by more than 2 h at once
  if (dayKey(before, timeZone) >= day)
    throw new RangeError(`cannot find the start of ${day} in ${timeZone}`);
  let onOrAfter = candidate;
  while (onOrAfter - before > 1) {
    const middle = before + Math.floor((onOrAfter - before) / 2);
    if (dayKey(middle, timeZone) >= day) onOrAfter = middle;
    else before = middle;
  }
  return onOrAfter;
}

export interface ZonedDay {
  readonly day: string;
  readonly startMs: number;
  /** Exclusive: the next day's start. */
  readonly endMs: number;
}

/**
 * The calendar days of `timeZone` from the day containing `fromMs` to the day containing `toMs`,
 * inclusive, each with its real length (23-25 h across daylight-saving switches). A date the zone
 * skipped entirely (Samoa, 2011-12-30) has no instants and is left out.
 */
export function zonedDays(fromMs: number, toMs: number, timeZone: string): ZonedDay[] {
  if (toMs < fromMs) throw new RangeError(`toMs (${toMs}) is before fromMs (${fromMs})`);
  const lastDay = dayKey(toMs, timeZone);
  const days: ZonedDay[] = [];
  let day = dayKey(fromMs, timeZone);
  let startMs = startOfDayMs(day, timeZone);
  while (day <= lastDay) {
    const next = nextDayKey(day);
    const endMs = startOfDayMs(next, timeZone);
    if (endMs > startMs) days.push({ day, startMs, endMs });
    day = next;
    startMs = endMs;
  }
  return days;
}
