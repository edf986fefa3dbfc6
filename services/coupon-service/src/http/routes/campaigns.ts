import type { RequestHandler } from 'express';
import { couponsToFen, toZonedIso, type CampaignCalendar, type Clock } from '@coupons/campaign';
import { type CampaignCatalog, campaignFromPath } from '../../campaignCatalog';
import { contextOf } from '../../frontDoor/frontDoor';

/** The public view of a campaign at `now`: window, value, limits and release schedule, in fen. */
function campaignView(calendar: CampaignCalendar, now: number) {
  const { campaign } = calendar;
  const zone = campaign.timeZone;
  const fen = (coupons: number) => couponsToFen(campaign, coupons);
  const iso = (ms: number | undefined) => (ms === undefined ? null : toZonedIso(ms, zone));
  const today = calendar.dayAt(now);
  const releasedCoupons = calendar.releasedCouponsAt(now);
  return {
    id: campaign.id,
    name: campaign.name,
    currency: campaign.currency,
    status: calendar.phase(now),
    poolFen: campaign.poolFen,
    couponValueFen: campaign.couponValueFen,
    minOrderFen: campaign.minOrderFen,
    timeZone: zone,
    startsAt: iso(campaign.startsAt),
    endsAt: iso(campaign.endsAt),
    couponExpiresAt: iso(campaign.couponExpiresAt),
    perUser: { daily: campaign.perUser.daily, total: campaign.perUser.total },
    release: {
      slicesPerDay: campaign.release.slicesPerDay,
      rollover: campaign.release.rollover,
      releasedFen: fen(releasedCoupons),
      unreleasedFen: fen(calendar.poolCoupons - releasedCoupons),
      nextReleaseAt: iso(calendar.nextReleaseAt(now)),
      today:
        today === undefined
          ? null
          : {
              day: today.day,
              trancheFen: fen(today.trancheCoupons),
              releasedFen: fen(calendar.releasedOnDayAt(today.day, now)),
              slicesReleased: today.slices.filter((slice) => slice.atMs <= now).length,
              slices: today.slices.length,
            },
      tranches: calendar.days.map((day) => ({
        day: day.day,
        trancheFen: fen(day.trancheCoupons),
        firstReleaseAt: iso(day.slices[0]?.atMs),
      })),
    },
    asOf: iso(now),
  };
}

export function campaignHandler(catalog: CampaignCatalog, clock: Clock): RequestHandler {
  return (_req, res) => {
    const calendar = campaignFromPath(catalog, contextOf(res).params.campaignId);
    res.json({ campaign: campaignView(calendar, clock.now()) });
  };
}
