/**
 * A {@linkcode Storage} kept in memory, for tests and for nodes that accept
 * losing their state on restart.
 *
 * @module
 */
import { copyConf } from "./_conf.ts";
import { RaftError } from "./errors.ts";
import type { Storage, StorageWrite } from "./storage.ts";
import type { Entry, HardState, PersistedState, Snapshot } from "./types.ts";

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: e.data.slice() };
}

function copySnapshot(s: Snapshot): Snapshot {
  return {
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      conf: copyConf(s.metadata.conf),
    },
    data: s.data.slice(),
  };
}

/**
 * Keeps incarnation, term, vote, log and snapshot in memory
 * (`durable = false`). What it returns from {@linkcode MemoryStorage.load}
 * are copies, so a test can "restart" a core from it while the old core keeps
 * running (a restart with durable storage). A process that starts on a new
 * `MemoryStorage` has a new incarnation: a member that forgot everything,
 * which the cluster re-adds as a new server before it counts again.
 *
 * Snapshot rule (the same for every storage): a saved or compacted snapshot
 * at or below the stored snapshot's index is ignored; otherwise, when the
 * stored log holds the snapshot's last entry with the same term, entries
 * after it are kept (log compaction), else the whole log is replaced (a
 * snapshot received from the leader).
 *
 * @example Persist a ready, then load it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStorage } from "@k8s-operator/k8s-operator/raft";
 * const storage = new MemoryStorage();
 * storage.save({
 *   hardState: { term: 1, vote: 1, commit: 1 },
 *   entries: [{ term: 1, index: 1, type: "empty", data: new Uint8Array() }],
 *   snapshot: null,
 * });
 * assert.equal(storage.load().entries.length, 1);
 * ```
 */
export class MemoryStorage implements Storage {
  /** Always `false`: nothing survives the process. */
  readonly durable: boolean = false;

  #incarnation: number | undefined;
  #hardState: HardState = { term: 0, vote: null, commit: 0 };
  #snapshot: Snapshot | null = null;
  #entries: Entry[] = [];
  #closed = false;

  /** Creates an empty storage, or one holding `initial` (copied). */
  constructor(initial?: PersistedState) {
    if (initial !== undefined) {
      this.#incarnation = initial.incarnation;
      this.#hardState = { ...initial.hardState };
      this.#snapshot = initial.snapshot && copySnapshot(initial.snapshot);
      this.#entries = initial.entries.map(copyEntry);
    }
  }

  /** A copy of everything saved so far. */
  load(): PersistedState {
    this.#checkOpen();
    return {
      ...(this.#incarnation === undefined
        ? {}
        : { incarnation: this.#incarnation }),
      hardState: { ...this.#hardState },
      snapshot: this.#snapshot && copySnapshot(this.#snapshot),
      entries: this.#entries.map(copyEntry),
    };
  }

  /**
   * Stores a write: snapshot, then entries (dropping stored entries at or
   * after the first one), then hard state.
   *
   * @throws {RaftError} when the entries would leave a gap in the log, or
   * the storage is closed. Nothing is changed then.
   */
  save(write: StorageWrite): void {
    this.#checkOpen();
    const first = write.entries[0]?.index;
    const base = Math.max(
      this.#snapshot?.metadata.index ?? 0,
      write.snapshot?.metadata.index ?? 0,
    );
    if (first !== undefined) {
      const last =
        write.snapshot !== null && !this.#keepsEntries(write.snapshot)
          ? base
          : this.#lastIndex();
      if (first > last + 1 || first <= base) {
        throw new RaftError(
          `Expected entries to start between index ${base + 1} and ${
            last + 1
          }, found ${first}`,
        );
      }
    }
    if (write.incarnation !== undefined) this.#incarnation = write.incarnation;
    if (write.snapshot !== null) this.#applySnapshot(write.snapshot);
    if (first !== undefined) {
      const offset = this.#firstIndex();
      this.#entries.length = first - offset;
      for (const e of write.entries) this.#entries.push(copyEntry(e));
    }
    if (write.hardState !== null) this.#hardState = { ...write.hardState };
  }

  /**
   * Stores `snapshot` and drops the entries it covers; entries after it are
   * kept when they follow it (see the snapshot rule above).
   */
  compact(snapshot: Snapshot): void {
    this.#checkOpen();
    this.#applySnapshot(snapshot);
  }

  /** Marks the storage closed; later calls throw. */
  close(): void {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new RaftError("Expected an open storage, found it closed");
    }
  }

  #firstIndex(): number {
    return (this.#snapshot?.metadata.index ?? 0) + 1;
  }

  #lastIndex(): number {
    return this.#firstIndex() - 1 + this.#entries.length;
  }

  #termAt(index: number): number | undefined {
    const snapIndex = this.#snapshot?.metadata.index ?? 0;
    if (index === snapIndex) return this.#snapshot?.metadata.term ?? 0;
    return this.#entries[index - snapIndex - 1]?.term;
  }

  #keepsEntries(snapshot: Snapshot): boolean {
    return this.#termAt(snapshot.metadata.index) === snapshot.metadata.term;
  }

  #applySnapshot(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    if (index <= (this.#snapshot?.metadata.index ?? 0)) return;
    if (this.#keepsEntries(snapshot)) {
      this.#entries = this.#entries.slice(index - this.#firstIndex() + 1);
    } else {
      this.#entries = [];
    }
    this.#snapshot = copySnapshot(snapshot);
  }
}
