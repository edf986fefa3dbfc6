import type { IncomingHttpHeaders } from 'node:http';
import { idempotencyScopeHash, shardOfUser } from '@coupons/budget-ledger';
import { HEADERS, USER_ID_PATTERN } from '@coupons/contract';
import type { CampaignCatalog } from '../campaignCatalog';

/**
 * Who a claim is for, computed once per claim by the front door and carried in the request's
 * context to admission (per-user limit, sold-out check), the route and the ledger.
 */
export interface ClaimIdentity {
  readonly userId: string;
  /** The user's shard in the campaign. */
  readonly shard: number;
  /** idempotencyScopeHash(userId, Idempotency-Key); absent without the header. */
  readonly scopeHash: string | undefined;
}

const IDEMPOTENCY_KEY = HEADERS.idempotencyKey.toLowerCase();

/**
 * The claim's identity from X-User-Id, else from the body's userId; undefined when neither names
 * a valid user or the campaign is not served (the route then answers 400 or 404).
 */
export function claimIdentity(
  catalog: CampaignCatalog,
  campaignId: string | undefined,
  userIdHeader: string | undefined,
  body: unknown,
  headers: IncomingHttpHeaders,
): ClaimIdentity | undefined {
  const calendar = catalog.get(campaignId ?? '');
  const userId = userIdHeader ?? bodyUserId(body);
  if (calendar === undefined || userId === undefined) return undefined;
  // A malformed key is hashed all the same: the route refuses it (400) before any ledger call.
  const key = headers[IDEMPOTENCY_KEY];
  const scopeHash = typeof key === 'string' ? idempotencyScopeHash(userId, key) : undefined;
  return { userId, shard: shardOfUser(userId, calendar.campaign.shards), scopeHash };
}

function bodyUserId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { userId } = body as { userId?: unknown };
  return typeof userId === 'string' && USER_ID_PATTERN.test(userId) ? userId : undefined;
}
