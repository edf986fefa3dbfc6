import type { BackoffOptions } from './backoff';
import type { ClientClock, Random } from './clock';
import type { ClientMetrics } from './metrics';
import type { RetryBudgetOptions } from './retryBudget';
import type { ClosedEntry } from './soldOutMemory';
import type { ThrottleOptions } from './throttle';
import type { Transport, UndiciTransportOptions } from './transport';
import { DEFAULT_HORIZON_MS } from './trust';

export interface CouponClientOptions {
  /** The service's origin, e.g. http://coupon-service:8080. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** The whole call, every retry and wait included, ends within this. Default 5000. */
  deadlineMs?: number;
  /** Requests per call at most, the first included. Default 3. */
  maxAttempts?: number;
  /** No attempt starts with less of the deadline left than this. Default 100. */
  minAttemptMs?: number;
  /** Default { baseMs: 100, capMs: 2000 }. */
  backoff?: Partial<BackoffOptions>;
  /** Default { ratio: 0.1, windowMs: 10000, minRetries: 2 }. */
  retryBudget?: Partial<RetryBudgetOptions>;
  /** Default { k: 2, windowMs: 5000, minRequests: 10 }; one for claims, one for the rest; false: off. */
  throttle?: Partial<ThrottleOptions> | false;
  /** Default { spreadMs: 60000, finalMs: 60000 }; false: every claim goes to the service. */
  soldOutMemory?: { spreadMs?: number; finalMs?: number } | false;
  /**
   * The furthest ahead anything the service says is believed: every wait it names (Retry-After,
   * retryAfterSeconds, the time to a moment) is cut to it, and the sold-out memory holds no
   * campaign longer. Default 24 h.
   */
  horizonMs?: number;
  /** In-flight requests at most, and calls waiting for one. Default connections, 4 x connections. */
  bulkhead?: { maxConcurrent?: number; maxQueued?: number };
  /** The undici pool. Default { connections: 16, keepAliveTimeoutMs: 4000, connectTimeoutMs: 1000 }. */
  connection?: Partial<UndiciTransportOptions>;
  /** The wait a local refusal or a lost answer suggests, uniform in [min, max]. Default 1..5. */
  localRetryAfterSeconds?: { min: number; max: number };
  /** Keys derived from intent ids are hashed with this. Default 'coupons-client'. */
  idempotencyNamespace?: string;
  /** Replaces the undici pool (tests, instrumentation). */
  transport?: Transport;
  clock?: ClientClock;
  random?: Random;
  metrics?: ClientMetrics;
}

export interface CallOptions {
  /** This call's deadline instead of the client's. */
  deadlineMs?: number;
  /** Ends the call: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The policies' state now, for dashboards, benches and tests. */
export interface ClientState {
  /** The local refusal probability of each throttle (0 while the service accepts everything). */
  throttle: { claim: number; other: number };
  /** Retry tokens left. */
  retryTokens: number;
  /** Campaigns answered from memory now. */
  closedCampaigns: Record<string, ClosedEntry>;
  /** Claims that may have been served without an answer, remembered. */
  uncertainClaims: number;
  /** Free request slots and free queue places. */
  bulkhead: { free: number; queueFree: number };
}

export const DEFAULTS = {
  horizonMs: DEFAULT_HORIZON_MS,
  deadlineMs: 5_000,
  maxAttempts: 3,
  minAttemptMs: 100,
  localRetryAfterSeconds: { min: 1, max: 5 },
  idempotencyNamespace: 'coupons-client',
} as const;

export function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be > 0: ${value}`);
  return value;
}

export function atLeast1(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer >= 1: ${value}`);
  return value;
}
