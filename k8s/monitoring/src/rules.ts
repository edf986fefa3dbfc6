import { FAULT_OUTCOMES, GOODPUT_OUTCOMES, OVERLOAD_SHED_REASONS } from './metrics';
import { platformAlerts } from './platformRules';
import {
  alertRule,
  alternatives,
  byJob,
  defaultRuleOptions,
  isAlert,
  where,
  type AlertRule,
  type RecordingRule,
  type RuleGroup,
  type RuleOptions,
  type Severity,
} from './ruleModel';

export * from './ruleModel';

/**
 * The one source of the service's Prometheus rules: SLI recording rules and every alert. The
 * generator writes them as a plain rules file and as a PrometheusRule; the runbook has a section
 * for each alert.
 */

/** The generator's parameters when none are given (read from the manifests). */
export const DEFAULT_RULE_OPTIONS: RuleOptions = defaultRuleOptions();
/** The scrape job of the service, by default (the base Service's name). */
export const SERVICE_JOB = DEFAULT_RULE_OPTIONS.serviceJob;
/** The scrape job of the recorder, by default (its Service's name). */
export const RECORDER_JOB = DEFAULT_RULE_OPTIONS.recorderJob;
/** The autoscaler KEDA makes for the service's ScaledObject, by default. */
export const SERVICE_HPA = DEFAULT_RULE_OPTIONS.autoscaler;
/** Where the runbook lives, by default. */
export const RUNBOOK_BASE_URL = DEFAULT_RULE_OPTIONS.runbookBaseUrl;
/** The route a claim is served on (express's pattern, the `route` label). */
export const CLAIM_ROUTE = '/v1/campaigns/:campaignId/coupons';

/** 99.9% of claims received end in something other than a server fault (30 days). */
export const AVAILABILITY_SLO = 0.999;
/** 99% of the claims the ledger answered are answered within LATENCY_THRESHOLD_SECONDS. */
export const LATENCY_SLO = 0.99;
/** A bucket boundary of coupon_claim_duration_seconds (the `le` label, as exported). */
export const LATENCY_THRESHOLD_SECONDS = '0.1';

/** The windows the multi-window, multi-burn-rate alerts read. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

/**
 * The Google SRE workbook's burn-rate pairs for a 30-day budget: a long window that measures
 * enough of the budget to matter and a short one (1/12 of it) that ends the alert soon after the
 * burn stops.
 */
export const BURN_RATE_PAIRS: readonly {
  long: SliWindow;
  short: SliWindow;
  factor: number;
  severity: Severity;
}[] = [
  { long: '1h', short: '5m', factor: 14.4, severity: 'page' }, // 2% of the budget in an hour
  { long: '6h', short: '30m', factor: 6, severity: 'page' }, // 5% in six hours
  { long: '1d', short: '2h', factor: 3, severity: 'ticket' }, // 10% in a day
  { long: '3d', short: '6h', factor: 1, severity: 'ticket' }, // 10% in three days
];

/** Share of overload sheds that, with the autoscaler at its ceiling, means the fleet is too small. */
export const SHED_AT_MAX_RATIO = 0.5;
/** Ledger calls failing that page (ten times the whole claim error budget). */
export const REDIS_ERROR_RATIO = 0.01;
/** Today's issued / released at which the released budget counts as gone. */
export const BURN_AHEAD_RATIO = 0.99;
/** ... and how far the next release must still be for that to be early. */
export const BURN_AHEAD_MIN_WAIT_SECONDS = 30 * 60;
/** A tranche gone with more than this left until the next (next day's) release is early. */
export const TRANCHE_EARLY_SECONDS = 6 * 3600;
/** How often the reconcile CronJob runs (every 15 minutes; a test reads its schedule). */
export const RECONCILE_EVERY_SECONDS = 15 * 60;
/** Four runs in a row without a result is a broken CronJob, not a slow or skipped one. */
export const RECONCILE_STALE_SECONDS = 4 * RECONCILE_EVERY_SECONDS;
/**
 * Share of the claims offered that the gate turns away for lack of capacity, held over both
 * windows, that pages whatever the autoscaler says: a fleet that cannot grow (ceiling, quota,
 * pods that do not start, an autoscaler that is blind or mis-sized) looks the same to the crowd.
 */
export const SUSTAINED_SHED_RATIO = 0.2;
/** The long and short windows of that share. */
export const SUSTAINED_SHED_WINDOWS = ['30m', '5m'] as const;

/**
 * Entries of one campaign's streams not yet in PostgreSQL that mean the recorder is not keeping
 * up: about a minute of claims at the whole fleet's planned peak, held for 10 minutes.
 */
export const RECORDER_LAG_EVENTS = 50_000;
/** An unrecorded event older than this is history a Redis loss now would take with it. */
export const RECORDER_OLDEST_AGE_SECONDS = 300;

// ---------------------------------------------------------------------------------------------
// SLI recording rules
// ---------------------------------------------------------------------------------------------

export const availabilityErrorRatio = (w: SliWindow): string =>
  `namespace_job:coupon_claim_availability_errors:ratio_rate${w}`;
export const latencyErrorRatio = (w: SliWindow): string =>
  `namespace_job:coupon_claim_latency_errors:ratio_rate${w}`;

const claimsReceived = (w: string): string =>
  `rate(coupon_requests_received_total{priority="claim"}[${w}])`;

/**
 * Bad claims: answered 503 because the ledger or Redis failed (outcome "unavailable") plus every
 * other 5xx express answered on the claim route. A bug is an "error" outcome and a 500, so it is
 * counted once, by its status. 503s on the route are left out of the second term: they are the
 * faults already counted, deadline drops and shed answers, and neither of the last two is a
 * fault. The `0 *` term keeps the sum at 0 (not empty) while nothing failed.
 */
function availabilityRule(w: SliWindow): RecordingRule {
  return {
    record: availabilityErrorRatio(w),
    expr: `sum by (${byJob}) (
    rate(coupon_claims_total{outcome="unavailable"}[${w}])
  or
    rate(coupon_http_requests_total{method="POST", route="${CLAIM_ROUTE}", status=~"5..", status!="503"}[${w}])
  or
    0 * ${claimsReceived(w)}
)
/
sum by (${byJob}) (${claimsReceived(w)})
`,
  };
}

/** Latency counts the claims the ledger answered without a fault (faults are availability's). */
const SERVED_CLAIM = `outcome!~"${alternatives(FAULT_OUTCOMES)}"`;

function latencyRule(w: SliWindow): RecordingRule {
  return {
    record: latencyErrorRatio(w),
    expr: `1 - (
  sum by (${byJob}) (rate(coupon_claim_duration_seconds_bucket{le="${LATENCY_THRESHOLD_SECONDS}", ${SERVED_CLAIM}}[${w}]))
  /
  sum by (${byJob}) (rate(coupon_claim_duration_seconds_count{${SERVED_CLAIM}}[${w}]))
)
`,
  };
}

const overloadReasons = `reason=~"${alternatives(OVERLOAD_SHED_REASONS)}"`;

/** Claims shed for overload over claims offered, over a window. */
export const claimsShedRatio = (w: string): string =>
  `namespace_job:coupon_claims_shed_overload:ratio_rate${w}`;

function claimsShedRule(w: string): RecordingRule {
  return {
    record: claimsShedRatio(w),
    expr: `(
    sum by (${byJob}) (rate(coupon_admission_shed_total{priority="claim", ${overloadReasons}}[${w}]))
  or
    0 * ${`sum by (${byJob}) (${claimsReceived(w)})`}
)
/
sum by (${byJob}) (${claimsReceived(w)})
`,
  };
}

const sliRules: RuleGroup = {
  name: 'coupon-service.sli',
  rules: [
    ...SLI_WINDOWS.map(availabilityRule),
    ...SLI_WINDOWS.map(latencyRule),
    {
      record: 'namespace_job:coupon_claim_duration_seconds:p99_rate5m',
      expr: `histogram_quantile(0.99, sum by (${byJob}, le) (rate(coupon_claim_duration_seconds_bucket{${SERVED_CLAIM}}[5m])))\n`,
    },
    {
      record: 'namespace_job:coupon_requests_received:rate5m',
      expr: `sum by (${byJob}) (rate(coupon_requests_received_total[5m]))\n`,
    },
    {
      record: 'namespace_job:coupon_claims_received:rate5m',
      expr: `sum by (${byJob}) (${claimsReceived('5m')})\n`,
    },
    {
      record: 'namespace_job:coupon_claims_goodput:rate5m',
      expr: `sum by (${byJob}) (rate(coupon_claims_total{outcome=~"${alternatives(GOODPUT_OUTCOMES)}"}[5m]))\n`,
    },
    {
      record: 'namespace_job:coupon_requests_shed:ratio_rate5m',
      expr: `(
    sum by (${byJob}) (rate(coupon_admission_shed_total[5m]))
  or
    0 * sum by (${byJob}) (rate(coupon_requests_received_total[5m]))
)
/
sum by (${byJob}) (rate(coupon_requests_received_total[5m]))
`,
    },
    {
      record: 'namespace_job:coupon_requests_shed_overload:ratio_rate5m',
      expr: `(
    sum by (${byJob}) (rate(coupon_admission_shed_total{${overloadReasons}}[5m]))
  or
    0 * sum by (${byJob}) (rate(coupon_requests_received_total[5m]))
)
/
sum by (${byJob}) (rate(coupon_requests_received_total[5m]))
`,
    },
    ...SUSTAINED_SHED_WINDOWS.map(claimsShedRule),
  ],
};

// ---------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------

function burnExpr(ratio: (w: SliWindow) => string, budget: number, severity: Severity): string {
  return (
    BURN_RATE_PAIRS.filter((pair) => pair.severity === severity)
      .map(
        ({ long, short, factor }) =>
          `(\n  ${ratio(long)} > (${factor} * ${budget})\nand\n  ${ratio(short)} > (${factor} * ${budget})\n)`,
      )
      .join('\nor\n') + '\n'
  );
}

const budgetOf = (slo: number): number => Number((1 - slo).toPrecision(6));
const AVAILABILITY_BUDGET = budgetOf(AVAILABILITY_SLO);
const LATENCY_BUDGET = budgetOf(LATENCY_SLO);

const sloAlerts = (o: RuleOptions): RuleGroup => ({
  name: 'coupon-service.slo',
  rules: [
    alertRule(o, {
      alert: 'CouponClaimAvailabilityFastBurn',
      why: 'SRE workbook page pairs: 14.4x over 1h/5m or 6x over 6h/30m spends 2% or 5% of the 30-day 0.1% budget; the short window ends the alert once the burn stops',
      expr: burnExpr(availabilityErrorRatio, AVAILABILITY_BUDGET, 'page'),
      for: '2m',
      labels: { severity: 'page' },
      summary: `Claims are failing with server faults fast enough to spend the month's error budget in days (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the claims received over the long window ended in a 5xx fault (Redis unavailable, ledger fault or a bug), against a 99.9% availability SLO. Shed answers and honest refusals are not counted.',
    }),
    alertRule(o, {
      alert: 'CouponClaimAvailabilitySlowBurn',
      why: 'SRE workbook ticket pairs: 3x over 1d/2h or 1x over 3d/6h spends 10% of the 30-day 0.1% budget; slow enough for working hours',
      expr: burnExpr(availabilityErrorRatio, AVAILABILITY_BUDGET, 'ticket'),
      for: '15m',
      labels: { severity: 'ticket' },
      summary: `Claims keep failing with server faults at a rate that will spend the month's error budget (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the claims received over the long window ended in a 5xx fault, against a 99.9% availability SLO: a steady trickle of faults, not an outage.',
    }),
    alertRule(o, {
      alert: 'CouponClaimLatencyFastBurn',
      why: 'SRE workbook page pairs on the 1% latency budget: 14.4x over 1h/5m or 6x over 6h/30m spends 2% or 5% of the month',
      expr: burnExpr(latencyErrorRatio, LATENCY_BUDGET, 'page'),
      for: '2m',
      labels: { severity: 'page' },
      summary: `Claims are too slow: the latency error budget is burning fast (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the claims the ledger answered over the long window took 100 ms or more, against an SLO of 99% under 100 ms.',
    }),
    alertRule(o, {
      alert: 'CouponClaimLatencySlowBurn',
      why: 'SRE workbook ticket pairs on the 1% latency budget: 3x over 1d/2h or 1x over 3d/6h spends 10% of the month',
      expr: burnExpr(latencyErrorRatio, LATENCY_BUDGET, 'ticket'),
      for: '15m',
      labels: { severity: 'ticket' },
      summary: `Claims are slower than the SLO allows, steadily (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the claims the ledger answered over the long window took 100 ms or more, against an SLO of 99% under 100 ms.',
    }),
  ],
});

// Long: a rule table (data), one entry per alert.
const capacityAlerts = (o: RuleOptions): RuleGroup => ({
  name: 'coupon-service.capacity',
  rules: [
    alertRule(o, {
      alert: 'CouponShedAtMaxReplicas',
      why: 'half the demand turned away for lack of capacity for 10 minutes, with the autoscaler unable to add pods: only a person can raise the ceiling',
      expr: `namespace_job:coupon_requests_shed_overload:ratio_rate5m > ${SHED_AT_MAX_RATIO}
and on (namespace)
(
  kube_horizontalpodautoscaler_status_desired_replicas{horizontalpodautoscaler="${o.autoscaler}"}
  >= on (namespace, horizontalpodautoscaler)
  kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler="${o.autoscaler}"}
)
`,
      for: '10m',
      labels: { severity: 'page' },
      summary: `Over half the requests are shed for lack of capacity and the autoscaler is at its maximum (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the requests received are shed by the admission gate for overload (event loop, token bucket, concurrency, deadline) while the autoscaler already asks for its maximum replicas. Sold out, rate limits and draining are not counted.',
    }),
    alertRule(o, {
      alert: 'CouponClaimsShedSustained',
      why: `${SUSTAINED_SHED_RATIO * 100}% of the claims offered turned away for lack of capacity over ${SUSTAINED_SHED_WINDOWS[0]}, still so over ${SUSTAINED_SHED_WINDOWS[1]}, for 15 minutes: the crowd is refused whatever the autoscaler says or can do; the short window ends it once the fleet catches up`,
      expr: `${claimsShedRatio(SUSTAINED_SHED_WINDOWS[0])} > ${SUSTAINED_SHED_RATIO}
and
${claimsShedRatio(SUSTAINED_SHED_WINDOWS[1])} > ${SUSTAINED_SHED_RATIO}
`,
      for: '15m',
      labels: { severity: 'page' },
      summary: `Claims have been shed for lack of capacity for over 15 minutes (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the claims offered over the last 30 minutes were shed by the admission gate for overload (event loop, token bucket, concurrency, deadline), and they still are. The autoscaler has not caught up, whether it is at its ceiling, blind (KEDA errors, fallback) or its pods do not start. Sold out and rate limits are not counted.',
    }),
    alertRule(o, {
      alert: 'CouponRedisErrors',
      why: '1% of ledger calls failing is ten times the whole 0.1% claim budget and also fails redemptions; the 1m term keeps a failover that is over from paging',
      expr: `(
  sum by (${byJob}) (rate(coupon_redis_errors_total[5m]))
  /
  sum by (${byJob}) (rate(coupon_redis_command_duration_seconds_count[5m]))
  > ${REDIS_ERROR_RATIO}
)
and
sum by (${byJob}) (rate(coupon_redis_errors_total[1m])) > 0
`,
      for: '5m',
      labels: { severity: 'page' },
      summary: `Redis is failing ledger calls: claims and redemptions answer 503 (${where})`,
      description:
        '{{ $value | humanizePercentage }} of the ledger calls to Redis over 5 minutes failed (down, timed out or cluster not ready), and they are still failing. Money fails closed: those claims and redemptions were answered 503, nothing was issued or redeemed twice.',
    }),
    alertRule(o, {
      alert: 'CouponRedisSettingsUnsafe',
      why: 'a pod refuses every claim and redemption while Redis may evict keys (or runs without AOF in production); the settings are re-read every 30 s, so 2 minutes rules out a read in flight',
      expr: `min by (${byJob}) (coupon_redis_settings_ok) == 0
`,
      for: '2m',
      labels: { severity: 'page' },
      summary: `Redis is configured so it could lose coupons: claims and redemptions answer 503 (${where})`,
      description:
        'The service read Redis settings that can lose money (an eviction policy other than noeviction, or no append-only file in production) and refuses claims and redemptions until they are fixed. The pods log the setting at error level.',
    }),
    alertRule(o, {
      alert: 'CouponServiceDown',
      why: 'no pod of the service answers a scrape for 5 minutes: the service is down or invisible, and either way nobody can tell what it does with money',
      expr: `sum by (${byJob}) (up{job="${o.serviceJob}"}) == 0
or
absent(up{job="${o.serviceJob}"})
`,
      for: '5m',
      labels: { severity: 'page' },
      summary:
        'No pod of the coupon service can be scraped{{ with $labels.namespace }} ({{ . }}){{ end }}',
      description:
        'Prometheus has had no successful scrape of any coupon-service target for 5 minutes: every target is down, or none is discovered at all. Without them nobody sees claims, sheds or money.',
    }),
    alertRule(o, {
      alert: 'CouponScrapeTargetDown',
      why: 'one pod unscraped for 5 minutes outlasts a restart; the others serve, so it can wait for working hours unless it spreads',
      expr: `up{job="${o.serviceJob}"} == 0\n`,
      for: '5m',
      labels: { severity: 'ticket' },
      summary: 'A coupon-service pod cannot be scraped ({{ $labels.namespace }}/{{ $labels.pod }})',
      description:
        'The scrape of {{ $labels.instance }} has failed for 5 minutes: the pod is hung, restarting in a loop, or its metrics port is unreachable. Whatever it serves is missing from every rate, SLI and alert.',
    }),
  ],
});

/** Budget gauges are sampled by every pod: one answer per campaign. */
const perCampaign = (metric: string, agg = 'max'): string =>
  `${agg} by (${byJob}, campaign) (${metric})`;

// Long: a rule table (data), one entry per alert.
const moneyAlerts = (o: RuleOptions): RuleGroup => ({
  name: 'coupon-service.money',
  rules: [
    alertRule(o, {
      alert: 'CouponLedgerFault',
      why: 'none is expected in normal operation and each one means claims of the campaign are refused with 503 until an operator acts; a counter that first appears is counted too',
      // unverified: a shard waiting for the recorder's verification after a restart or a
      // failover, seconds normally; CouponShardUnverified pages when it lasts.
      expr: `sum by (${byJob}, campaign, reason) (
    (increase(coupon_ledger_faults_total{reason!="unverified"}[5m]) > 0)
  or
    (coupon_ledger_faults_total{reason!="unverified"} unless coupon_ledger_faults_total offset 5m)
) > 0
`,
      labels: { severity: 'page' },
      summary:
        'The budget ledger of {{ $labels.campaign }} failed closed ({{ $labels.reason }}): claims answer 503',
      description:
        '{{ $value | humanize }} money operation(s) in the last 5 minutes were refused because the ledger of campaign {{ $labels.campaign }} cannot be trusted (reason {{ $labels.reason }}). Nothing is issued for it until the ledger is restored.',
    }),
    alertRule(o, {
      alert: 'CouponShardUnverified',
      why: 'after a Redis restart, restore or failover a fenced shard refuses until the recorder has verified it against PostgreSQL, within a recorder poll (about a second); refusals for 3 minutes mean no recorder can verify it (the recorder or PostgreSQL is down)',
      expr: `sum by (${byJob}, campaign) (
  increase(coupon_ledger_faults_total{reason="unverified"}[2m])
) > 0
`,
      for: '3m',
      labels: { severity: 'page' },
      summary:
        '{{ $labels.campaign }}: shards refuse claims, not yet verified against the book of record',
      description:
        'Money operations of campaign {{ $labels.campaign }} have been refused for 3 minutes because a shard runs on a Redis process (restarted, restored or failed over) the recorder has not verified against PostgreSQL: the recorder is down, cannot reach PostgreSQL, or cannot read the shard.',
    }),
    alertRule(o, {
      alert: 'CouponBudgetUnknown',
      why: 'the sampler reads the budget every few seconds, so 2 minutes rules out one failed read; a lost or rolled-back shard refuses its claims until restored',
      expr: `${perCampaign('coupon_budget_known', 'min')} == 0\n`,
      for: '2m',
      labels: { severity: 'page' },
      summary:
        'The budget of {{ $labels.campaign }} is unknown: a ledger shard is lost or rolled back',
      description:
        "At least one shard of campaign {{ $labels.campaign }} has no trustworthy ledger (missing or rolled back). Claims on it fail closed with 503 and the campaign's budget gauges are absent until it is restored.",
    }),
    alertRule(o, {
      alert: 'CouponBudgetBurningAheadOfRelease',
      why: 'issued reaching 99% of what is released with over 30 minutes to the next slice means the crowd drains each slice at once and is answered sold out for most of the day',
      expr: `${perCampaign('coupon_budget_today_issued_fen')}
/
${perCampaign('coupon_budget_today_released_fen')}
> ${BURN_AHEAD_RATIO}
and
${perCampaign('coupon_budget_next_release_timestamp_seconds')} - time() > ${BURN_AHEAD_MIN_WAIT_SECONDS}
`,
      for: '10m',
      labels: { severity: 'ticket' },
      summary:
        "{{ $labels.campaign }}: today's released budget is gone well before the next release",
      description:
        'Coupons issued today are {{ $value | humanizePercentage }} of the budget released so far today, and the next slice is more than 30 minutes away: claims are answered TRANCHE_EXHAUSTED until then. The release curve is working, demand is far above it; the product owner decides whether to reshape it.',
    }),
    alertRule(o, {
      alert: 'CouponTrancheExhaustedEarly',
      why: 'a whole day tranche gone with over 6 hours left means the release slices or day weights do not match demand; sold out for the rest of the day',
      expr: `${perCampaign('coupon_budget_today_issued_fen')}
>= ${perCampaign('coupon_budget_today_tranche_fen')}
and
${perCampaign('coupon_budget_today_tranche_fen')} > 0
and
${perCampaign('coupon_budget_next_release_timestamp_seconds')} - time() > ${TRANCHE_EARLY_SECONDS}
`,
      labels: { severity: 'ticket' },
      summary:
        "{{ $labels.campaign }}: today's whole tranche is issued with more than 6 hours to go",
      description:
        "Every coupon of today's tranche of campaign {{ $labels.campaign }} is issued and the next release is more than 6 hours away: every claim until then is answered TRANCHE_EXHAUSTED.",
    }),
    alertRule(o, {
      alert: 'CouponReconcileMismatch',
      why: 'a clean ledger reconciles exactly; any difference between counters, coupon records and the audit stream may be money issued twice or lost',
      expr: `coupon_reconcile_clean == 0\n`,
      labels: { severity: 'page' },
      summary: 'Reconcile found the ledger of {{ $labels.campaign }} inconsistent',
      description:
        'The last reconcile of campaign {{ $labels.campaign }} found counters, coupon records and the audit stream in disagreement (issued over released, a user over a limit, or records missing).',
    }),
    alertRule(o, {
      alert: 'CouponReconcileStale',
      why: `reconcile runs every ${RECONCILE_EVERY_SECONDS / 60} minutes: ${RECONCILE_STALE_SECONDS / 3600} hour(s) without a result is ${RECONCILE_STALE_SECONDS / RECONCILE_EVERY_SECONDS} runs missed, a broken CronJob, and until it runs nobody checks the money`,
      expr: `time() - coupon_reconcile_last_run_timestamp_seconds > ${RECONCILE_STALE_SECONDS}
or
absent(coupon_reconcile_last_run_timestamp_seconds)
`,
      for: '15m',
      labels: { severity: 'ticket' },
      summary:
        'Reconcile has not reported{{ with $labels.campaign }} for {{ . }}{{ end }} for over an hour',
      description:
        'The reconcile CronJob has pushed no result{{ with $labels.campaign }} for campaign {{ . }}{{ end }} for over an hour (four runs), or never has: nobody is checking the ledger.',
    }),
  ],
});

const recorderAlerts = (o: RuleOptions): RuleGroup => ({
  name: 'coupon-recorder',
  rules: [
    alertRule(o, {
      alert: 'CouponRecorderDown',
      why: 'with no recorder running nothing reaches PostgreSQL, the streams grow untrimmed and a rollback goes unnoticed; 5 minutes rides out a rollout',
      expr: `max by (namespace, job) (up{job="${o.recorderJob}"}) == 0
or
absent(up{job="${o.recorderJob}"})
`,
      for: '5m',
      labels: { severity: 'page' },
      summary: 'No coupon recorder is running{{ with $labels.namespace }} in {{ . }}{{ end }}',
      description:
        'Prometheus has scraped no running coupon-recorder for 5 minutes: audit events are not copied to PostgreSQL, the streams are not trimmed, and a Redis rolled back to an older state is not detected.',
    }),
    alertRule(o, {
      alert: 'CouponRecorderLagHigh',
      why: `${RECORDER_LAG_EVENTS} unrecorded entries is about a minute of the fleet's planned peak: held 10 minutes the recorder is not keeping up (PostgreSQL slow or down) and the streams grow in Redis memory`,
      // Every recorder samples every shard: max per shard, then the campaign's sum.
      expr: `sum by (${byJob}, campaign) (
  max by (${byJob}, campaign, shard) (coupon_recorder_pending_events)
) > ${RECORDER_LAG_EVENTS}
`,
      for: '10m',
      labels: { severity: 'ticket' },
      summary: '{{ $labels.campaign }}: {{ $value }} audit events not yet recorded in PostgreSQL',
      description:
        'The audit streams of campaign {{ $labels.campaign }} hold {{ $value }} entries not yet recorded (pending or not yet delivered) for 10 minutes: PostgreSQL is slow or refusing batches, or there are too few recorders. Redis memory grows until they are recorded and trimmed.',
    }),
    alertRule(o, {
      alert: 'CouponRecorderOldestUnrecordedAge',
      why: `an event unrecorded for ${RECORDER_OLDEST_AGE_SECONDS / 60} minutes is history a Redis loss would take with it, and the rollback check cannot see past it`,
      expr: `max by (${byJob}, campaign) (coupon_recorder_oldest_unrecorded_age_seconds) > ${RECORDER_OLDEST_AGE_SECONDS}
`,
      for: '5m',
      labels: { severity: 'page' },
      summary:
        '{{ $labels.campaign }}: the oldest unrecorded audit event is {{ $value | humanizeDuration }} old',
      description:
        'An audit event of campaign {{ $labels.campaign }} has waited {{ $value | humanizeDuration }} to be recorded in PostgreSQL: batches are failing (coupon_recorder_batches_total{outcome="failed"}) or a shard is stuck. A Redis lost now would lose that history from the record too.',
    }),
    alertRule(o, {
      alert: 'CouponRecorderShardBlocked',
      why: 'PostgreSQL refused an event of the shard for what it holds (a poison event): its recording stops there and its stream grows; retried every round, so 5 minutes rules out a batch that a recorder fix or a rebuild already cleared',
      expr: `max by (${byJob}, campaign, shard) (coupon_recorder_shard_blocked) > 0
`,
      for: '5m',
      labels: { severity: 'page' },
      summary:
        '{{ $labels.campaign }} shard {{ $labels.shard }}: PostgreSQL refuses an audit event, recording stopped',
      description:
        'The book of record refuses an event of campaign {{ $labels.campaign }} shard {{ $labels.shard }} (not what the scripts write, about a coupon it does not hold, or a sequence number it already holds): nothing of that shard after it is recorded. The recorder log names the event.',
    }),
    alertRule(o, {
      alert: 'CouponRecorderRollbackDetected',
      why: 'a shard behind what PostgreSQL recorded was restored from an older state and is refusing claims; nothing but an operator brings it back; a counter that first appears is counted too',
      expr: `sum by (${byJob}, campaign) (
    (increase(coupon_recorder_rollbacks_detected_total[10m]) > 0)
  or
    (coupon_recorder_rollbacks_detected_total unless coupon_recorder_rollbacks_detected_total offset 10m)
) > 0
`,
      labels: { severity: 'page' },
      summary: '{{ $labels.campaign }}: a shard went back behind what PostgreSQL recorded',
      description:
        'The recorder found a shard of campaign {{ $labels.campaign }} behind the record (Redis restarted from an older snapshot or failed over to a lagging replica) and marked it rolled back: its claims and redemptions answer 503 until it is rebuilt with npm run ledger:init -- --campaign {{ $labels.campaign }} --from-record.',
    }),
  ],
});

/** Every rule group, for the given parameters. */
export function ruleGroups(o: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup[] {
  return [
    sliRules,
    sloAlerts(o),
    capacityAlerts(o),
    moneyAlerts(o),
    recorderAlerts(o),
    ...platformAlerts(o),
  ];
}

export const RULE_GROUPS: readonly RuleGroup[] = ruleGroups();

export const ALERTS: readonly AlertRule[] = RULE_GROUPS.flatMap((g) => g.rules.filter(isAlert));

export const RECORDED_NAMES: readonly string[] = RULE_GROUPS.flatMap((g) =>
  g.rules.flatMap((r) => (isAlert(r) ? [] : [r.record])),
);
