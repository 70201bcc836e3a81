/**
 * The work queue a competent client-node user writes, after client-go's
 * `workqueue`: a FIFO of keys with a dirty set and a processing set. A key
 * is queued at most once; a key being processed is never handed to a
 * second worker, and a key added while it is processed is queued again
 * once `done` is called. No rate limiting (the benchmark has no failures).
 * The baseline of `bench/controller.ts` uses it; it is not part of the
 * library.
 *
 * @module
 */

/**
 * A de-duplicating, keyed work queue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyedQueue } from "./_keyed_queue.ts";
 * const queue = new KeyedQueue();
 * queue.add("default/a");
 * queue.add("default/a"); // de-duplicated
 * const key = await queue.get(); // now processing
 * assert.equal(key, "default/a");
 * queue.add("default/a"); // noted: queued again after done()
 * queue.done(key!);
 * assert.equal(queue.length, 1);
 * ```
 */
export class KeyedQueue {
  #items: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  #waiters: Array<(key: string | undefined) => void> = [];
  #shutDown = false;

  /** Keys waiting for a worker. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Keys a worker holds. */
  get processing(): number {
    return this.#processing.size;
  }

  /** Queues `key` unless it is queued already (or, if processing, once done). */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** The next key (marked processing), or `undefined` once shut down. */
  get(): Promise<string | undefined> {
    if (this.length > 0) return Promise.resolve(this.#take());
    if (this.#shutDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends the processing of `key`; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#push(key);
  }

  /** Wakes every waiting `get` with `undefined`; later adds are ignored. */
  shutDown(): void {
    this.#shutDown = true;
    for (const wake of this.#waiters.splice(0)) wake(undefined);
  }

  #push(key: string): void {
    const wake = this.#waiters.shift();
    if (wake) wake(this.#mark(key));
    else this.#items.push(key);
  }

  #take(): string {
    const key = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return this.#mark(key);
  }

  #mark(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
