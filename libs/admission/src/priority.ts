/**
 * Priorities, highest first. `redeem` (a purchase in progress) and `read` may use every slot;
 * `claim` (a new coupon) and `other` share the claim partition, so an odd or unknown request can
 * never buy more priority than a claim. The service decides each request's priority from its
 * route; the gate only orders work by it.
 */
export const PRIORITIES = ['redeem', 'read', 'claim', 'other'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Priorities limited to the claim share of every layer that reserves capacity. */
export function isBulk(priority: Priority): boolean {
  return priority === 'claim' || priority === 'other';
}
