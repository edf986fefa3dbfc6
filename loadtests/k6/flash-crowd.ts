/**
 * Flash crowd: arrivals ramp from 0 to 10x CAPACITY in 60 s, hold there 60 s, and fall back to 0
 * in 30 s (open model: k6 starts claims on that timeline whatever the service answers). The same
 * shape as the project's own open-model runner (loadtests/runner), so the two can be compared.
 *
 * What must hold (thresholds): a served claim p99 < 100 ms, a shed answer p99 < 50 ms (the service
 * says "come back in N s" fast instead of queueing), > 99% of answers in the contract's shape,
 * < 1% of requests failed (no answer within REQUEST_TIMEOUT_MS counts), and the generator dropped
 * < 1% of the planned arrivals. The summary shows the hold at 10x on its own (tag phase=hold):
 * goodput there, against CAPACITY, is the figure that says whether shedding kept the service
 * at capacity.
 *
 *   k6 run -e API_KEY=... -e CAPACITY=1000 [-e BASE_URL=...] loadtests/k6/flash-crowd.ts
 *
 * Every claim is one request with a fresh userId (or one drawn from USERS), never retried. Point
 * CAMPAIGN_ID at a campaign whose released budget outlasts ~105 x 10 x CAPACITY claims if the
 * issuance path is what you want to load: once it is gone the answers are sold-out (counted apart,
 * `claim_sold_out`), which measures the sold-out fast path instead.
 */

import type { Options } from 'k6/options';
import { loadClaimScenario, setupRun, type SetupData } from './lib/api.ts';
import { claim, claimIds } from './lib/claim.ts';
import { vusFor } from './lib/config.ts';
import { openModelOptions, rampingArrivals, REPORT_ONLY, taggedThresholds } from './lib/options.ts';
import { ms, perSecond, summaryOutputs, tagged, type SummaryData } from './lib/summary.ts';
import { SHAPES } from './lib/shapes.ts';
import { scenarioElapsedSeconds, tagVu } from './lib/timeline.ts';

const config = loadClaimScenario();

const FLASH_CROWD = SHAPES.flashCrowd;
const PEAK = FLASH_CROWD.peakFactor * config.capacity;
const PLANNED =
  (PEAK * FLASH_CROWD.rampUpS) / 2 + PEAK * FLASH_CROWD.holdS + (PEAK * FLASH_CROWD.rampDownS) / 2;

export const options: Options = openModelOptions(
  {
    flash_crowd: {
      ...rampingArrivals([
        { duration: `${FLASH_CROWD.rampUpS}s`, target: PEAK },
        { duration: `${FLASH_CROWD.holdS}s`, target: PEAK },
        { duration: `${FLASH_CROWD.rampDownS}s`, target: 0 },
      ]),
      ...vusFor(config, PEAK, config.requestTimeoutMs / 1000),
    },
  },
  PLANNED,
  taggedThresholds('phase', ['hold'], {
    http_reqs: REPORT_ONLY.counter,
    claim_goodput: REPORT_ONLY.counter,
    claim_shed: REPORT_ONLY.counter,
    claim_sold_out: REPORT_ONLY.counter,
    claim_lost: REPORT_ONLY.counter,
    claim_served_duration: REPORT_ONLY.trend,
    claim_shed_duration: REPORT_ONLY.trend,
  }),
);

export function setup(): SetupData {
  return setupRun(config);
}

function phaseAt(seconds: number): string {
  if (seconds < FLASH_CROWD.rampUpS) return 'ramp-up';
  return seconds < FLASH_CROWD.rampUpS + FLASH_CROWD.holdS ? 'hold' : 'ramp-down';
}

export default function (data: SetupData): void {
  tagVu('phase', phaseAt(scenarioElapsedSeconds()));
  claim(config, claimIds(data.runId, config.users));
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const hold = FLASH_CROWD.holdS;
  const atHold = tagged(data, 'phase', 'hold');
  const offered = atHold.count('http_reqs') / hold;
  const goodput = atHold.count('claim_goodput') / hold;
  const figures = {
    shape: { ...FLASH_CROWD, peakPerSecond: PEAK, plannedArrivals: PLANNED },
    hold: {
      offeredPerSecond: offered,
      goodputPerSecond: goodput,
      goodputOverCapacity: goodput / config.capacity,
      shed: atHold.count('claim_shed'),
      soldOut: atHold.count('claim_sold_out'),
      lost: atHold.count('claim_lost'),
      servedP99Ms: atHold.stat('claim_served_duration', 'p(99)'),
      shedP99Ms: atHold.stat('claim_shed_duration', 'p(99)'),
    },
  };
  const lines = [
    `flash crowd: 0 -> ${PEAK}/s (${FLASH_CROWD.peakFactor}x CAPACITY) in ${FLASH_CROWD.rampUpS} s, ` +
      `hold ${hold} s, down to 0 in ${FLASH_CROWD.rampDownS} s`,
    `  hold at ${FLASH_CROWD.peakFactor}x: offered ${perSecond(offered)}, goodput ${perSecond(goodput)} = ` +
      `${figures.hold.goodputOverCapacity.toFixed(2)} x CAPACITY; shed ${figures.hold.shed} ` +
      `(p99 ${ms(figures.hold.shedP99Ms)}), sold out ${figures.hold.soldOut}, lost ${figures.hold.lost}, ` +
      `served p99 ${ms(figures.hold.servedP99Ms)}`,
  ];
  return summaryOutputs(config, 'flash-crowd', data, { figures, lines });
}
