/**
 * Settings from k6's `__ENV` (`k6 run -e NAME=value ...` or the process environment), read in the
 * init context of every VU. A missing or malformed value throws there, so k6 stops before it sends
 * any load, with a message that names the variable.
 */

export interface Config {
  /** The API port, without a trailing slash. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly campaignId: string;
  /** Claims per second the deployment is sized for; the scenarios are multiples of it. */
  readonly capacity: number;
  /** Size of the pool userIds are drawn from; 0 = a fresh userId for every logical claim. */
  readonly users: number;
  /** Client timeout of one request; also sent as `X-Request-Timeout-Ms`. */
  readonly requestTimeoutMs: number;
  /** Where handleSummary writes `<scenario>-summary.json`, relative to k6's working directory. */
  readonly resultsDir: string;
  /** Cap on the VUs of one scenario (the generator's memory); undefined = what the rate needs. */
  readonly maxVUs: number | undefined;
}

function env(name: string): string | undefined {
  const value = __ENV[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function stringEnv(name: string, fallback: string): string {
  return env(name) ?? fallback;
}

export function numberEnv(
  name: string,
  fallback: number,
  { min = 0, integer = false }: { min?: number; integer?: boolean } = {},
): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
    throw new Error(
      `${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`,
    );
  return value;
}

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds in a k6 duration string such as "90s", "30m" or "1h30m". */
export function durationSeconds(text: string): number {
  if (!DURATION.test(text))
    throw new Error(`not a duration like "90s", "30m" or "1h30m": "${text}"`);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let seconds = 0;
  for (let match = part.exec(text); match !== null; match = part.exec(text))
    seconds += Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
  return seconds;
}

/** A k6 duration from the environment, checked; `durationSeconds` gives its length. */
export function durationEnv(name: string, fallback: string): string {
  const value = env(name) ?? fallback;
  if (!DURATION.test(value) || durationSeconds(value) <= 0)
    throw new Error(`${name} must be a duration like "90s", "30m" or "1h30m", got "${value}"`);
  return value;
}

const USER_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function loadConfig(): Config {
  const baseUrl = stringEnv('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl))
    throw new Error(
      `BASE_URL must be an http(s) URL such as http://127.0.0.1:8080, got "${baseUrl}"`,
    );
  const apiKey = env('API_KEY');
  if (apiKey === undefined)
    throw new Error(
      'API_KEY is required: a key with the coupons:issue and budget:read scopes (smoke also needs ' +
        'coupons:read and coupons:redeem); `npm start` prints a development key with every scope',
    );
  const campaignId = stringEnv('CAMPAIGN_ID', 'spring-festival-2027');
  if (!USER_ID.test(campaignId))
    throw new Error(`CAMPAIGN_ID must be 1-64 of A-Z a-z 0-9 . _ -, got "${campaignId}"`);
  const maxVUs = numberEnv('MAX_VUS', 0, { min: 0, integer: true });
  return {
    baseUrl,
    apiKey,
    campaignId,
    capacity: numberEnv('CAPACITY', 1000, { min: 1 }),
    users: numberEnv('USERS', 0, { min: 0, integer: true }),
    requestTimeoutMs: numberEnv('REQUEST_TIMEOUT_MS', 2000, { min: 1, integer: true }),
    resultsDir: stringEnv('RESULTS_DIR', 'loadtests/results').replace(/\/+$/, ''),
    maxVUs: maxVUs === 0 ? undefined : maxVUs,
  };
}

/**
 * Prefix of every userId and Idempotency-Key of one run, so that runs do not replay each other's
 * claims or share users' limits. RUN_ID pins it (to repeat a run against the same users).
 */
export function newRunId(): string {
  const pinned = env('RUN_ID');
  if (pinned === undefined) return Date.now().toString(36);
  if (!/^[A-Za-z0-9._-]{1,16}$/.test(pinned))
    throw new Error(`RUN_ID must be 1-16 of A-Z a-z 0-9 . _ -, got "${pinned}"`);
  return pinned;
}

/**
 * VUs an arrival-rate scenario needs: pre-allocated for iterations of `typicalSeconds` (default
 * 0.1 s, an answer of about 100 ms), and at most what `ratePerSecond` iterations of
 * `worstSeconds` keep busy at once. When k6 runs out of VUs it drops iterations instead of sending
 * them late (no coordinated omission); the `dropped_iterations` threshold then says the generator,
 * not the service, fell short. MAX_VUS caps both numbers for a generator with less memory.
 */
export function vusFor(
  config: Config,
  ratePerSecond: number,
  worstSeconds: number,
  typicalSeconds = 0.1,
): { preAllocatedVUs: number; maxVUs: number } {
  const cap = config.maxVUs ?? Number.MAX_SAFE_INTEGER;
  const preAllocatedVUs = Math.min(cap, Math.max(2, Math.ceil(ratePerSecond * typicalSeconds)));
  const maxVUs = Math.min(cap, Math.max(preAllocatedVUs, Math.ceil(ratePerSecond * worstSeconds)));
  return { preAllocatedVUs, maxVUs };
}
