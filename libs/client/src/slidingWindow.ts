import type { Clock } from '@coupons/contract';

/**
 * Counts of the last `windowMs`, kept in `buckets` slots of windowMs/buckets each: a count older
 * than the window falls out a slot at a time, so the sum is "the recent past" without storing
 * every event. Several named counters share one set of slots (read together, expire together).
 */
export class SlidingWindow<Name extends string> {
  private readonly slotMs: number;
  private readonly slots: Record<Name, number>[];
  /** The slot index (time / slotMs) of slots[cursor]. */
  private cursorSlot: number;
  private cursor = 0;

  constructor(
    private readonly names: readonly Name[],
    readonly windowMs: number,
    private readonly clock: Clock,
    buckets = 10,
  ) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0: ${windowMs}`);
    if (!Number.isInteger(buckets) || buckets < 1)
      throw new RangeError(`buckets must be an integer >= 1: ${buckets}`);
    this.slotMs = windowMs / buckets;
    this.slots = Array.from({ length: buckets }, () => this.empty());
    this.cursorSlot = Math.floor(clock.now() / this.slotMs);
  }

  add(name: Name, count = 1): void {
    this.advance();
    (this.slots[this.cursor] as Record<Name, number>)[name] += count;
  }

  /** The sum of each counter over the window ending now. */
  sums(): Record<Name, number> {
    this.advance();
    const total = this.empty();
    for (const slot of this.slots) for (const name of this.names) total[name] += slot[name];
    return total;
  }

  private empty(): Record<Name, number> {
    return Object.fromEntries(this.names.map((name) => [name, 0])) as Record<Name, number>;
  }

  private advance(): void {
    const slot = Math.floor(this.clock.now() / this.slotMs);
    if (slot <= this.cursorSlot) return; // the same slot, or a clock that stepped back
    const steps = Math.min(slot - this.cursorSlot, this.slots.length);
    for (let i = 0; i < steps; i++) {
      this.cursor = (this.cursor + 1) % this.slots.length;
      this.slots[this.cursor] = this.empty();
    }
    this.cursorSlot = slot;
  }
}
