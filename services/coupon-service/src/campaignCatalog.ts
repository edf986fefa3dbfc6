import { CampaignCalendar, type CampaignConfig } from '@coupons/campaign';

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
