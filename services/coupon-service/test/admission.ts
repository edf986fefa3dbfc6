import {
  couponApi,
  metricsText,
  until,
  type ApiAnswer,
  type CampaignInput,
  type TestService,
} from './support';

/**
 * What the admission tests (admission.int.test.ts, admissionLimits.int.test.ts) share: the claim
 * as the gate reads it, the service's metrics by name and labels, and the checks of who answered
 * ("answered by the gate" is told apart from "answered by express" by X-Request-Id, which the
 * request layer sets on everything express serves and the gate never writes).
 */

export type Api = ReturnType<typeof couponApi>;

/** A claim, optionally with the X-User-Id header the gate reads (the body is not read there). */
export function claim(
  api: Api,
  userId: string,
  idempotencyKey: string,
  options: { userIdHeader?: string | false; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const header = options.userIdHeader === undefined ? userId : options.userIdHeader;
  return api.call('POST', '/coupons', {
    body: { userId },
    headers: {
      'Idempotency-Key': idempotencyKey,
      ...(header === false ? {} : { 'X-User-Id': header }),
      ...options.headers,
    },
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, one sample per line (no exemplars, no timestamps: prom-client's). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of `name` whose labels include `labels`. */
export function series(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  return parseMetrics(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of those samples (0 when there are none). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  return series(text, name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** coupon_admission_shed_total for one reason, all priorities or one. */
export function shed(text: string, reason: string, priority?: string): number {
  const labels: Record<string, string> = priority === undefined ? { reason } : { reason, priority };
  return metric(text, 'coupon_admission_shed_total', labels);
}

export async function metricNow(
  service: TestService,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return metric(await metricsText(service), name, labels);
}

/** Polls the service's metrics until `name{labels}` reads `expected`. */
export async function untilMetric(
  service: TestService,
  name: string,
  labels: Record<string, string>,
  expected: number,
): Promise<void> {
  let last = NaN;
  try {
    await until(`${name}${JSON.stringify(labels)} = ${expected}`, async () => {
      last = await metricNow(service, name, labels);
      return last === expected ? true : undefined;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message} (last read ${last})`, { cause: err });
  }
}

/** The contract's error shape, exactly, with Retry-After equal to retryAfterSeconds (>= 1). */
export function expectRetryableError(answer: ApiAnswer, status: number, code: string): number {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({
    error: { code, message: expect.any(String), retryAfterSeconds: expect.any(Number) },
  });
  const seconds = answer.body.error.retryAfterSeconds as number;
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(answer.headers.get('retry-after')).toBe(String(seconds));
  return seconds;
}

/** Answered before express: express would have set X-Request-Id. */
export function expectFromGate(answer: ApiAnswer): void {
  expect(answer.headers.get('x-request-id')).toBeNull();
}

/** Served by express (the gate admitted it). */
export function expectFromExpress(answer: ApiAnswer): void {
  expect(answer.headers.get('x-request-id')).toEqual(expect.any(String));
}

export async function issuedCoupons(
  service: TestService,
  campaign: CampaignInput,
): Promise<number> {
  const { issuedCoupons } = await service.ledgers.get(campaign.id)!.snapshot();
  if (issuedCoupons === null) throw new Error('the ledger does not know what it issued');
  return issuedCoupons;
}
