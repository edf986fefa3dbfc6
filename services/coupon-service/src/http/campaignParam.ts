import { CAMPAIGN_ID_PATTERN, type CampaignCalendar } from '@coupons/campaign';
import type { CampaignCatalog } from '../campaignCatalog';
import { ApiError } from '../answers/errors';

/** The campaign named by the path, or 404 CAMPAIGN_NOT_FOUND (never echoing more than 64 chars). */
export function campaignFromPath(catalog: CampaignCatalog, raw: unknown): CampaignCalendar {
  const id = typeof raw === 'string' ? raw : '';
  const calendar = CAMPAIGN_ID_PATTERN.test(id) ? catalog.get(id) : undefined;
  if (calendar === undefined)
    throw new ApiError('CAMPAIGN_NOT_FOUND', `no campaign "${id.slice(0, 64)}"`);
  return calendar;
}
