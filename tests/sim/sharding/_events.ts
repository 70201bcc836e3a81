/**
 * The event queue of the sharding simulator: actions at real times, popped
 * in time order (ties in the order they were pushed).
 *
 * @module
 */

interface Item {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of timed actions. */
export class EventQueue {
  #heap: Item[] = [];
  #seq = 0;

  /** Queues `run` at real time `at`. */
  push(at: number, run: () => void): void {
    const item = { at, seq: this.#seq++, run };
    const h = this.#heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  /** The time of the next action, or `Infinity`. */
  peek(): number {
    return this.#heap[0]?.at ?? Infinity;
  }

  /** Removes and returns the next action. */
  pop(): Item | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  /** Actions queued. */
  get size(): number {
    return this.#heap.length;
  }
}

function less(a: Item, b: Item): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
