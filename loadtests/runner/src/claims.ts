import { HEADERS, PATHS, retryAfterSeconds } from '@coupons/contract';
import type { RequestSpec, ResponseHeaders, Retry } from './types';

// Lower case, as node and undici give headers back.
const IDEMPOTENCY_KEY = HEADERS.idempotencyKey.toLowerCase();
const USER_ID = HEADERS.userId.toLowerCase();
const RETRY_AFTER = HEADERS.retryAfter.toLowerCase();

/** Where claims go and under which names. */
export interface ClaimTarget {
  campaign: string;
  apiKey: string;
  /** keeps userIds and Idempotency-Keys apart between runs: a replayed key would be a cheap 201 */
  runId: string;
}

/**
 * The claim of one user as the chat backend sends it: POST /v1/campaigns/{campaign}/coupons with
 * the bearer key and its Idempotency-Key, the user in the body and in X-User-Id too (the gate's
 * per-user layers see the user without reading the body).
 */
export function claimRequest(
  campaign: string,
  apiKey: string,
): (userId: string, idempotencyKey: string) => RequestSpec {
  const path = PATHS.claim(campaign);
  const authorization = `Bearer ${apiKey}`;
  return (userId, idempotencyKey) => ({
    method: 'POST',
    path,
    headers: {
      authorization,
      'content-type': 'application/json',
      [IDEMPOTENCY_KEY]: idempotencyKey,
      [USER_ID]: userId,
    },
    body: `{"userId":"${userId}"}`,
  });
}

/**
 * Logical claim i: the claim of user load-<runId>-<i>, with its own Idempotency-Key. The same spec
 * is resent on retry, so a retry is the same logical claim.
 */
export function claimRequests(target: ClaimTarget): (i: number) => RequestSpec {
  const claim = claimRequest(target.campaign, target.apiKey);
  return (i) => claim(`load-${target.runId}-${i}`, `${target.runId}-${i}`);
}

/** Retry-After in ms (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(headers: ResponseHeaders, nowMs = Date.now()): number | undefined {
  const raw = headers[RETRY_AFTER];
  const seconds = retryAfterSeconds(Array.isArray(raw) ? raw[0] : raw, nowMs);
  return seconds === undefined ? undefined : seconds * 1000;
}

/** Retry-storm clients: half retry at once, half honour Retry-After. */
export type Population = 'eager' | 'polite';
export const POPULATIONS: readonly Population[] = ['eager', 'polite'];

export function populationOf(i: number): Population {
  return i % 2 === 0 ? 'eager' : 'polite';
}

/**
 * When a client of this population sends a shed claim again (ms from now), or undefined when it
 * does not: only 429/503 are retried; eager clients at once, polite ones after Retry-After (or
 * 1 s, 2 s, 4 s... when the server gave none).
 */
export function retryDelayMs(
  population: Population,
  status: number,
  headers: ResponseHeaders,
  retriesSoFar: number,
  nowMs = Date.now(),
): number | undefined {
  if (status !== 429 && status !== 503) return undefined;
  if (population === 'eager') return 0;
  return retryAfterMs(headers, nowMs) ?? 1000 * 2 ** retriesSoFar;
}

export interface PopulationTally {
  /** logical claims */
  claims: number;
  /** logical claims that ended in 2xx */
  succeeded: number;
  /** follow-up requests sent */
  retries: number;
  /** shed, out of retries (or out of time before the schedule's end) */
  gaveUp: number;
  goodputPerSecond: number;
}

/** Counts each population's logical claims through onResponse and sends their retries. */
export class RetryStormBook {
  private readonly retriesOf: Uint8Array;
  private readonly tallies: Record<Population, Omit<PopulationTally, 'goodputPerSecond'>>;

  constructor(
    totalClaims: number,
    private readonly maxRetries: number,
  ) {
    if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 255) {
      throw new RangeError(`maxRetries must be an integer in 0..255: ${maxRetries}`);
    }
    this.retriesOf = new Uint8Array(totalClaims);
    const polite = Math.floor(totalClaims / 2);
    this.tallies = {
      eager: { claims: totalClaims - polite, succeeded: 0, retries: 0, gaveUp: 0 },
      polite: { claims: polite, succeeded: 0, retries: 0, gaveUp: 0 },
    };
  }

  readonly onResponse = (
    i: number,
    status: number,
    headers: ResponseHeaders,
    _body: string,
    retry: Retry,
  ): void => {
    const population = populationOf(i);
    const tally = this.tallies[population];
    if (status >= 200 && status < 300) {
      tally.succeeded += 1;
      return;
    }
    const retriesSoFar = this.retriesOf[i] ?? 0;
    const delayMs = retryDelayMs(population, status, headers, retriesSoFar);
    if (delayMs === undefined) return;
    if (retriesSoFar < this.maxRetries && retry(delayMs)) {
      this.retriesOf[i] = retriesSoFar + 1;
      tally.retries += 1;
    } else {
      tally.gaveUp += 1;
    }
  };

  summary(durationMs: number): Record<Population, PopulationTally> {
    const seconds = durationMs / 1000;
    const of = (population: Population): PopulationTally => {
      const tally = this.tallies[population];
      return { ...tally, goodputPerSecond: seconds > 0 ? tally.succeeded / seconds : 0 };
    };
    return { eager: of('eager'), polite: of('polite') };
  }
}

/** Business outcome of a tranche-exhaustion run, read from the answers' bodies. */
export interface ExhaustionSummary {
  issued: number;
  issuedValueFen: number;
  /** error code (or status when the body has none) -> count */
  answers: Record<string, number>;
  /** coupons issued after the first exhaustion answer: other shards still had budget */
  issuedAfterFirstExhaustion: number;
}

const EXHAUSTED = new Set(['TRANCHE_EXHAUSTED', 'CAMPAIGN_BUDGET_EXHAUSTED']);

export class ExhaustionBook {
  private issued = 0;
  private issuedValueFen = 0;
  private issuedAfterFirstExhaustion = 0;
  private exhaustedSeen = false;
  private readonly answers = new Map<string, number>();

  readonly onResponse = (
    _i: number,
    status: number,
    _headers: ResponseHeaders,
    body: string,
  ): void => {
    if (status >= 200 && status < 300) {
      this.issued += 1;
      this.issuedValueFen += couponValueFen(body);
      if (this.exhaustedSeen) this.issuedAfterFirstExhaustion += 1;
      return;
    }
    const code = errorCode(body) ?? String(status);
    if (EXHAUSTED.has(code)) this.exhaustedSeen = true;
    this.answers.set(code, (this.answers.get(code) ?? 0) + 1);
  };

  summary(): ExhaustionSummary {
    return {
      issued: this.issued,
      issuedValueFen: this.issuedValueFen,
      answers: Object.fromEntries([...this.answers].sort((a, b) => b[1] - a[1])),
      issuedAfterFirstExhaustion: this.issuedAfterFirstExhaustion,
    };
  }
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function errorCode(body: string): string | undefined {
  const code = (parse(body) as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

function couponValueFen(body: string): number {
  const value = (parse(body) as { coupon?: { valueFen?: unknown } } | undefined)?.coupon?.valueFen;
  return typeof value === 'number' ? value : 0;
}
