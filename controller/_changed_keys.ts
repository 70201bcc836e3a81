/**
 * Internal: the keys of cached primaries that changed while a controller
 * could not reconcile them (it did not lead; sharded: it did not hold their
 * shard), in the order they first changed, each with its shard, so that a
 * takeover queues them before the other cached keys (the work most likely
 * pending after a failover). Only keys of cached objects are kept (after
 * the first list), a deleted object's key leaves, and a key queued
 * meanwhile leaves too, so it never holds more keys than the cache holds
 * objects.
 *
 * @module
 */
import type { KubeObject } from "../client/objects.ts";
import type { WorkQueue } from "./work_queue.ts";

/** Keys noted while not reconciling them, in the order of their first change. */
export class ChangedKeys {
  /** Key → the shard of its latest change (insertion order: first change). */
  readonly #keys = new Map<string, number>();
  readonly #cached: (key: string) => KubeObject | undefined;
  readonly #shardOf: (object: KubeObject) => number;

  /**
   * `cached`: the cached object of a key (`undefined` before the first
   * list); `shardOf`: its shard (0 when not sharded).
   */
  constructor(options: {
    cached: (key: string) => KubeObject | undefined;
    shardOf: (object: KubeObject) => number;
  }) {
    this.#cached = options.cached;
    this.#shardOf = options.shardOf;
  }

  /**
   * Notes a change of `key` (its first change sets its place, its latest
   * its shard); a deletion forgets it.
   */
  seen(key: string, change: "apply" | "delete" = "apply"): void {
    const object = change === "delete" ? undefined : this.#cached(key);
    if (object === undefined) this.#keys.delete(key);
    else this.#keys.set(key, this.#shardOf(object));
  }

  /** Forgets `key` (it was queued). */
  forget(key: string): void {
    this.#keys.delete(key);
  }

  /**
   * The keys noted in the shards `wanted` admits (default all), in order;
   * forgets them.
   */
  take(wanted: (shard: number) => boolean = () => true): string[] {
    const keys: string[] = [];
    for (const [key, shard] of this.#keys) {
      if (!wanted(shard)) continue;
      keys.push(key);
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
