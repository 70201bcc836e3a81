/**
 * The one seeded pseudo-random generator of the tests, the simulator and
 * the benchmarks (sfc32 seeded through splitmix32). The same seed gives the
 * same sequence on every runtime.
 *
 * @module
 */

function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded generator of numbers in `[0, 1)` and helpers built on it.
 *
 * @example
 * ```ts
 * import { Prng } from "@k8s-operator/k8s-operator/testing";
 * const prng = new Prng(20_261_213);
 * const node = prng.pick([0, 1, 2]);
 * const order = prng.shuffle(["a", "b", "c"]);
 * const lossy = prng.chance(0.1);
 * const child = prng.fork(); // an independent sequence, itself reproducible
 * ```
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seeds the generator from any safe integer. */
  constructor(seed: number) {
    const state = { x: (seed >>> 0) ^ Math.floor(seed / 4294967296) * 31 };
    this.#a = splitmix32(state);
    this.#b = splitmix32(state);
    this.#c = splitmix32(state);
    this.#d = splitmix32(state);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** The next number in `[0, 1)`. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in `[0, n)`. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in `[low, high]`. */
  range(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** The items in a random order (a new array). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** An independent generator seeded from this one. */
  fork(): Prng {
    return new Prng(this.int(4294967296) + this.int(2097152) * 4294967296);
  }
}

/**
 * A seeded source of numbers in `[0, 1)`, for options that take
 * `random: () => number` (a node's election timeouts, a backoff's jitter).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seeded } from "@k8s-operator/k8s-operator/testing";
 * const a = seeded(7);
 * const b = seeded(7);
 * assert.equal(a() === b(), true);
 * ```
 */
export function seeded(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

/**
 * An integer in `[0, n)` drawn from `random`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { below, seeded } from "@k8s-operator/k8s-operator/testing";
 * const die = below(seeded(1), 6);
 * assert.ok(die >= 0 && die < 6 && Number.isInteger(die));
 * ```
 */
export function below(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
