/**
 * Soak: 70% of CAPACITY for an hour after a 1 min ramp (DURATION overrides the hour), one request per claim, fresh userIds (or
 * a USERS pool). What it looks for is drift: a leak, a queue that grows, a cache or connection
 * pool that degrades. The run is cut into 6 equal windows (tag window=w1..w6) and the SLOs must
 * hold in every one of them, not just on average: a served claim p99 < 100 ms and < 1% of requests
 * failed per window, on top of the whole-run SLO thresholds. The summary prints each window and
 * flags a last-window p99 more than 1.5x the first.
 *
 *   k6 run -e API_KEY=... -e CAPACITY=1000 [-e DURATION=1h] loadtests/k6/soak.ts
 *
 * Memory is not measured here but watched in Prometheus over the same hour (the service's Node
 * default metrics on METRICS_PORT and the kubelet's): a leak is a steady rise, not a level.
 *   max by (pod) (process_resident_memory_bytes{job="coupon-service"})
 *   max by (pod) (nodejs_heap_size_used_bytes{job="coupon-service"})
 *   max by (pod) (container_memory_working_set_bytes{container="coupon-service"})
 *     / max by (pod) (kube_pod_container_resource_limits{container="coupon-service", resource="memory"})
 *   deriv(process_resident_memory_bytes{job="coupon-service"}[30m])   (should be ~0 after warm-up)
 * Redis memory grows by design (a record and an audit event per coupon) at a rate set by goodput.
 *
 * Point CAMPAIGN_ID at a campaign whose released budget outlasts 0.7 x CAPACITY x DURATION claims if
 * the issuance path is what should soak; otherwise the hour is mostly sold-out answers.
 */

import type { Options } from 'k6/options';
import { loadClaimScenario, setupRun, type SetupData } from './lib/api.ts';
import { claim, claimIds } from './lib/claim.ts';
import { durationEnv, durationSeconds, vusFor } from './lib/config.ts';
import { SHAPES } from './lib/shapes.ts';
import {
  openModelOptions,
  rampAndHold,
  REPORT_ONLY,
  SLO,
  taggedThresholds,
} from './lib/options.ts';
import { ms, pct, perSecond, summaryOutputs, tagged, type SummaryData } from './lib/summary.ts';
import { scenarioElapsedSeconds, tagVu } from './lib/timeline.ts';

const config = loadClaimScenario();

const LOAD_FACTOR = SHAPES.soak.loadFactor;
const RATE = LOAD_FACTOR * config.capacity;
const RAMP_UP_S = SHAPES.soak.rampUpS;
/** The hold at the full rate, after the ramp; the windows below cut the hold. */
const DURATION = durationEnv('DURATION', `${SHAPES.soak.holdS}s`);
const DURATION_S = durationSeconds(DURATION);
const WINDOWS = 6;
const WINDOW_S = DURATION_S / WINDOWS;
const DRIFT_LIMIT = 1.5;
const windowNames = Array.from({ length: WINDOWS }, (_, i) => `w${i + 1}`);

const perWindow = taggedThresholds('window', windowNames, {
  claim_served_duration: [`p(99)<${SLO.servedP99Ms}`],
  http_req_failed: [`rate<${SLO.failedRate}`],
  claim_goodput: REPORT_ONLY.counter,
  claim_shed: REPORT_ONLY.counter,
});

export const options: Options = openModelOptions(
  {
    soak: {
      ...rampAndHold(RAMP_UP_S, DURATION, RATE),
      ...vusFor(config, RATE, config.requestTimeoutMs / 1000),
    },
  },
  RATE * (DURATION_S + RAMP_UP_S / 2),
  perWindow,
);

export function setup(): SetupData {
  return setupRun(config);
}

export default function (data: SetupData): void {
  const held = Math.max(0, scenarioElapsedSeconds() - RAMP_UP_S);
  const index = Math.min(WINDOWS - 1, Math.floor(held / WINDOW_S));
  tagVu('window', windowNames[index] ?? `w${WINDOWS}`);
  claim(config, claimIds(data.runId, config.users));
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const windows = windowNames.map((w, i) => {
    const window = tagged(data, 'window', w);
    return {
      window: w,
      fromS: i * WINDOW_S,
      servedP99Ms: window.stat('claim_served_duration', 'p(99)'),
      failedRate: window.stat('http_req_failed', 'rate'),
      goodputPerSecond: window.count('claim_goodput') / WINDOW_S,
      shed: window.count('claim_shed'),
    };
  });
  const first = windows[0]?.servedP99Ms;
  const last = windows[windows.length - 1]?.servedP99Ms;
  const drift = first !== undefined && last !== undefined && first > 0 ? last / first : undefined;
  const lines = [
    `soak: ${RATE}/s (${LOAD_FACTOR} x CAPACITY) for ${DURATION}, ${WINDOWS} windows of ${WINDOW_S.toFixed(0)} s`,
    ...windows.map(
      (w) =>
        `  ${w.window} from ${w.fromS.toFixed(0)} s: served p99 ${ms(w.servedP99Ms)}, failed ${pct(w.failedRate)}, ` +
        `goodput ${perSecond(w.goodputPerSecond)}, shed ${w.shed}`,
    ),
    `  p99 last/first window: ${drift === undefined ? '-' : drift.toFixed(2)}` +
      (drift !== undefined && drift > DRIFT_LIMIT ? `  DRIFT (over ${DRIFT_LIMIT}x)` : ''),
    '  memory: see the Prometheus queries in the header of soak.ts',
  ];
  const figures = { soak: { rate: RATE, windows, p99LastOverFirst: drift ?? null } };
  return summaryOutputs(config, 'soak', data, { figures, lines });
}
