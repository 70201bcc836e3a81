/**
 * Internal: the keys of cached primaries that changed while a controller did
 * not lead, in the order they first changed, so that its next term queues
 * them before the other cached keys (the work most likely pending after a
 * failover). Only keys the `keep` test admits (the controller's: in its
 * cache, after the first list) are kept, and a deleted object's key leaves,
 * so it never holds more keys than the cache holds objects.
 *
 * @module
 */

/** Keys noted while following, in the order of their first change. */
export class ChangedKeys {
  readonly #keys = new Set<string>();
  readonly #keep: (key: string) => boolean;

  constructor(keep: (key: string) => boolean) {
    this.#keep = keep;
  }

  /**
   * Notes a change of `key` (its first change sets its place); a deletion
   * forgets it.
   */
  seen(key: string, change: "apply" | "delete" = "apply"): void {
    if (change === "delete") this.#keys.delete(key);
    else if (this.#keep(key)) this.#keys.add(key);
  }

  /** The keys noted, in order; forgets them all. */
  take(): string[] {
    const keys = [...this.#keys];
    this.#keys.clear();
    return keys;
  }
}
