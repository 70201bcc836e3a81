/**
 * A work queue in the manner of client-go's: keys are de-duplicated, a key
 * is never handed to two workers at once, failures back off per key
 * exponentially under an overall token bucket, and keys can be scheduled
 * for later.
 *
 * @module
 */
import { ItemBackoff } from "../common/backoff.ts";
import { TokenBucket } from "../common/rate_limiter.ts";
import { type Clock, systemClock, type TimerHandle } from "../common/clock.ts";

/**
 * Hooks a {@linkcode WorkQueue} calls, for metrics (client-go's workqueue
 * metrics: depth, adds, queue latency, work duration, retries). Every
 * method is optional; times come from the queue's clock, in milliseconds.
 * A hook must not throw.
 *
 * @example
 * ```ts
 * import { WorkQueue, type WorkQueueObserver } from "./work_queue.ts";
 * const waits: number[] = [];
 * const observer: WorkQueueObserver<string> = { taken: (_key, e) => waits.push(e.waitMs) };
 * const queue = new WorkQueue<string>({ observer });
 * ```
 */
export interface WorkQueueObserver<K> {
  /** `key` became queued (a duplicate add is not counted). */
  added?(key: K, event: { depth: number }): void;
  /** A worker took `key` after it waited `waitMs` in the queue. */
  taken?(key: K, event: { waitMs: number; depth: number }): void;
  /** A worker finished `key` after `workMs`. */
  done?(key: K, event: { workMs: number }): void;
  /** `key` was scheduled again after its backoff of `delayMs`. */
  retried?(key: K, event: { delayMs: number; requeues: number }): void;
  /** {@linkcode WorkQueue.clear} dropped `dropped` keys; the queue is empty. */
  cleared?(event: { dropped: number; depth: 0 }): void;
}

/**
 * Settings of a {@linkcode WorkQueue}; every field has client-go's default.
 *
 * @example Slower retries for an expensive backend
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkQueue, type WorkQueueOptions } from "./work_queue.ts";
 * const options: WorkQueueOptions<string> = {
 *   baseDelayMs: 1_000, // first retry after 1 s, doubling per failure
 *   maxDelayMs: 300_000, // never more than 5 min
 *   qps: 5,
 *   burst: 20,
 * };
 * const queue = new WorkQueue<string>(options);
 * assert.equal(queue.addRateLimited("default/web"), 1000);
 * queue.shutDown();
 * ```
 */
export interface WorkQueueOptions<K = unknown> {
  /** Time source (default the system clock). */
  clock?: Clock;
  /** First per-key retry delay in ms (default 5). */
  baseDelayMs?: number;
  /** Largest per-key retry delay in ms (default 1,000,000 = 1000 s). */
  maxDelayMs?: number;
  /** Overall retry rate in keys per second (default 10). */
  qps?: number;
  /** Overall retry burst (default 100). */
  burst?: number;
  /** Metrics hooks (default none). */
  observer?: WorkQueueObserver<K>;
}

/**
 * Options of {@linkcode WorkQueue.add}.
 *
 * @example A takeover: what changed first, every other key behind it
 * ```ts
 * import assert from "node:assert/strict";
 * import { type WorkQueueAddOptions, WorkQueue } from "./work_queue.ts";
 * const queue = new WorkQueue<string>();
 * const rest: WorkQueueAddOptions = { low: true };
 * for (const key of ["default/a", "default/b", "default/c"]) queue.add(key, rest);
 * queue.add("default/c"); // changed meanwhile: moves ahead of a and b
 * assert.equal(await queue.get(), "default/c");
 * queue.shutDown();
 * ```
 */
export interface WorkQueueAddOptions {
  /**
   * Queue the key behind every key queued without `low` (default
   * `false`): bulk work, such as a takeover's re-queue of every cached key,
   * that a change should not wait behind. A key queued `low` that is added
   * again without it moves up, behind the other keys queued without it; a
   * key queued without it stays where it is.
   */
  low?: boolean;
}

/**
 * Thrown when `done` is called for a key that is not processing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkQueue, WorkQueueError } from "./work_queue.ts";
 * const queue = new WorkQueue<string>();
 * queue.add("default/web");
 * const key = (await queue.get())!;
 * queue.done(key);
 * try {
 *   queue.done(key); // a second done: the key is no longer processing
 * } catch (error) {
 *   assert.ok(error instanceof WorkQueueError);
 * }
 * queue.shutDown();
 * ```
 */
export class WorkQueueError extends Error {
  /** The error class name. */
  override name = "WorkQueueError";
}

/**
 * A de-duplicating, rate-limited work queue of keys.
 *
 * Invariants: a key is queued at most once; a key being processed (between
 * `get` and `done`) is not handed out again, and if it was added meanwhile it
 * is queued again on `done`. Keys come out in the order queued, those added
 * with `{ low: true }` (and not since without it) after all others.
 *
 * @example
 * ```ts
 * import { WorkQueue } from "./work_queue.ts";
 * const queue = new WorkQueue<string>();
 * queue.add("default/a");
 * queue.add("default/a");
 * const key = await queue.get();
 * // ... reconcile key ...
 * queue.done(key!);
 * queue.shutDown();
 * ```
 */
export class WorkQueue<K> {
  readonly #clock: Clock;
  readonly #backoff: ItemBackoff<K>;
  readonly #bucket: TokenBucket;
  readonly #queue: K[] = [];
  #head = 0;
  /**
   * The low lane: keys, some stale (moved up since), each valid where
   * `#low` says, at `#lowBase + index`.
   */
  #lowQueue: K[] = [];
  #lowHead = 0;
  #lowBase = 0;
  /** Keys queued in the low lane → their place there. */
  readonly #low = new Map<K, number>();
  /** Keys processing, added again with `low` only. */
  readonly #lowAgain = new Set<K>();
  readonly #dirty = new Set<K>();
  readonly #processing = new Map<K, number>();
  readonly #queuedAt = new Map<K, number>();
  readonly #observer: WorkQueueObserver<K> | undefined;
  readonly #waiting = new Map<K, { at: number; timer: TimerHandle }>();
  readonly #getters: Array<(key: K | undefined) => void> = [];
  #shuttingDown = false;

  /** Creates a queue; see {@linkcode WorkQueueOptions} for the defaults. */
  constructor(options: WorkQueueOptions<K> = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#observer = options.observer;
    this.#backoff = new ItemBackoff<K>({
      baseMs: options.baseDelayMs ?? 5,
      maxMs: options.maxDelayMs ?? 1_000_000,
    });
    this.#bucket = new TokenBucket(
      { qps: options.qps ?? 10, burst: options.burst ?? 100 },
      this.#clock.now(),
    );
  }

  /** Keys queued and ready (not counting those processing or scheduled). */
  get length(): number {
    return this.#queue.length - this.#head + this.#low.size;
  }

  /** Keys currently handed out to workers. */
  get processing(): number {
    return this.#processing.size;
  }

  /** Keys scheduled for later by `addAfter` or `addRateLimited`. */
  get scheduled(): number {
    return this.#waiting.size;
  }

  /** Whether `shutDown` was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Queues `key` now unless it is already queued (then it keeps its place,
   * unless queued `low` and added without: then it moves up; see
   * {@linkcode WorkQueueAddOptions}).
   */
  add(key: K, options: WorkQueueAddOptions = {}): void {
    if (this.#shuttingDown) return;
    const low = options.low === true;
    if (this.#dirty.has(key)) {
      if (low) return;
      this.#lowAgain.delete(key);
      if (this.#low.delete(key)) {
        // Its entry in the low lane is stale from now on.
        this.#queue.push(key);
        if (this.#low.size === 0) this.#resetLow();
      }
      return;
    }
    this.#dirty.add(key);
    if (this.#processing.has(key)) {
      if (low) this.#lowAgain.add(key);
      return;
    }
    this.#queuedAt.set(key, this.#clock.now());
    this.#observer?.added?.(key, { depth: this.length + 1 });
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#take(key);
      getter(key);
    } else if (low) {
      this.#low.set(key, this.#lowBase + this.#lowQueue.length);
      this.#lowQueue.push(key);
    } else {
      this.#queue.push(key);
    }
  }

  #resetLow(): void {
    this.#lowQueue = [];
    this.#lowHead = 0;
    this.#lowBase = 0;
  }

  /** The next queued key, taken out of its lane; `undefined` if none. */
  #next(): K | undefined {
    if (this.#head < this.#queue.length) {
      const key = this.#queue[this.#head] as K;
      this.#queue[this.#head] = undefined as K;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      return key;
    }
    while (this.#lowHead < this.#lowQueue.length) {
      const key = this.#lowQueue[this.#lowHead] as K;
      const place = this.#lowBase + this.#lowHead;
      this.#lowQueue[this.#lowHead] = undefined as K;
      this.#lowHead++;
      if (this.#low.get(key) !== place) continue;
      this.#low.delete(key);
      if (this.#low.size === 0) {
        this.#resetLow();
      } else if (
        this.#lowHead > 1024 && this.#lowHead * 2 > this.#lowQueue.length
      ) {
        this.#lowQueue.splice(0, this.#lowHead);
        this.#lowBase += this.#lowHead;
        this.#lowHead = 0;
      }
      return key;
    }
    return undefined;
  }

  #take(key: K): void {
    const now = this.#clock.now();
    this.#processing.set(key, now);
    const at = this.#queuedAt.get(key) ?? now;
    this.#queuedAt.delete(key);
    this.#observer?.taken?.(key, { waitMs: now - at, depth: this.length });
  }

  /**
   * Queues `key` after `delayMs`. When the key is already scheduled, the
   * earlier of the two times wins.
   */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + delayMs;
    const existing = this.#waiting.get(key);
    if (existing) {
      if (existing.at <= at) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.#waiting.set(key, { at, timer });
  }

  /**
   * Queues `key` now unless it is already queued or processing; a key
   * waiting for a scheduled time (`addAfter`, `addRateLimited`) has that
   * schedule cancelled and is queued now. What a resync wants: every key
   * runs soon, none twice.
   */
  expedite(key: K): void {
    if (
      this.#shuttingDown || this.#dirty.has(key) || this.#processing.has(key)
    ) return;
    const waiting = this.#waiting.get(key);
    if (waiting) {
      this.#clock.clearTimeout(waiting.timer);
      this.#waiting.delete(key);
    }
    this.add(key);
  }

  /**
   * Queues `key` after its exponential backoff (and, at least, after a
   * token from the overall bucket, and `minDelayMs`, e.g. the server's
   * `Retry-After`). Returns the delay chosen.
   */
  addRateLimited(key: K, options: { minDelayMs?: number } = {}): number {
    const delay = Math.max(
      this.#backoff.next(key),
      this.#bucket.reserve(this.#clock.now()),
      options.minDelayMs ?? 0,
    );
    this.addAfter(key, delay);
    this.#observer?.retried?.(key, {
      delayMs: delay,
      requeues: this.#backoff.failures(key),
    });
    return delay;
  }

  /** Resets `key`'s backoff (call it after a success). */
  forget(key: K): void {
    this.#backoff.forget(key);
  }

  /** How many times `key` was retried since it was last forgotten. */
  numRequeues(key: K): number {
    return this.#backoff.failures(key);
  }

  /**
   * Waits for the next key and marks it processing. Resolves `undefined`
   * once the queue is shut down and drained, or when `signal` aborts.
   */
  get(signal?: AbortSignal): Promise<K | undefined> {
    if (this.length > 0) {
      const key = this.#next() as K;
      this.#dirty.delete(key);
      this.#take(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown || signal?.aborted) {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const getter = (key: K | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(key);
      };
      const onAbort = () => {
        const index = this.#getters.indexOf(getter);
        if (index >= 0) this.#getters.splice(index, 1);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#getters.push(getter);
    });
  }

  /** Marks `key` finished; if it was added while processing, queues it. */
  done(key: K): void {
    const started = this.#processing.get(key);
    if (started === undefined) {
      throw new WorkQueueError(
        `Expected a key handed out by get(), found ${
          String(key)
        } which is not processing`,
      );
    }
    this.#processing.delete(key);
    this.#observer?.done?.(key, { workMs: this.#clock.now() - started });
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key, { low: this.#lowAgain.delete(key) });
    }
  }

  /**
   * Drops every key that is queued or scheduled, and forgets that a key
   * processing now was added again meanwhile; keys processing stay handed
   * out until `done`. Per-key backoff is kept. Returns how many keys were
   * dropped. What a controller does when it stops leading: the next leader
   * term queues every cached key anyway, and a follower must not hold keys
   * of objects that come and go while it follows.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { WorkQueue } from "./work_queue.ts";
   * const queue = new WorkQueue<string>();
   * queue.add("default/a");
   * queue.addAfter("default/b", 60_000);
   * assert.equal(queue.clear(), 2);
   * assert.equal(queue.length + queue.scheduled, 0);
   * queue.shutDown();
   * ```
   */
  clear(): number {
    const dropped = new Set<K>(this.#queue.slice(this.#head));
    for (const [key, { timer }] of this.#waiting) {
      this.#clock.clearTimeout(timer);
      dropped.add(key);
    }
    this.#waiting.clear();
    for (const key of this.#low.keys()) dropped.add(key);
    this.#queue.length = 0;
    this.#head = 0;
    this.#low.clear();
    this.#lowAgain.clear();
    this.#resetLow();
    this.#dirty.clear();
    this.#queuedAt.clear();
    this.#observer?.cleared?.({ dropped: dropped.size, depth: 0 });
    return dropped.size;
  }

  /** Stops handing out keys; pending `get` calls resolve `undefined`. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) {
      this.#clock.clearTimeout(timer);
    }
    this.#waiting.clear();
    for (const getter of this.#getters.splice(0)) getter(undefined);
  }
}
