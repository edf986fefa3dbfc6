import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { CampaignCalendar, ManualClock, parseCampaigns, type Campaign } from '@coupons/campaign';
import { BudgetLedger, type LedgerOptions } from '../src';

/** A campaign with a fresh id (tests share Redis servers), from the file format. */
export function campaign(overrides: Record<string, unknown> = {}): Campaign {
  const [parsed] = parseCampaigns({
    campaigns: [
      {
        id: `t-${randomBytes(5).toString('hex')}`,
        name: 'test campaign',
        currency: 'CNY',
        poolFen: 2500 * 2300,
        couponValueFen: 2500,
        minOrderFen: 0,
        timeZone: 'Asia/Shanghai',
        startsAt: '2026-02-06T00:00:00+08:00',
        endsAt: '2026-02-28T23:59:59.999+08:00',
        perUser: { daily: 3, total: 21 },
        release: { slicesPerDay: 24, rollover: true },
        shards: 4,
        ...overrides,
      },
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
