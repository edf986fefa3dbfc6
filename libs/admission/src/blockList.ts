export const DEFAULT_MAX_BLOCKED = 100_000;

/**
 * Ids refused from memory until a moment (the end of their rate window). Not
 * rate-limiter-flexible's inMemoryBlockOnConsumed: its block list scans every entry on each new
 * block once it holds 1000 (measured in bench/cost.ts: 25 µs per block at 1,000 blocked ids,
 * 1.6 ms at 100,000), which a crowd of retrying users would turn into a CPU sink. Here a lookup
 * is one Map get, and adding sweeps a few expired entries from the front: insertion order is
 * close to expiry order because every block lasts at most one window. Bounded by `maxBlocked`.
 */
export class BlockList {
  private readonly untilById = new Map<string, number>();

  constructor(readonly maxBlocked = DEFAULT_MAX_BLOCKED) {}

  get size(): number {
    return this.untilById.size;
  }

  /** Milliseconds `id` stays blocked, 0 when it is not. */
  blockedMs(id: string, now: number): number {
    const until = this.untilById.get(id);
    if (until === undefined) return 0;
    if (now < until) return until - now;
    this.untilById.delete(id);
    return 0;
  }

  block(id: string, untilMs: number, now: number): void {
    this.sweep(now);
    this.untilById.delete(id);
    if (this.untilById.size >= this.maxBlocked) {
      const oldest = this.untilById.keys().next();
      if (oldest.done !== true) this.untilById.delete(oldest.value);
    }
    this.untilById.set(id, untilMs);
  }

  private sweep(now: number): void {
    let looked = 0;
    for (const [id, until] of this.untilById) {
      if (until > now || ++looked > 4) return;
      this.untilById.delete(id);
    }
  }
}
