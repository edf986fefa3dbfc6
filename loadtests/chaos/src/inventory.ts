import { parseCouponCode, reconcile, shardKeys, type BudgetLedger } from '@coupons/budget-ledger';
import type { CampaignCalendar } from '@coupons/campaign';
import type { Cluster, Redis } from 'ioredis';
import type { ClaimRecord } from './steadyLoad';

/** What a chaos run counts at its end, from the load's answers and from Redis itself. */
export interface Inventory {
  claimsSent: number;
  /** claims answered 2xx (issued or replayed) */
  acknowledged: number;
  /** distinct codes among them */
  distinctCodes: number;
  /** one code handed to two users: must be 0 */
  codesTwice: number;
  /** 2xx coupons whose record Redis no longer has: acknowledged, then lost */
  acknowledgedButLost: number;
  /** coupons the ledger counts as issued (null when a shard is unknown) */
  issuedInRedis: number | null;
  releasedCoupons: number;
  /** issued - released in fen: must not be positive */
  overSpendFen: number | null;
  /** reconcile's problems: must be empty */
  problems: string[];
  answers: Record<string, number>;
}

/** One field of every shard's ledger hash, in shard order (null where a shard has none). */
export function ledgerFields(
  redis: Redis | Cluster,
  campaignId: string,
  shards: number,
  field: string,
): Promise<(string | null)[]> {
  return Promise.all(
    Array.from({ length: shards }, (_, s) => redis.hget(shardKeys(campaignId, s).ledger, field)),
  );
}

/** A status count key: "201", "503 UNAVAILABLE", "0 no answer". */
function answerKey(claim: ClaimRecord): string {
  if (claim.status === 0) return '0 no answer';
  return claim.errorCode === undefined
    ? String(claim.status)
    : `${claim.status} ${claim.errorCode}`;
}

export async function takeInventory(
  redis: Redis | Cluster,
  ledger: BudgetLedger,
  calendar: CampaignCalendar,
  claims: readonly ClaimRecord[],
): Promise<Inventory> {
  const campaign = calendar.campaign;
  const acknowledged = claims.filter((c) => c.code !== undefined);
  const owners = new Map<string, string>();
  let codesTwice = 0;
  for (const claim of acknowledged) {
    const owner = owners.get(claim.code!);
    if (owner !== undefined && owner !== claim.userId) codesTwice += 1;
    owners.set(claim.code!, claim.userId);
  }
  let lost = 0;
  for (const code of owners.keys()) {
    const parsed = parseCouponCode(code);
    if (!parsed.ok) throw new Error(`the service answered an unreadable code ${code}`);
    const exists = await redis.exists(shardKeys(campaign.id, parsed.shard).coupon(parsed.code));
    if (exists === 0) lost += 1;
  }
  const snapshot = await ledger.snapshot();
  const report = await reconcile(redis, calendar, Date.now());
  const answers: Record<string, number> = {};
  for (const claim of claims) answers[answerKey(claim)] = (answers[answerKey(claim)] ?? 0) + 1;
  return {
    claimsSent: claims.length,
    acknowledged: acknowledged.length,
    distinctCodes: owners.size,
    codesTwice,
    acknowledgedButLost: lost,
    issuedInRedis: snapshot.issuedCoupons,
    releasedCoupons: snapshot.releasedCoupons,
    overSpendFen:
      snapshot.issuedCoupons === null
        ? null
        : (snapshot.issuedCoupons - snapshot.releasedCoupons) * campaign.couponValueFen,
    problems: report.problems,
    answers,
  };
}
