import type { Cluster, Redis } from 'ioredis';
import { campaignInput, uniqueId } from '@coupons/testing';
import { CampaignCalendar, ManualClock, parseCampaigns, type Campaign } from '@coupons/campaign';
import { BudgetLedger, type LedgerOptions } from '../src';

/** A campaign with a fresh id (tests share Redis servers): 100 coupons a day over 4 shards. */
export function campaign(overrides: Record<string, unknown> = {}): Campaign {
  const [parsed] = parseCampaigns({
    campaigns: [
      campaignInput({
        id: uniqueId('t'),
        name: 'test campaign',
        poolFen: 2500 * 2300,
        shards: 4,
        ...overrides,
      }),
    ],
  });
  return parsed!;
}

export const at = (iso: string): number => Date.parse(iso);

/** A ledger on an injected clock the scripts trust (tests only), initialised unless told not to. */
export async function ledgerAt(
  redis: Redis | Cluster,
  iso: string,
  overrides: Record<string, unknown> = {},
  options: LedgerOptions & { init?: boolean; campaign?: Campaign } = {},
): Promise<{ ledger: BudgetLedger; clock: ManualClock; calendar: CampaignCalendar }> {
  const { campaign: given, init, ...ledgerOptions } = options;
  const calendar = new CampaignCalendar(given ?? campaign(overrides));
  const clock = new ManualClock(at(iso));
  const ledger = new BudgetLedger(redis, calendar, clock, {
    trustCallerClock: true,
    ...ledgerOptions,
  });
  if (init !== false) {
    clock.set(Math.min(clock.now(), calendar.campaign.startsAt - 1));
    await ledger.init();
    clock.set(at(iso));
  }
  return { ledger, clock, calendar };
}

let sequence = 0;
export function claim(userId: string, idempotencyKey = `k-${(sequence += 1)}`) {
  return { apiKeyId: 'chat', userId, idempotencyKey, bodyHash: `{"userId":"${userId}"}` };
}
