import { request } from 'undici';
import { ArrivalSchedule } from './arrivalSchedule';
import {
  claimRequests,
  ExhaustionBook,
  RetryStormBook,
  type ClaimTarget,
  type ExhaustionSummary,
  type PopulationTally,
} from './claims';
import { formatReport } from './formatReport';
import { runOpenModel } from './runs';
import { flashCrowd, retryStorm, scale, smoke, soak, trancheExhaustion } from './scenarios';
import type { LoadReport, OpenModelOptions, Stage } from './types';

export const SCENARIOS = [
  'smoke',
  'flash-crowd',
  'tranche-exhaustion',
  'retry-storm',
  'soak',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioOptions extends ClaimTarget {
  url: string;
  scenario: ScenarioName;
  /** the service's measured capacity, claims/s: flash-crowd, retry-storm and soak scale on it */
  capacity?: number;
  /** tranche-exhaustion's constant rate, claims/s */
  rate?: number;
  durationScale: number;
  timeoutMs: number;
  connections: number;
  /** retry-storm: retries per logical claim */
  maxRetries: number;
}

export interface BudgetView {
  releasedFen?: number;
  issuedFen?: number;
  remainingFen?: number;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  stages: Stage[];
  report: LoadReport;
  retryStorm?: Record<'eager' | 'polite', PopulationTally>;
  trancheExhaustion?: ExhaustionSummary & {
    budgetBefore: BudgetView | string;
    budgetAfter: BudgetView | string;
  };
}

export function stagesFor(options: ScenarioOptions): Stage[] {
  const capacity = (): number => {
    if (options.capacity === undefined || !(options.capacity > 0)) {
      throw new RangeError(`--capacity (claims/s, > 0) is required for ${options.scenario}`);
    }
    return options.capacity;
  };
  const shape: Record<ScenarioName, () => Stage[]> = {
    smoke: () => smoke(),
    'flash-crowd': () => flashCrowd(capacity()),
    'tranche-exhaustion': () => trancheExhaustion(options.rate),
    'retry-storm': () => retryStorm(capacity()),
    soak: () => soak(capacity()),
  };
  return scale(shape[options.scenario](), options.durationScale);
}

/** GET the campaign's budget with the run's key; a sentence instead when that is not possible. */
async function readBudget(options: ScenarioOptions): Promise<BudgetView | string> {
  const path = `/v1/campaigns/${encodeURIComponent(options.campaign)}/budget`;
  try {
    const response = await request(new URL(path, options.url), {
      headers: { authorization: `Bearer ${options.apiKey}` },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    const body = await response.body.text();
    if (response.statusCode !== 200) {
      return `budget not readable: ${response.statusCode} (the key needs budget:read)`;
    }
    const { releasedFen, issuedFen, remainingFen } = JSON.parse(body) as BudgetView;
    return { releasedFen, issuedFen, remainingFen };
  } catch (error) {
    return `budget not readable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const stages = stagesFor(options);
  const base: Omit<OpenModelOptions, 'stages'> = {
    baseUrl: options.url,
    timeoutMs: options.timeoutMs,
    connections: options.connections,
    makeRequest: claimRequests(options),
  };
  if (options.scenario === 'retry-storm') {
    const book = new RetryStormBook(new ArrivalSchedule(stages).total, options.maxRetries);
    const report = await runOpenModel({ ...base, stages, onResponse: book.onResponse });
    return {
      scenario: options.scenario,
      stages,
      report,
      retryStorm: book.summary(report.durationMs),
    };
  }
  if (options.scenario === 'tranche-exhaustion') {
    const book = new ExhaustionBook();
    const budgetBefore = await readBudget(options);
    const report = await runOpenModel({ ...base, stages, onResponse: book.onResponse });
    const budgetAfter = await readBudget(options);
    return {
      scenario: options.scenario,
      stages,
      report,
      trancheExhaustion: { ...book.summary(), budgetBefore, budgetAfter },
    };
  }
  // Bodies are not read here: at 10x capacity that would cost the generator, not the server.
  const report = await runOpenModel({ ...base, stages });
  return { scenario: options.scenario, stages, report };
}

function describeBudget(label: string, budget: BudgetView | string): string {
  if (typeof budget === 'string') return `${label}: ${budget}`;
  return `${label}: released ${budget.releasedFen} fen, issued ${budget.issuedFen} fen, remaining ${budget.remainingFen} fen`;
}

/** formatReport plus what the scenario itself found. */
export function formatScenarioResult(result: ScenarioResult): string {
  const lines = [`scenario ${result.scenario}`, formatReport(result.report)];
  if (result.retryStorm !== undefined) {
    for (const [population, tally] of Object.entries(result.retryStorm)) {
      const how = population === 'eager' ? 'retry at once' : 'honour Retry-After';
      lines.push(
        `${population} clients (${how}): ${tally.succeeded} of ${tally.claims} claims succeeded, ` +
          `goodput ${tally.goodputPerSecond.toFixed(1)}/s, ${tally.retries} retries, ${tally.gaveUp} gave up`,
      );
    }
  }
  const exhaustion = result.trancheExhaustion;
  if (exhaustion !== undefined) {
    const answers = Object.entries(exhaustion.answers)
      .map(([code, count]) => `${code} ${count}`)
      .join(', ');
    lines.push(
      `issued ${exhaustion.issued} coupons (${exhaustion.issuedValueFen} fen); other answers: ${answers === '' ? 'none' : answers}`,
      `${exhaustion.issuedAfterFirstExhaustion} issued after the first exhaustion answer (other shards still had budget)`,
      describeBudget('budget before', exhaustion.budgetBefore),
      describeBudget('budget after', exhaustion.budgetAfter),
    );
    const before = exhaustion.budgetBefore;
    const after = exhaustion.budgetAfter;
    if (typeof before !== 'string' && typeof after !== 'string') {
      const issuedFen = (after.issuedFen ?? 0) - (before.issuedFen ?? 0);
      lines.push(
        issuedFen === exhaustion.issuedValueFen
          ? `the ledger's issued total grew by exactly the ${issuedFen} fen this run was issued`
          : `MISMATCH: the ledger's issued total grew by ${issuedFen} fen, this run was issued ${exhaustion.issuedValueFen} fen (other clients?)`,
      );
      if (after.remainingFen !== 0) {
        lines.push(`not drained: ${after.remainingFen} fen remain; raise --rate or the duration`);
      }
    }
  }
  return lines.join('\n');
}
