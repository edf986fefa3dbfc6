import { resolve } from 'node:path';
import { loadCampaignsFile } from '@coupons/campaign';
import {
  prescale,
  readGeneratedWith,
  renderPrescalePatch,
  type CampaignPrescale,
  type GeneratedWith,
} from './prescale';

/** The patch for the campaigns file `made.campaigns` (relative to `root`) with `made`'s settings. */
export function generatePrescaleFile(
  root: string,
  made: GeneratedWith,
): { text: string; results: CampaignPrescale[] } {
  const campaigns = loadCampaignsFile(resolve(root, made.campaigns));
  const results = prescale(campaigns, made);
  return { text: renderPrescalePatch(results, made), results };
}

/**
 * What is wrong with a generated patch, as of `now`: it must be exactly what its recorded settings
 * give for the campaigns file today (else the file or the campaigns changed without the other), and
 * it must not hold windows of a campaign that has ended by `now` (a cron expression has no year:
 * they would scale the fleet up again on the same dates next year).
 */
export function checkPrescaleFile(text: string, root: string, now: number): string[] {
  const made = readGeneratedWith(text);
  if (made === undefined || !Number.isFinite(made.now))
    return ['no "# generated-with:" line: not made by npm run k8s:prescale'];
  const { text: expected, results } = generatePrescaleFile(root, made);
  const problems: string[] = [];
  if (expected !== text)
    problems.push(
      `differs from what ${made.campaigns} gives with its recorded settings: run npm run k8s:prescale`,
    );
  for (const { campaign, windows } of results) {
    if (windows.length > 0 && campaign.endsAt < now)
      problems.push(
        `holds windows of ${campaign.id}, which has ended; they would recur next year: run npm run k8s:prescale`,
      );
  }
  return problems;
}
