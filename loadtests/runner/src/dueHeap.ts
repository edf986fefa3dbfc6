export interface Due {
  atMs: number;
}

/** A binary min-heap on atMs: follow-up requests waiting for their time. */
export class DueHeap<T extends Due> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  /** atMs of the earliest item, Infinity when empty */
  get nextAtMs(): number {
    return this.items[0]?.atMs ?? Infinity;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent]!;
      if (above.atMs <= item.atMs) break;
      items[i] = above;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.atMs < items[left]!.atMs ? right : left;
      if (items[child]!.atMs >= last.atMs) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
