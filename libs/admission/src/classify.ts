/**
 * Priorities, highest first. `redeem` (a purchase in progress) and `read` may use every slot;
 * `claim` (a new coupon) and `other` share the claim partition, so an odd or unknown request can
 * never buy more priority than a claim.
 */
export const PRIORITIES = ['redeem', 'read', 'claim', 'other'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Priorities limited to the claim share of every layer that reserves capacity. */
export function isBulk(priority: Priority): boolean {
  return priority === 'claim' || priority === 'other';
}

export interface RequestClass {
  priority: Priority;
  /** The raw path segment (not percent-decoded): a key for the sold-out cache, nothing more. */
  campaignId?: string;
  /** From the `userId` query parameter (reads of one coupon, reversals); claims carry it in the body. */
  userId?: string;
}

const PREFIX = '/v1/campaigns/';
const OTHER: RequestClass = Object.freeze({ priority: 'other' });

/**
 * The route's priority from method and URL with plain string operations: no body, no routing
 * table, no allocation beyond the result. Express stays the judge of what is a valid request;
 * this only decides who waits.
 */
export function classify(method: string | undefined, url: string | undefined): RequestClass {
  if (url === undefined || !url.startsWith(PREFIX)) return OTHER;
  const q = url.indexOf('?');
  let end = q < 0 ? url.length : q;
  if (end > PREFIX.length && url.charCodeAt(end - 1) === 47 /* '/' */) end--;
  const path = url.slice(PREFIX.length, end);

  const s1 = path.indexOf('/');
  const campaignId = s1 < 0 ? path : path.slice(0, s1);
  if (campaignId === '') return OTHER;
  if (s1 < 0) return method === 'GET' ? { priority: 'read', campaignId } : OTHER;

  const rest = path.slice(s1 + 1);
  if (rest === 'budget') return method === 'GET' ? { priority: 'read', campaignId } : OTHER;
  if (rest === 'coupons') return method === 'POST' ? { priority: 'claim', campaignId } : OTHER;
  if (!rest.startsWith('coupons/')) return OTHER;

  // coupons/{code}, coupons/{code}/redemptions, coupons/{code}/redemptions/{orderId}
  const parts = rest.split('/', 5);
  if (parts.length === 2 && parts[1] !== '' && method === 'GET') {
    return withUserId({ priority: 'read', campaignId }, url, q);
  }
  if (parts[2] !== 'redemptions' || parts[1] === '') return OTHER;
  if (parts.length === 3 && method === 'POST') return { priority: 'redeem', campaignId };
  if (parts.length === 4 && parts[3] !== '' && method === 'DELETE') {
    return withUserId({ priority: 'redeem', campaignId }, url, q);
  }
  return OTHER;
}

function withUserId(result: RequestClass, url: string, q: number): RequestClass {
  if (q < 0) return result;
  const userId = queryParam(url, q + 1, 'userId=');
  if (userId !== undefined) result.userId = userId;
  return result;
}

/** The first `name=` value of the query starting at `from`, percent-decoded; undefined if absent or malformed. */
function queryParam(url: string, from: number, nameEq: string): string | undefined {
  let at = from;
  while (at < url.length) {
    const amp = url.indexOf('&', at);
    const end = amp < 0 ? url.length : amp;
    if (url.startsWith(nameEq, at)) {
      const raw = url.slice(at + nameEq.length, end);
      if (raw === '') return undefined;
      if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) return raw;
      try {
        return decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        return undefined;
      }
    }
    at = end + 1;
  }
  return undefined;
}
