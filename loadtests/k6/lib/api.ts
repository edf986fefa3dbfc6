/**
 * Requests of the HTTP contract and the setup every scenario shares: readiness first (fail fast
 * with a message a person can act on), then the campaign and its budget.
 */

import exec from 'k6/execution';
import http from 'k6/http';
import type { Response } from 'k6/http';
import type { Config } from './config.ts';
import { loadConfig, newRunId } from './config.ts';
import {
  apiErrorOf,
  asCampaign,
  budgetProblems,
  jsonBody,
  type Budget,
  type CampaignInfo,
} from './contract.ts';

/** What setup() hands every iteration (k6 passes it as JSON) and handleSummary (`setup_data`). */
export interface SetupData {
  runId: string;
  campaign: CampaignInfo;
  /** The budget when the run started. */
  budget: Budget;
  startedAt: string;
}

/** `name` tags: one time series per route, not one per coupon code. */
export const ROUTE = {
  readyz: 'GET /readyz',
  campaign: 'GET /v1/campaigns/{id}',
  budget: 'GET /v1/campaigns/{id}/budget',
  claim: 'POST /v1/campaigns/{id}/coupons',
  read: 'GET /v1/campaigns/{id}/coupons/{code}',
  redeem: 'POST /v1/campaigns/{id}/coupons/{code}/redemptions',
  reverse: 'DELETE /v1/campaigns/{id}/coupons/{code}/redemptions/{orderId}',
} as const;

const SETUP_TIMEOUT = '10s';

/**
 * Statuses that are answers the contract defines rather than failures: 2xx, the refusals of a
 * claim (409/410) and shed answers (429/503). `http_req_failed` then counts only the rest: no
 * answer in time, 4xx/5xx the contract does not expect here. Call in the init context.
 */
export function expectClaimAnswers(): void {
  http.setResponseCallback(http.expectedStatuses({ min: 200, max: 204 }, 409, 410, 429, 503));
}

/** The init context of a claim scenario: its settings, with the claim's answers expected. */
export function loadClaimScenario(): Config {
  const config = loadConfig();
  expectClaimAnswers();
  return config;
}

export function campaignUrl(config: Config, path = ''): string {
  return `${config.baseUrl}/v1/campaigns/${encodeURIComponent(config.campaignId)}${path}`;
}

export function authHeaders(config: Config): Record<string, string> {
  return { Authorization: `Bearer ${config.apiKey}` };
}

export function getBudget(config: Config, timeout: string = SETUP_TIMEOUT): Response {
  return http.get(campaignUrl(config, '/budget'), {
    headers: authHeaders(config),
    tags: { name: ROUTE.budget },
    timeout,
  });
}

/** Stops the whole test with `message` (k6 exits non-zero); for setup, before any load is sent. */
export function abortTest(message: string): never {
  exec.test.abort(message);
  throw new Error(message); // not reached: abort() ends the run
}

function answered(res: Response): string {
  if (res.status === 0) return `no answer (${res.error})`;
  const error = apiErrorOf(jsonBody(res));
  return error === undefined ? `${res.status}` : `${res.status} ${error.code}: ${error.message}`;
}

function keyProblem(config: Config, res: Response, scope: string): string | undefined {
  if (res.status === 401) return `the API key was not accepted (401): check API_KEY`;
  if (res.status === 403) return `the API key lacks the ${scope} scope (403)`;
  if (res.status === 404)
    return `campaign "${config.campaignId}" is not served by ${config.baseUrl} (404): check CAMPAIGN_ID and the deployment's campaigns file`;
  return undefined;
}

/**
 * The shared setup(): GET /readyz must be 200, the campaign must be running, its budget readable.
 * Anything else aborts the test before the load starts, saying what to fix.
 */
export function setupRun(config: Config): SetupData {
  const ready = http.get(`${config.baseUrl}/readyz`, {
    tags: { name: ROUTE.readyz },
    timeout: SETUP_TIMEOUT,
  });
  if (ready.status === 0)
    abortTest(
      `cannot reach ${config.baseUrl}/readyz (${ready.error}): is the service running at BASE_URL (for Kubernetes: is the port-forward up)?`,
    );
  if (ready.status !== 200)
    abortTest(
      `${config.baseUrl}/readyz answered ${ready.status}, not 200: the service is not ready (Redis unreachable, no campaigns or draining): ${String(ready.body)}`,
    );

  const campaignRes = http.get(campaignUrl(config), {
    headers: authHeaders(config),
    tags: { name: ROUTE.campaign },
    timeout: SETUP_TIMEOUT,
  });
  const campaignKeyProblem = keyProblem(config, campaignRes, 'budget:read');
  if (campaignKeyProblem !== undefined) abortTest(campaignKeyProblem);
  const campaign = campaignRes.status === 200 ? asCampaign(jsonBody(campaignRes)) : undefined;
  if (campaign === undefined)
    return abortTest(
      `GET /v1/campaigns/${config.campaignId} answered ${answered(campaignRes)}, not 200 with a campaign in the contract's shape`,
    );
  if (campaign.status !== 'running')
    abortTest(
      `campaign "${campaign.id}" is ${campaign.status}, not running: every claim would be refused; set CAMPAIGN_ID to a running campaign`,
    );

  const budgetRes = getBudget(config);
  const body = jsonBody(budgetRes);
  if (budgetRes.status !== 200)
    abortTest(
      `GET /v1/campaigns/${config.campaignId}/budget answered ${answered(budgetRes)}` +
        (budgetRes.status === 503
          ? ': if the ledger is missing, an operator runs `npm run ledger:init -- --campaign <id>`'
          : ''),
    );
  const problems = budgetProblems(body, campaign);
  if (problems.length > 0)
    abortTest(`the budget is not in the contract's shape: ${problems.join('; ')}`);

  return {
    runId: newRunId(),
    campaign,
    budget: body as Budget,
    startedAt: new Date().toISOString(),
  };
}
