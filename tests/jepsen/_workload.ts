/**
 * What the clients of the linearizability test ask: gets, puts and
 * compare-and-sets on a few keys at a time.
 *
 * Every written value is unique (`<client>.<sequence>`), so a read names the
 * write it saw. Keys rotate: each key takes `opsPerKey` operations that
 * went into the history (refused ones do not count), then a fresh key
 * replaces it. The checker searches each key alone, and a key's
 * history stays small however long the run (Jepsen's independent keys), so
 * a 30-minute run is as easy to check as a short one. A compare-and-set
 * usually expects the latest value some client saw for its key, so that
 * many succeed; sometimes an older value or `null`, so that some fail.
 *
 * @module
 */
import type { RegisterInput } from "../../testing/mod.ts";
import type { Prng } from "../../testing/raft/random.ts";

/** Options of a {@linkcode Workload}. */
export interface WorkloadOptions {
  /** Keys in use at once. */
  activeKeys: number;
  /** Recorded operations each key takes before it is retired. */
  opsPerKey: number;
  /** Called when a key is retired: no operation on it will be drawn again. */
  onRetire?: (key: string) => void;
}

/** Draws client operations from one seeded generator. */
export class Workload {
  readonly #rng: Prng;
  readonly #opsPerKey: number;
  readonly #onRetire: (key: string) => void;
  readonly #slots: string[] = [];
  readonly #recorded = new Map<string, number>();
  readonly #seen = new Map<string, (string | null)[]>();
  readonly #sequence = new Map<number, number>();
  readonly #keys: string[] = [];

  constructor(rng: Prng, options: WorkloadOptions) {
    this.#rng = rng;
    this.#opsPerKey = options.opsPerKey;
    this.#onRetire = options.onRetire ?? (() => {});
    for (let i = 0; i < options.activeKeys; i++) {
      this.#slots.push(this.#newKey());
    }
  }

  #newKey(): string {
    const key = `k${this.#keys.length}`;
    this.#keys.push(key);
    return key;
  }

  /** The next operation of `client`: always a get for a reader. */
  next(client: number, options: { reader?: boolean } = {}): RegisterInput {
    const slot = this.#rng.int(this.#slots.length);
    if ((this.#recorded.get(this.#slots[slot]) ?? 0) >= this.#opsPerKey) {
      const retired = this.#slots[slot];
      this.#recorded.delete(retired);
      this.#seen.delete(retired);
      this.#slots[slot] = this.#newKey();
      this.#onRetire(retired);
    }
    const key = this.#slots[slot];
    const draw = this.#rng.next();
    if (draw < 0.45 || options.reader) return { key, op: "get" };
    const n = (this.#sequence.get(client) ?? 0) + 1;
    this.#sequence.set(client, n);
    const value = `${client}.${n}`;
    if (draw < 0.75) return { key, op: "put", value };
    const seen = this.#seen.get(key) ?? [null];
    const expected = this.#rng.chance(0.8)
      ? seen[seen.length - 1]
      : this.#rng.pick(seen);
    return { key, op: "cas", expected, value };
  }

  /** Counts an operation on `key` that went into the history. */
  recorded(key: string): void {
    this.#recorded.set(key, (this.#recorded.get(key) ?? 0) + 1);
  }

  /** Notes a value some client read or wrote for `key`. */
  observe(key: string, value: string | null): void {
    let seen = this.#seen.get(key);
    if (seen === undefined) this.#seen.set(key, seen = [null]);
    if (seen[seen.length - 1] !== value) seen.push(value);
    if (seen.length > 8) seen.splice(1, 1); // keep null and recent values
  }

  /** Every key used so far, in order. */
  get keys(): readonly string[] {
    return this.#keys;
  }
}
