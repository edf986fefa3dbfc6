import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { z } from 'zod';
import {
  dayKey,
  isDayKey,
  isValidTimeZone,
  parseIsoInstant,
  startOfDayMs,
  toZonedIso,
  zonedDays,
} from './time';

/**
 * A campaign as the campaigns file defines it, parsed and checked (`parseCampaigns`). What the API
 * answers about a campaign is another thing: @coupons/contract's `Campaign`.
 */
export interface CampaignConfig {
  readonly id: string;
  readonly name: string;
  readonly currency: 'CNY';
  readonly poolFen: number;
  readonly couponValueFen: number;
  readonly minOrderFen: number;
  /** How many of this campaign's coupons one order may carry (redemptions per orderId). */
  readonly couponsPerOrder: number;
  readonly timeZone: string;
  /** Epoch ms. */
  readonly startsAt: number;
  /** Epoch ms, inclusive: the campaign runs while startsAt <= t <= endsAt. */
  readonly endsAt: number;
  readonly couponExpiresAt: number;
  readonly perUser: { readonly daily: number; readonly total: number };
  readonly release: {
    readonly slicesPerDay: number;
    readonly rollover: boolean;
    readonly dayWeights: Readonly<Record<string, number>>;
  };
  readonly shards: number;
}

/** A campaign id: in a URL path and a Redis hash tag, so no braces, slashes or case. */
export const CAMPAIGN_ID_PATTERN = /^[a-z0-9-]{1,64}$/;

export const MAX_SLICES_PER_DAY = 1440;
export const MAX_SHARDS = 1024;
/** More than a year (with a leap day): bounds the precomputed calendar of a mistyped endsAt. */
export const MAX_CAMPAIGN_DAYS = 400;
export const MAX_COUPON_EXPIRY_DAYS_AFTER_END = 31;

/** Every problem of a campaigns file, one per line, each starting with its path. */
export class CampaignConfigError extends Error {
  override readonly name = 'CampaignConfigError';
  readonly issues: string[];

  constructor(issues: readonly string[]) {
    super(issues.join('\n'));
    this.issues = [...issues];
  }
}

type Path = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `campaigns[0].release.dayWeights["2026-03-01"]`: the path as a person would type it in JS. */
function formatPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) {
      text += text === '' ? segment : `.${segment}`;
    } else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text === '' ? '(root)' : text;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Readonly<Record<string, string>> = {
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'an array',
};

// Messages for the base types; the checks below carry their own.
const errorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
  }
  if (issue.code === 'invalid_value') {
    return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describeValue(issue.input)}`;
  }
  return undefined;
};

function integer(min: number, max: number, unit: '' | ' fen' = ''): z.ZodType<number> {
  return z.number().superRefine((value, ctx) => {
    if (!Number.isInteger(value)) {
      const what = unit === '' ? 'a whole number' : 'a whole number of fen';
      ctx.addIssue({ code: 'custom', message: `must be ${what}, got ${value}` });
    }
    if (value < min) {
      const message = min === 0 ? 'must not be negative' : `must be at least ${min}${unit}`;
      ctx.addIssue({ code: 'custom', message: `${message}, got ${value}` });
    }
    if (value > max) {
      const limit =
        max === Number.MAX_SAFE_INTEGER ? `Number.MAX_SAFE_INTEGER (${max})` : String(max);
      ctx.addIssue({ code: 'custom', message: `must not exceed ${limit}${unit}, got ${value}` });
    }
  });
}

const fen = (min: number) => integer(min, Number.MAX_SAFE_INTEGER, ' fen');

const instant = z.string().transform((text, ctx) => {
  const ms = parseIsoInstant(text);
  if (ms !== undefined) return ms;
  ctx.issues.push({
    code: 'custom',
    input: text,
    message: `must be an ISO-8601 date-time with an explicit offset that exists on the calendar, e.g. "2026-02-06T00:00:00+08:00", got ${quote(text)}`,
  });
  return z.NEVER;
});

// Values are checked here rather than by the record's value schema so that a bad value does not
// hide the other entries' problems.
const dayWeights = z.record(z.string(), z.unknown()).transform((record, ctx) => {
  for (const [day, weight] of Object.entries(record)) {
    if (!isDayKey(day)) {
      ctx.issues.push({
        code: 'custom',
        input: day,
        path: [day],
        message: 'must be keyed by a calendar day "YYYY-MM-DD"',
      });
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      ctx.issues.push({
        code: 'custom',
        input: weight,
        path: [day],
        message: `must be a positive finite number, got ${describeValue(weight)}`,
      });
    }
  }
  return record as Record<string, number>;
});

const campaignShape = {
  id: z
    .string()
    .regex(CAMPAIGN_ID_PATTERN, { error: 'must be 1-64 characters of a-z, 0-9 and "-"' }),
  name: z.string().refine((name) => name.trim() !== '', { error: 'must not be empty' }),
  currency: z.literal('CNY'),
  poolFen: fen(0),
  couponValueFen: fen(1),
  minOrderFen: fen(0).default(0),
  couponsPerOrder: integer(1, 100).default(1),
  timeZone: z.string().refine(isValidTimeZone, {
    error: (issue) =>
      `must be an IANA time zone such as "Asia/Shanghai", got ${describeValue(issue.input)}`,
  }),
  startsAt: instant,
  endsAt: instant,
  couponExpiresAt: instant.optional(),
  perUser: z.strictObject({
    daily: integer(1, Number.MAX_SAFE_INTEGER),
    total: integer(1, Number.MAX_SAFE_INTEGER),
  }),
  release: z.strictObject({
    slicesPerDay: integer(1, MAX_SLICES_PER_DAY),
    rollover: z.boolean().default(true),
    dayWeights: dayWeights.default(() => ({})),
  }),
  shards: integer(1, MAX_SHARDS),
};

const campaignSchema = z.strictObject(campaignShape);

const fileSchema = z.strictObject({
  campaigns: z.array(z.unknown()).min(1, { error: 'must list at least one campaign' }),
});

type FieldName = keyof typeof campaignShape;
type Fields = { [K in FieldName]: z.output<(typeof campaignShape)[K]> };

interface IssueSink {
  add(path: Path, message: string): void;
  readonly count: number;
}

function reportZodIssues(sink: IssueSink, prefix: Path, issues: readonly z.core.$ZodIssue[]): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) sink.add([...path, key], 'unknown field');
    } else sink.add(path, issue.message);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Feb 28 23:59:59.999 in the campaign's zone of the year in which it ends (in that zone). */
export function defaultCouponExpiresAt(endsAt: number, timeZone: string): number {
  const year = DateTime.fromMillis(endsAt, { zone: timeZone }).year;
  return DateTime.fromObject(
    { year, month: 2, day: 28, hour: 23, minute: 59, second: 59, millisecond: 999 },
    { zone: timeZone },
  ).toMillis();
}

/**
 * Checks that involve several fields, run on whichever of those fields parsed on their own, so a
 * campaign with a broken field still gets its other problems reported. Returns the coupon expiry
 * (given or defaulted) when it could be worked out.
 */
function checkAcrossFields(
  raw: Record<string, unknown>,
  at: Path,
  sink: IssueSink,
): number | undefined {
  const field = <K extends FieldName>(name: K): Fields[K] | undefined => {
    const result = campaignShape[name].safeParse(raw[name], { error: errorMap });
    return result.success ? (result.data as Fields[K]) : undefined;
  };

  const poolFen = field('poolFen');
  const couponValueFen = field('couponValueFen');
  if (poolFen !== undefined && couponValueFen !== undefined) {
    if (couponValueFen > poolFen) {
      sink.add([...at, 'couponValueFen'], `must not exceed poolFen (${poolFen})`);
    }
    if (poolFen % couponValueFen !== 0) {
      sink.add([...at, 'poolFen'], `must be a multiple of couponValueFen (${couponValueFen})`);
    }
  }

  const perUser = raw['perUser'];
  if (isPlainObject(perUser)) {
    const limits = campaignShape.perUser.shape;
    const daily = limits.daily.safeParse(perUser['daily']);
    const total = limits.total.safeParse(perUser['total']);
    if (daily.success && total.success && daily.data > total.data) {
      sink.add([...at, 'perUser', 'daily'], `must not exceed perUser.total (${total.data})`);
    }
  }

  const timeZone = field('timeZone');
  const startsAt = field('startsAt');
  const endsAt = field('endsAt');
  if (startsAt !== undefined && endsAt !== undefined && endsAt <= startsAt) {
    sink.add([...at, 'endsAt'], 'must be after startsAt');
  }
  if (timeZone === undefined || endsAt === undefined) return undefined;

  if (startsAt !== undefined && endsAt > startsAt) {
    checkDays(raw, at, sink, timeZone, startsAt, endsAt);
  }
  return checkCouponExpiry(raw, at, sink, timeZone, endsAt, field('couponExpiresAt'));
}

function checkDays(
  raw: Record<string, unknown>,
  at: Path,
  sink: IssueSink,
  timeZone: string,
  startsAt: number,
  endsAt: number,
): void {
  const tooLong = `the campaign may span at most ${MAX_CAMPAIGN_DAYS} calendar days in ${timeZone}`;
  // A mistyped year would make zonedDays walk for centuries: bound it before walking.
  if (endsAt - startsAt > (MAX_CAMPAIGN_DAYS + 1) * 26 * 3_600_000) {
    sink.add([...at, 'endsAt'], tooLong);
    return;
  }
  const days = zonedDays(startsAt, endsAt, timeZone);
  if (days.length > MAX_CAMPAIGN_DAYS) {
    sink.add([...at, 'endsAt'], `${tooLong}, this one spans ${days.length}`);
  }
  const first = days[0]?.day;
  const last = days[days.length - 1]?.day;
  const campaignDays = new Set(days.map((day) => day.day));
  const release = raw['release'];
  const weights = isPlainObject(release) ? release['dayWeights'] : undefined;
  if (!isPlainObject(weights)) return;
  for (const day of Object.keys(weights)) {
    if (isDayKey(day) && !campaignDays.has(day)) {
      sink.add(
        [...at, 'release', 'dayWeights', day],
        `is not a day of the campaign (${first} to ${last} in ${timeZone})`,
      );
    }
  }
}

function checkCouponExpiry(
  raw: Record<string, unknown>,
  at: Path,
  sink: IssueSink,
  timeZone: string,
  endsAt: number,
  given: number | undefined,
): number | undefined {
  const defaulted = raw['couponExpiresAt'] === undefined;
  if (!defaulted && given === undefined) return undefined; // already reported as a bad date
  const expiresAt = given ?? defaultCouponExpiresAt(endsAt, timeZone);
  const lastDay = dayKey(endsAt, timeZone);
  const earliest = startOfDayMs(lastDay, timeZone);
  const latest = DateTime.fromMillis(endsAt, { zone: timeZone })
    .plus({ days: MAX_COUPON_EXPIRY_DAYS_AFTER_END })
    .toMillis();
  const subject = defaulted
    ? `the default (Feb 28 23:59:59.999 of the year endsAt falls in: ${toZonedIso(expiresAt, timeZone)})`
    : 'must not be';
  const fix = defaulted ? '; set couponExpiresAt' : '';
  const path = [...at, 'couponExpiresAt'];
  if (expiresAt < earliest) {
    const problem = defaulted ? `${subject} is` : subject;
    sink.add(
      path,
      `${problem} before the campaign's last day (${lastDay} in ${timeZone}) starts${fix}`,
    );
    return undefined;
  }
  if (expiresAt > latest) {
    const problem = defaulted ? `${subject} is` : subject;
    sink.add(
      path,
      `${problem} more than ${MAX_COUPON_EXPIRY_DAYS_AFTER_END} days after endsAt (${toZonedIso(latest, timeZone)} at the latest)${fix}`,
    );
    return undefined;
  }
  return expiresAt;
}

/** Freezes a parsed configuration object and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a whole campaigns file object, `{"campaigns": [...]}`, and returns its campaigns deeply
 * frozen, with defaults applied. Throws one CampaignConfigError listing every violation.
 */
export function parseCampaigns(input: unknown): readonly CampaignConfig[] {
  const issues: string[] = [];
  const sink: IssueSink = {
    add: (path, message) => issues.push(`${formatPath(path)}: ${message}`),
    get count() {
      return issues.length;
    },
  };

  const file = fileSchema.safeParse(input, { error: errorMap });
  if (!file.success) {
    reportZodIssues(sink, [], file.error.issues);
    // The campaigns are still checked when only their container has a problem (an unknown field).
    if (!isPlainObject(input) || !Array.isArray(input['campaigns']))
      throw new CampaignConfigError(issues);
  }
  const entries: unknown[] = file.success
    ? file.data.campaigns
    : (input as { campaigns: unknown[] }).campaigns;

  const campaigns: CampaignConfig[] = [];
  const firstIndexById = new Map<string, number>();
  entries.forEach((raw, index) => {
    const at: Path = ['campaigns', index];
    const before = sink.count;
    const parsed = campaignSchema.safeParse(raw, { error: errorMap });
    if (!parsed.success) reportZodIssues(sink, at, parsed.error.issues);
    if (!isPlainObject(raw)) return;

    const couponExpiresAt = checkAcrossFields(raw, at, sink);
    const id = campaignShape.id.safeParse(raw['id']);
    if (id.success) {
      const first = firstIndexById.get(id.data);
      if (first === undefined) firstIndexById.set(id.data, index);
      else sink.add([...at, 'id'], `duplicate id ${quote(id.data)} (also campaigns[${first}])`);
    }
    if (parsed.success && couponExpiresAt !== undefined && sink.count === before) {
      campaigns.push({ ...parsed.data, couponExpiresAt });
    }
  });

  if (issues.length > 0) throw new CampaignConfigError(issues);
  return deepFreeze(campaigns);
}

/** Reads and validates a campaigns file; an unreadable file or bad JSON is a CampaignConfigError too. */
export function loadCampaignsFile(path: string): readonly CampaignConfig[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CampaignConfigError([`${path}: cannot read the file (${(err as Error).message})`]);
  }
  let input: unknown;
  try {
    input = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new CampaignConfigError([`${path}: not valid JSON (${(err as Error).message})`]);
  }
  return parseCampaigns(input);
}
