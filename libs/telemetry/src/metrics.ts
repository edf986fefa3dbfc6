import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  CLAIM_OUTCOMES,
  LEDGER_COMMANDS,
  LEDGER_FAULT_REASONS,
  REDEMPTION_OUTCOMES,
  REFUSAL_REASONS,
} from './labels';

/** Latency buckets in seconds: dense below 100 ms (the SLO), sparse up to the 2 s client timeout. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5,
];

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
  /** Requests the front door answered itself (bad target, no key, wrong scope, 404, 405, 400). */
  refused: Counter<'reason'>;
}

/** Methods a `method` label may take; anything else is `other`, so a caller cannot mint series. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'other';
}

/** Sub-millisecond to the command timeout: a Lua script on a healthy Redis takes ~0.1-1 ms. */
export const REDIS_LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/**
 * Money and ledger metrics. Labels are bounded: `campaign` comes from the campaigns file,
 * `outcome`, `reason` and `command` from fixed lists in the service; never user ids or codes.
 */
export interface CouponMetrics {
  claims: Counter<'campaign' | 'outcome'>;
  /** A claim's time from admission to its answer, by outcome (the same outcomes as claims). */
  claimDuration: Histogram<'campaign' | 'outcome'>;
  redemptions: Counter<'campaign' | 'outcome'>;
  issued: Counter<'campaign'>;
  issuedValueFen: Counter<'campaign'>;
  redisDuration: Histogram<'command'>;
  redisErrors: Counter<'command'>;
  ledgerFaults: Counter<'campaign' | 'reason'>;
  /** 1 while the Redis settings money depends on are safe (or not enforced), else 0. */
  redisSettingsOk: Gauge;
}

/**
 * Per campaign, sampled from Redis every few seconds (one read per interval, never per request).
 * A campaign whose budget is unknown (a shard lost or rolled back) has `known` 0 and no issued,
 * remaining or today-issued series: nobody knows them, and zero would be a lie.
 */
export interface BudgetMetrics {
  poolFen: Gauge<'campaign'>;
  releasedFen: Gauge<'campaign'>;
  issuedFen: Gauge<'campaign'>;
  remainingFen: Gauge<'campaign'>;
  todayTrancheFen: Gauge<'campaign'>;
  todayReleasedFen: Gauge<'campaign'>;
  todayIssuedFen: Gauge<'campaign'>;
  nextReleaseTimestampSeconds: Gauge<'campaign'>;
  known: Gauge<'campaign'>;
  /** Per shard: sold out happens shard by shard (a user is pinned to one). */
  shardRemainingCoupons: Gauge<'campaign' | 'shard'>;
}

export interface ServiceMetrics {
  registry: Registry;
  http: HttpMetrics;
  coupons: CouponMetrics;
  budget: BudgetMetrics;
  /** The build and the Node version serving (value 1). */
  buildInfo: Gauge<'version' | 'node'>;
  /** The claims/s one pod is planned for: what the autoscaler and the dashboard divide demand by. */
  claimCapacityPerPod: Gauge;
}

/**
 * Every metric of the service lives in one registry passed in, so tests get a fresh one each
 * and never share prom-client's global default.
 */
export function createServiceMetrics(registry: Registry = new Registry()): ServiceMetrics {
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  return {
    registry,
    http: {
      requests: new Counter({
        name: 'coupon_http_requests_total',
        help: 'HTTP requests served by express, by route pattern and status',
        labelNames,
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'coupon_http_request_duration_seconds',
        help: 'Time from request start to response finish, by route pattern and status',
        labelNames,
        buckets: [...LATENCY_BUCKETS_SECONDS],
        registers: [registry],
      }),
      refused: new Counter({
        name: 'coupon_http_refused_total',
        help: 'Requests the front door answered before any other work: target, unauthenticated, forbidden, not_found, method_not_allowed, bad_request',
        labelNames: ['reason'],
        registers: [registry],
      }),
    },
    coupons: createCouponMetrics(registry),
    budget: createBudgetMetrics(registry),
    buildInfo: new Gauge({
      name: 'coupon_build_info',
      help: 'The version of the service and of Node serving (value 1)',
      labelNames: ['version', 'node'],
      registers: [registry],
    }),
    claimCapacityPerPod: new Gauge({
      name: 'coupon_claim_capacity_per_pod',
      help: 'Claims per second one pod is planned for (CLAIM_CAPACITY_PER_POD, from npm run bench): the autoscaler divides demand by it',
      registers: [registry],
    }),
  };
}

/** The server errors the service answers itself: a bug (500), a fault it failed closed on (503). */
export const SERVER_ERROR_STATUSES = ['500', '503'] as const;

/**
 * Zero, not absent, before the first event: every counter series of the fixed label lists (for
 * these campaigns and routes) exists from the start, so rate(), the alerts and the dashboard
 * answer 0 ("no Redis errors") instead of no data, and the first event is a rise from 0 that
 * rate() sees. Histograms are left to their first observation (a dozen series each).
 */
export function initialiseSeries(
  metrics: ServiceMetrics,
  scope: {
    campaigns: readonly string[];
    routes: readonly { method: string; route: string }[];
  },
): void {
  const { http, coupons } = metrics;
  for (const reason of REFUSAL_REASONS) http.refused.inc({ reason }, 0);
  for (const { method, route } of scope.routes)
    for (const status of SERVER_ERROR_STATUSES)
      http.requests.inc({ method: methodLabel(method), route, status }, 0);
  for (const command of LEDGER_COMMANDS) coupons.redisErrors.inc({ command }, 0);
  for (const campaign of scope.campaigns) {
    coupons.issued.inc({ campaign }, 0);
    coupons.issuedValueFen.inc({ campaign }, 0);
    for (const outcome of CLAIM_OUTCOMES) coupons.claims.inc({ campaign, outcome }, 0);
    for (const outcome of REDEMPTION_OUTCOMES) coupons.redemptions.inc({ campaign, outcome }, 0);
    for (const reason of LEDGER_FAULT_REASONS) coupons.ledgerFaults.inc({ campaign, reason }, 0);
  }
}

function createBudgetMetrics(registry: Registry): BudgetMetrics {
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['campaign'], registers: [registry] });
  return {
    poolFen: gauge('coupon_budget_pool_fen', "The campaign's whole pool, in fen"),
    releasedFen: gauge('coupon_budget_released_fen', 'Budget released so far, all days, in fen'),
    issuedFen: gauge(
      'coupon_budget_issued_fen',
      'Coupons issued so far (with written-off), in fen',
    ),
    remainingFen: gauge('coupon_budget_remaining_fen', 'Released and not issued, in fen'),
    todayTrancheFen: gauge('coupon_budget_today_tranche_fen', "Today's whole tranche, in fen"),
    todayReleasedFen: gauge(
      'coupon_budget_today_released_fen',
      "Today's tranche released so far, in fen",
    ),
    todayIssuedFen: gauge('coupon_budget_today_issued_fen', 'Issued today, in fen'),
    nextReleaseTimestampSeconds: gauge(
      'coupon_budget_next_release_timestamp_seconds',
      'When the next slice is released (epoch seconds)',
    ),
    known: gauge(
      'coupon_budget_known',
      '1 when every shard of the campaign has a trustworthy ledger, 0 when one is lost or rolled back',
    ),
    // `shard` is bounded by the campaign's shards (16 by default), never a user or a code.
    shardRemainingCoupons: new Gauge({
      name: 'coupon_budget_shard_remaining_coupons',
      help: "Released to the shard and not issued, in coupons (absent while the shard's ledger is unknown)",
      labelNames: ['campaign', 'shard'],
      registers: [registry],
    }),
  };
}

function createCouponMetrics(registry: Registry): CouponMetrics {
  const registers = [registry];
  return {
    claims: new Counter({
      name: 'coupon_claims_total',
      help: 'Claims answered by the ledger (or refused by a fault), by outcome',
      labelNames: ['campaign', 'outcome'],
      registers,
    }),
    claimDuration: new Histogram({
      name: 'coupon_claim_duration_seconds',
      help: 'A claim from admission to its answer, by outcome (shed answers are not claims here)',
      labelNames: ['campaign', 'outcome'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    }),
    redemptions: new Counter({
      name: 'coupon_redemptions_total',
      help: 'Redemptions and reversals answered by the ledger (or refused by a fault), by outcome',
      labelNames: ['campaign', 'outcome'],
      registers,
    }),
    issued: new Counter({
      name: 'coupon_issued_total',
      help: 'Coupons issued (replays not counted)',
      labelNames: ['campaign'],
      registers,
    }),
    issuedValueFen: new Counter({
      name: 'coupon_issued_value_fen_total',
      help: 'Face value of the coupons issued, in fen (replays not counted)',
      labelNames: ['campaign'],
      registers,
    }),
    redisDuration: new Histogram({
      name: 'coupon_redis_command_duration_seconds',
      help: 'Time of one ledger operation against Redis (issue, redeem, reverse, read, budget)',
      labelNames: ['command'],
      buckets: [...REDIS_LATENCY_BUCKETS_SECONDS],
      registers,
    }),
    redisErrors: new Counter({
      name: 'coupon_redis_errors_total',
      help: 'Ledger operations that failed because Redis did not answer (down, timeout, cluster)',
      labelNames: ['command'],
      registers,
    }),
    ledgerFaults: new Counter({
      name: 'coupon_ledger_faults_total',
      help: 'Claims and redemptions refused with 503 because the ledger cannot be trusted (missing, rolled back, other settings, clock, unsafe Redis settings)',
      labelNames: ['campaign', 'reason'],
      registers,
    }),
    redisSettingsOk: new Gauge({
      name: 'coupon_redis_settings_ok',
      help: '1 while Redis has settings that cannot lose coupons (noeviction; AOF in production), 0 while money is refused for them',
      registers,
    }),
  };
}
