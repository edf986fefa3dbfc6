/**
 * Claims whose attempt may have been served although no answer came back (the connection
 * dropped after the request went out, the deadline ran out, 503 UNAVAILABLE from a ledger call
 * that may have run). The service answers such a claim's retry with its coupon even when the
 * campaign is sold out, so these claims must reach the service: no local sold-out answer for
 * them. Bounded: the oldest entries go first.
 */
export class UncertainClaims {
  private readonly keys = new Set<string>();

  constructor(private readonly max = 10_000) {}

  static keyOf(campaignId: string, userId: string, idempotencyKey: string): string {
    return `${campaignId}\n${userId}\n${idempotencyKey}`;
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.max) {
      const oldest = this.keys.values().next();
      if (oldest.done !== true) this.keys.delete(oldest.value);
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** The claim got its coupon: no longer uncertain. */
  settle(key: string): void {
    this.keys.delete(key);
  }

  get size(): number {
    return this.keys.size;
  }
}
