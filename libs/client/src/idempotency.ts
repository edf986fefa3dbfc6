import { createHash, randomUUID } from 'node:crypto';

/**
 * One Idempotency-Key per logical claim, reused by every retry of it. Derived from the caller's
 * own id for the user's intent (a chat message id), the key is the same however often that
 * message is processed again (a redelivered event, a restarted worker): the service then answers
 * the coupon it gave, never a second one.
 */
export function claimKeyFor(namespace: string, intentId: string): string {
  if (namespace.length === 0) throw new RangeError('namespace must not be empty');
  if (intentId.length === 0) throw new RangeError('intentId must not be empty');
  // The NUL separator keeps ("a", "b:c") and ("a:b", "c") apart.
  const digest = createHash('sha256').update(`${namespace}\u0000${intentId}`, 'utf8');
  return `ck1-${digest.digest('base64url')}`;
}

/** A new key, for a claim with no id of its own (keep it to ask again after a lost answer). */
export function newClaimKey(): string {
  return `ck1-${randomUUID()}`;
}
