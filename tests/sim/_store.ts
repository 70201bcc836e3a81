/**
 * What a simulated node has on "disk": hard state, snapshot and log, with a
 * chain digest kept beside every entry. It survives a crash; the core and
 * the state machine do not.
 *
 * @module
 */
import type {
  Entry,
  HardState,
  PersistedState,
  Snapshot,
} from "../../raft/types.ts";
import { chainDigest } from "./_digest.ts";

/** Thrown when the core asks for a write that cannot be made. */
export class StoreError extends Error {
  override name = "StoreError";
}

/** A stored entry and the digest of the log up to it. */
export interface StoredEntry {
  /** The entry. */
  entry: Entry;
  /** The chain digest of the log ending with this entry. */
  digest: number;
}

function cloneEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: e.data.slice() };
}

/** The persisted state of one simulated node. */
export class SimStore {
  /** The incarnation the core handed out to save, once it did. */
  incarnation: number | undefined;
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: Snapshot | null = null;
  snapshotDigest = 0;
  #log: StoredEntry[] = [];

  /** The index the snapshot ends at (0 without one). */
  get snapshotIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }

  /** The index of the last entry (or of the snapshot). */
  get lastIndex(): number {
    return this.snapshotIndex + this.#log.length;
  }

  /** The term at `index`, or `undefined` when not stored. */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    if (index === this.snapshotIndex) return this.snapshot?.metadata.term;
    return this.#log[index - this.snapshotIndex - 1]?.entry.term;
  }

  /** The chain digest at `index`, or `undefined` when not stored. */
  digestAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotDigest;
    if (index < this.snapshotIndex) return undefined;
    return this.#log[index - this.snapshotIndex - 1]?.digest;
  }

  /**
   * Stores entries, dropping any stored entry at or after the first one.
   * Returns the new stored entries with their digests.
   */
  append(entries: readonly Entry[]): StoredEntry[] {
    if (entries.length === 0) return [];
    const first = entries[0].index;
    if (first <= this.snapshotIndex || first > this.lastIndex + 1) {
      throw new StoreError(
        `Expected entries to start in (${this.snapshotIndex}, ${
          this.lastIndex + 1
        }], found ${first}`,
      );
    }
    this.#log.length = first - this.snapshotIndex - 1;
    let digest = this.digestAt(first - 1) ?? 0;
    const added: StoredEntry[] = [];
    for (const [k, e] of entries.entries()) {
      if (e.index !== first + k) {
        throw new StoreError(
          `Expected contiguous entries, found index ${e.index} after ${
            first + k - 1
          }`,
        );
      }
      digest = chainDigest(digest, e);
      const stored = { entry: cloneEntry(e), digest };
      this.#log.push(stored);
      added.push(stored);
    }
    return added;
  }

  /**
   * Installs a snapshot. Entries after it are kept only when the stored
   * entry at its index has its term (Raft §7); otherwise the log is replaced.
   */
  applySnapshot(snapshot: Snapshot, digest: number): void {
    const { index, term } = snapshot.metadata;
    if (index < this.snapshotIndex) {
      throw new StoreError(
        `Expected a snapshot at or after index ${this.snapshotIndex}, found ${index}`,
      );
    }
    const keep = this.termAt(index) === term && index <= this.lastIndex
      ? this.#log.slice(Math.max(0, index - this.snapshotIndex))
      : [];
    this.#log = keep;
    this.snapshot = {
      metadata: {
        index,
        term,
        conf: {
          voters: [...snapshot.metadata.conf.voters],
          learners: [...snapshot.metadata.conf.learners],
          incarnations: { ...snapshot.metadata.conf.incarnations },
        },
      },
      data: snapshot.data.slice(),
    };
    this.snapshotDigest = digest;
  }

  /** What a restarted core is built from (copies). */
  load(): PersistedState {
    return {
      ...(this.incarnation === undefined
        ? {}
        : { incarnation: this.incarnation }),
      hardState: { ...this.hardState },
      snapshot: this.snapshot === null ? null : {
        metadata: {
          ...this.snapshot.metadata,
          conf: {
            voters: [...this.snapshot.metadata.conf.voters],
            learners: [...this.snapshot.metadata.conf.learners],
            incarnations: { ...this.snapshot.metadata.conf.incarnations },
          },
        },
        data: this.snapshot.data.slice(),
      },
      entries: this.#log.map((s) => cloneEntry(s.entry)),
    };
  }
}
