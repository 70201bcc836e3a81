/**
 * Internal: the keys of cached primaries that changed while a controller
 * could not reconcile them (it did not lead; sharded: it did not hold their
 * shard), each with its shard and the times of its changes, so that a
 * takeover queues first the keys that changed recently enough that the
 * previous leader or owner may not have reconciled them (the work most
 * likely pending after a failover), then the others with the unchanged.
 * A key noted long ago says little: the previous owner's own status write
 * of every object it reconciles is a change too, so after a while every key
 * is noted. Only keys of cached objects are kept (after the first list), a
 * deleted object's key leaves, and a key queued meanwhile leaves too, so it
 * never holds more keys than the cache holds objects.
 *
 * @module
 */
import type { KubeObject } from "../client/objects.ts";
import type { WorkQueue } from "./work_queue.ts";

/**
 * The default of `changedWithinMs`: a takeover that may come up to 5 s
 * after the previous leader or owner stopped (the Operator's default
 * timing takes at most 1.7 s), plus 5 s for changes it had seen but not
 * reached. The Operator sets it from its own timing.
 */
export const DEFAULT_CHANGED_WITHIN_MS = 10_000;

/** A noted key's shard and the time of its latest change. */
interface Note {
  shard: number;
  at: number;
}

/**
 * Keys noted while not reconciling them, in the order their run of changes
 * began: the order of their first change that a takeover can count as
 * recent.
 */
export class ChangedKeys {
  /**
   * Key → its note, in the order its run of changes began (a run: changes
   * each at most `withinMs` after the one before), oldest first.
   */
  readonly #keys = new Map<string, Note>();
  readonly #cached: (key: string) => KubeObject | undefined;
  readonly #shardOf: (object: KubeObject) => number;
  readonly #now: () => number;
  readonly #withinMs: number;

  /**
   * `cached`: the cached object of a key (`undefined` before the first
   * list); `shardOf`: its shard (0 when not sharded); `now`: the clock;
   * `withinMs`: how old a key's latest change may be at
   * {@linkcode ChangedKeys.take} for the key to be taken (default
   * {@linkcode DEFAULT_CHANGED_WITHIN_MS}; a `RangeError` unless positive).
   */
  constructor(options: {
    cached: (key: string) => KubeObject | undefined;
    shardOf: (object: KubeObject) => number;
    now: () => number;
    withinMs?: number;
  }) {
    const withinMs = options.withinMs ?? DEFAULT_CHANGED_WITHIN_MS;
    if (!(withinMs > 0)) {
      throw new RangeError(
        `Expected changedWithinMs to be a positive number of milliseconds, found ${withinMs}`,
      );
    }
    this.#cached = options.cached;
    this.#shardOf = options.shardOf;
    this.#now = options.now;
    this.#withinMs = withinMs;
  }

  /**
   * Notes a change of `key` now (its shard is its latest change's); a
   * deletion forgets it. A change more than `withinMs` after the key's
   * previous one starts a new run: the earlier changes can never be
   * recent at a takeover again, so the key's place is this change's.
   */
  seen(key: string, change: "apply" | "delete" = "apply"): void {
    const object = change === "delete" ? undefined : this.#cached(key);
    if (object === undefined) {
      this.#keys.delete(key);
      return;
    }
    const now = this.#now();
    const shard = this.#shardOf(object);
    const note = this.#keys.get(key);
    if (note !== undefined && now - note.at <= this.#withinMs) {
      note.shard = shard;
      note.at = now;
      return;
    }
    this.#keys.delete(key);
    this.#keys.set(key, { shard, at: now });
  }

  /** Forgets `key` (it was queued). */
  forget(key: string): void {
    this.#keys.delete(key);
  }

  /**
   * The keys noted in the shards `wanted` admits (default all) whose latest
   * change is at most `withinMs` old, in the order of their first change
   * within that window (a run that began before it counts from the
   * window's start, in the order the runs began); forgets every key of
   * those shards (the older ones go with the unchanged).
   */
  take(wanted: (shard: number) => boolean = () => true): string[] {
    const start = this.#now() - this.#withinMs;
    const keys: string[] = [];
    for (const [key, { shard, at }] of this.#keys) {
      if (!wanted(shard)) continue;
      if (at >= start) keys.push(key);
      this.#keys.delete(key);
    }
    return keys;
  }
}

/**
 * A takeover's queueing: the `changed` keys first, in order, then the
 * `rest` (but those) behind every key queued without `low`, so that a
 * change that comes in meanwhile goes ahead of them too. A changed key may
 * already be with a worker: queued again with the rest, it would run twice.
 */
export function queueTakeover(
  queue: WorkQueue<string>,
  keys: { changed: string[]; rest: Iterable<string> },
): void {
  for (const key of keys.changed) queue.add(key);
  const changed = new Set(keys.changed);
  for (const key of keys.rest) {
    if (!changed.has(key)) queue.add(key, { low: true });
  }
}
