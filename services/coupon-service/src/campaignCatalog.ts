import { CampaignCalendar, type CampaignConfig, CAMPAIGN_ID_PATTERN } from '@coupons/campaign';
import { ApiError } from './answers/errors';

/** The campaigns this pod serves, each with its precomputed calendar. */
export class CampaignCatalog {
  private readonly byId: ReadonlyMap<string, CampaignCalendar>;

  constructor(campaigns: readonly CampaignConfig[]) {
    this.byId = new Map(campaigns.map((campaign) => [campaign.id, new CampaignCalendar(campaign)]));
  }

  get(id: string): CampaignCalendar | undefined {
    return this.byId.get(id);
  }

  all(): CampaignCalendar[] {
    return [...this.byId.values()];
  }

  /** The campaign a newcomer most likely wants to try: the first one running now. */
  featured(now: number): CampaignCalendar | undefined {
    return this.all().find((calendar) => calendar.phase(now) === 'running') ?? this.all()[0];
  }
}

/** The campaign named by the path, or 404 CAMPAIGN_NOT_FOUND (never echoing more than 64 chars). */
export function campaignFromPath(catalog: CampaignCatalog, raw: unknown): CampaignCalendar {
  const id = typeof raw === 'string' ? raw : '';
  const calendar = CAMPAIGN_ID_PATTERN.test(id) ? catalog.get(id) : undefined;
  if (calendar === undefined)
    throw new ApiError('CAMPAIGN_NOT_FOUND', `no campaign "${id.slice(0, 64)}"`);
  return calendar;
}
