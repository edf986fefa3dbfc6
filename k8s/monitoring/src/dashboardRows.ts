import { FAULT_OUTCOMES, GOODPUT_OUTCOMES } from './metrics';
import {
  camp,
  flag,
  latency,
  OVERLOAD,
  oneOf,
  perCampaign,
  rate,
  SERVED,
  stat,
  svc,
  timeseries,
  type StatBuilder,
  type TimeseriesBuilder,
} from './dashboardKit';
import { LATENCY_THRESHOLD_SECONDS } from './rules';

/** The service dashboard's first rows: demand, latency, budget and issuance. */

export const received = (...m: string[]) => svc('coupon_requests_received_total', ...m);
export const shed = (...m: string[]) => svc('coupon_admission_shed_total', ...m);
const claims = (...m: string[]) => camp('coupon_claims_total', ...m);

// Long: a panel table (data), one entry per panel.
export function demandRow(): TimeseriesBuilder[] {
  return [
    timeseries({
      title: 'Is demand being served or shed?',
      description:
        'Requests per second reaching the admission gate (demand, counted before any shedding) split into those admitted to the application and those the gate answered itself, by reason. Admitted plus shed stack up to demand. Sold out, user_rate and key_rate are honest answers, and so is what the front door refuses before admission (no key, no such route: not demand); event_loop, token_bucket, concurrency and deadline mean the pods lack capacity; draining is a pod shutting down.',
      unit: 'reqps',
      min: 0,
      stacked: { except: ['demand'] },
      targets: [
        { expr: `sum(${rate(received())})`, legend: 'demand' },
        {
          expr: `sum(${rate(received())}) - (sum(${rate(shed())}) or vector(0))`,
          legend: 'admitted',
        },
        { expr: `sum by (reason) (${rate(shed())})`, legend: 'shed: {{reason}}' },
      ],
    }),
    timeseries({
      title: 'How many claims end with a coupon in hand (goodput)?',
      description:
        'Claims per second: received at the gate, answered with a coupon (issued or replayed: the goodput), refused honestly by the ledger (sold out, limits, campaign window), shed at the gate, and failed with a server fault. Received and shed cover every campaign (the gate counts before it knows the campaign); the ledger outcomes follow the campaign selection.',
      unit: 'reqps',
      min: 0,
      targets: [
        { expr: `sum(${rate(received('priority="claim"'))})`, legend: 'received' },
        {
          expr: `sum(${rate(claims(`outcome=~"${oneOf(GOODPUT_OUTCOMES)}"`))})`,
          legend: 'goodput (coupon in hand)',
        },
        {
          expr: `sum(${rate(claims(`outcome!~"${oneOf([...GOODPUT_OUTCOMES, ...FAULT_OUTCOMES, 'deadline'])}"`))})`,
          legend: 'refused by the ledger',
        },
        { expr: `sum(${rate(shed('priority="claim"'))})`, legend: 'shed at the gate' },
        { expr: `sum(${rate(claims('outcome="deadline"'))})`, legend: 'deadline passed' },
        {
          expr: `sum(${rate(claims(`outcome=~"${oneOf(FAULT_OUTCOMES)}"`))})`,
          legend: 'server fault',
        },
      ],
    }),
    timeseries({
      title: 'When will shed callers come back (Retry-After by class)?',
      description:
        'No metric records the Retry-After values sent, so this shows shed answers per second grouped by the retry class each reason is given; the legend says the spread. Overload answers (event loop, token bucket, concurrency, deadline) say 1-5 s; draining 1-2 s with Connection: close; user and key rate limits the end of their window plus up to 2 s; sold out the next release plus up to SOLD_OUT_RETRY_SPREAD_SECONDS (60 s by default). A tall overload band means the crowd returns within seconds.',
      unit: 'reqps',
      min: 0,
      stacked: {},
      targets: [
        { expr: `sum(${rate(shed(OVERLOAD))})`, legend: 'overload: Retry-After 1-5 s' },
        {
          expr: `sum(${rate(shed('reason="draining"'))})`,
          legend: 'draining: Retry-After 1-2 s',
        },
        {
          expr: `sum(${rate(shed('reason=~"user_rate|key_rate"'))})`,
          legend: 'rate limit: window end + 0-2 s',
        },
        {
          expr: `sum(${rate(shed('reason="sold_out"'))})`,
          legend: 'sold out: next release + 0-60 s',
        },
        {
          expr: `sum by (reason) (${rate(svc('coupon_http_refused_total'))})`,
          legend: 'refused at the front door ({{reason}}): fix the request',
        },
      ],
    }),
    timeseries({
      title: 'Are purchases (redemptions) shed, or only new claims?',
      description:
        'Share of each priority’s requests shed for overload. Redemptions and reads may use every slot and token, claims only ADMISSION_CLAIM_SHARE of them: redemptions should stay near 0 while claims are shed. Redemptions shed means the pods are far past capacity.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      targets: [
        {
          expr: `sum by (priority) (${rate(shed(OVERLOAD))}) / sum by (priority) (${rate(received())})`,
          legend: '{{priority}}',
        },
      ],
    }),
  ];
}

export function latencyRow(): TimeseriesBuilder[] {
  const claimBuckets = camp('coupon_claim_duration_seconds_bucket');
  return [
    latency({
      title: 'How long do claims take, by outcome?',
      description:
        'Claim time from admission to answer (p50 and p99) per outcome, against the 100 ms SLO line. Sold-out and limit answers are fast ledger replies; a slow "issued" points at Redis or the event loop; "deadline" shows how long the dropped claims waited.',
      bucket: claimBuckets,
      by: 'outcome',
      legend: '{{outcome}}',
      limitSeconds: Number(LATENCY_THRESHOLD_SECONDS),
    }),
    timeseries({
      title: 'Are 99% of served claims answered within 100 ms?',
      description:
        'The latency SLI: the share of claims the ledger answered without a fault (every outcome but unavailable and error) that took under 100 ms. The SLO is 99%; below the line the latency error budget burns.',
      unit: 'percentunit',
      max: 1,
      limit: { value: 0.99, below: true },
      targets: [
        {
          expr: `sum(${rate(camp('coupon_claim_duration_seconds_bucket', `le="${LATENCY_THRESHOLD_SECONDS}"`, SERVED))}) / sum(${rate(camp('coupon_claim_duration_seconds_count', SERVED))})`,
          legend: 'under 100 ms',
        },
      ],
    }),
    latency({
      title: 'Which routes are slow in express?',
      description:
        'p50 and p99 of the requests express served (after admission), per route pattern. Shed answers never reach express and are not here.',
      bucket: svc('coupon_http_request_duration_seconds_bucket'),
      by: 'method, route',
      legend: '{{method}} {{route}}',
    }),
    timeseries({
      title: 'Which routes answer server errors?',
      description:
        '5xx answers per second served by express, by route and status. 503 on the claim route is a fault the ledger failed closed on or a deadline drop; 500 is a bug (the log line carries its errorId).',
      unit: 'reqps',
      min: 0,
      targets: [
        {
          expr: `sum by (route, status) (${rate(svc('coupon_http_requests_total', 'status=~"5.."'))})`,
          legend: '{{status}} {{route}}',
        },
      ],
    }),
  ];
}

export function budgetRow(): (TimeseriesBuilder | StatBuilder)[] {
  const cny = (metric: string) => `${perCampaign(metric)} / 100`;
  return [
    timeseries({
      title: 'Is the budget issued faster than it is released?',
      description:
        'Per campaign, in CNY: budget released so far (the release curve, all days), issued, and remaining (released, not yet issued). Issued hugging released with remaining near 0 means every slice is drained as soon as it is released; the pool is the ceiling of both.',
      unit: 'currencyCNY',
      min: 0,
      targets: [
        { expr: cny('coupon_budget_released_fen'), legend: '{{campaign}} released' },
        { expr: cny('coupon_budget_issued_fen'), legend: '{{campaign}} issued' },
        { expr: cny('coupon_budget_remaining_fen'), legend: '{{campaign}} remaining' },
        { expr: cny('coupon_budget_pool_fen'), legend: '{{campaign}} pool' },
      ],
    }),
    timeseries({
      title: 'Which shards are sold out while others still have budget?',
      description:
        'Per campaign and shard, coupons released to the shard and not yet issued. A user is pinned to one shard, so a shard at 0 answers its users sold out even while others hold budget (stranding); rebalancing moves budget to a shard running low, so lines apart for long mean it cannot keep up. A missing line is a shard whose ledger is unknown (lost or rolled back).',
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: `max by (campaign, shard) (${camp('coupon_budget_shard_remaining_coupons')})`,
          legend: '{{campaign}} shard {{shard}}',
        },
      ],
    }),
    timeseries({
      title: "Is today's tranche burning faster than it is released?",
      description:
        "Per campaign, as shares of today's tranche: how much has been released so far today (a staircase, one step per slice) and how much has been issued; and issued over released today, which CouponBudgetBurningAheadOfRelease watches. Issued meeting released early in each step means demand is above the release rate and claims are answered sold out until the next slice.",
      unit: 'percentunit',
      min: 0,
      max: 1,
      targets: [
        {
          expr: `${perCampaign('coupon_budget_today_released_fen')} / ${perCampaign('coupon_budget_today_tranche_fen')}`,
          legend: '{{campaign}} released today',
        },
        {
          expr: `${perCampaign('coupon_budget_today_issued_fen')} / ${perCampaign('coupon_budget_today_tranche_fen')}`,
          legend: '{{campaign}} issued today',
        },
        {
          expr: `${perCampaign('coupon_budget_today_issued_fen')} / ${perCampaign('coupon_budget_today_released_fen')}`,
          legend: '{{campaign}} issued / released today',
        },
      ],
    }),
    stat({
      title: 'How long until the next release?',
      description:
        'Time until the next slice of budget is released, per campaign. While a campaign is sold out, this is when its claims succeed again.',
      unit: 's',
      width: 12,
      targets: [
        {
          expr: `${perCampaign('coupon_budget_next_release_timestamp_seconds')} - time()`,
          legend: '{{campaign}}',
        },
      ],
    }),
    stat({
      title: "Is every shard's budget known?",
      description:
        "1 when the figures of every shard of the campaign could be read; 0 when a shard's ledger is lost or rolled back. Claims on such a shard fail closed (503) and the campaign's budget gauges are absent until the ledger is restored (runbook: CouponBudgetUnknown).",
      unit: 'none',
      width: 12,
      mappings: flag('known', 'UNKNOWN'),
      targets: [{ expr: perCampaign('coupon_budget_known', 'min'), legend: '{{campaign}}' }],
    }),
  ];
}

export function issuanceRow(): TimeseriesBuilder[] {
  return [
    timeseries({
      title: 'How many coupons are issued per minute?',
      description:
        'New coupons per minute per campaign (replays not counted): the rate money leaves the pool.',
      unit: 'short',
      min: 0,
      targets: [
        {
          expr: `sum by (campaign) (${rate(camp('coupon_issued_total'))}) * 60`,
          legend: '{{campaign}}',
        },
      ],
    }),
    timeseries({
      title: 'How much money is issued per minute?',
      description: 'Face value of the coupons issued per minute per campaign, in CNY.',
      unit: 'currencyCNY',
      min: 0,
      targets: [
        {
          expr: `sum by (campaign) (${rate(camp('coupon_issued_value_fen_total'))}) * 60 / 100`,
          legend: '{{campaign}}',
        },
      ],
    }),
    timeseries({
      title: 'How do claims end?',
      description:
        'Claims the ledger answered per second, by outcome, stacked. issued and replayed put a coupon in hand; tranche_exhausted, budget_exhausted, user_limit_* and not_started/ended are honest refusals; deadline is a caller that stopped waiting; unavailable and error are server faults.',
      unit: 'reqps',
      min: 0,
      stacked: {},
      targets: [{ expr: `sum by (outcome) (${rate(claims())})`, legend: '{{outcome}}' }],
    }),
    timeseries({
      title: 'Do redemptions (purchases) succeed?',
      description:
        'Redemptions and reversals per second, by outcome, stacked. unavailable or error here means a purchase in progress could not use its coupon.',
      unit: 'reqps',
      min: 0,
      stacked: {},
      targets: [
        {
          expr: `sum by (outcome) (${rate(camp('coupon_redemptions_total'))})`,
          legend: '{{outcome}}',
        },
      ],
    }),
  ];
}
