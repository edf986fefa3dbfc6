/**
 * The window the issue script is sent: the calendar's, cut to the campaign's claim period, or
 * wholly before ("early") or after it ("late"), so the script needs no start and end of its own.
 */
export function claimWindow(
  cap: { fromMs: number; untilMs: number; scope: 'campaign' | 'day' },
  campaign: { startsAt: number; endsAt: number; couponExpiresAt: number },
  at: number,
): { fromMs: number; untilMs: number; scope: 'campaign' | 'day' | 'early' | 'late' } {
  // No claim after the coupons' expiry, which may fall inside the last day.
  const lastClaimMs = Math.min(campaign.endsAt, campaign.couponExpiresAt);
  if (at < campaign.startsAt)
    return {
      fromMs: cap.fromMs,
      untilMs: Math.min(cap.untilMs, campaign.startsAt),
      scope: 'early',
    };
  if (at > lastClaimMs)
    return { fromMs: Math.max(cap.fromMs, lastClaimMs + 1), untilMs: cap.untilMs, scope: 'late' };
  return {
    fromMs: Math.max(cap.fromMs, campaign.startsAt),
    untilMs: Math.min(cap.untilMs, lastClaimMs + 1),
    scope: cap.scope,
  };
}
