/**
 * A failure that many reads wait on, one after another, without
 * piling up. `Promise.race([read(), failure])` in a loop adds a reaction to
 * the long-lived `failure` per read, and each reaction keeps that read's
 * result (a chunk of a watch stream, say) alive until `failure` settles or
 * is dropped: a watch held every chunk it ever read. Here each
 * {@linkcode Tripwire.race} registers one rejecter, removed as soon as its
 * read settles, so nothing outlives the read.
 *
 * @module
 */

/**
 * A failure that ends every pending and every later {@linkcode Tripwire.race}.
 *
 * @example Race each read of a stream against one failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tripwire } from "./tripwire.ts";
 *
 * const failure = new Tripwire();
 * assert.equal(await failure.race(Promise.resolve("chunk")), "chunk");
 * assert.equal(failure.waiting, 0);
 * failure.trip(new Error("connection closed"));
 * await assert.rejects(failure.race(new Promise(() => {})), /connection closed/);
 * ```
 */
export class Tripwire {
  #tripped: { reason: unknown } | null = null;
  readonly #pending = new Set<(reason: unknown) => void>();

  /** Whether {@linkcode Tripwire.trip} was called. */
  get tripped(): boolean {
    return this.#tripped !== null;
  }

  /** How many races are waiting (for tests: it falls back to 0). */
  get waiting(): number {
    return this.#pending.size;
  }

  /** Rejects every pending race with `reason`, and every later one; once. */
  trip(reason: unknown): void {
    if (this.#tripped !== null) return;
    this.#tripped = { reason };
    for (const reject of this.#pending) reject(reason);
    this.#pending.clear();
  }

  /** `promise`, or the trip's reason if it comes first. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#tripped !== null) {
      promise.catch(() => {});
      return Promise.reject(this.#tripped.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.add(reject);
      promise.then(
        (value) => {
          this.#pending.delete(reject);
          resolve(value);
        },
        (error) => {
          this.#pending.delete(reject);
          reject(error);
        },
      );
    });
  }
}
