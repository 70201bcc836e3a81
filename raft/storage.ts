/**
 * The storage contract of a Raft node.
 *
 * The core keeps the log in memory and never does I/O; a {@linkcode Storage}
 * is what a runtime node writes the core's {@linkcode Ready} into before it
 * sends messages, and what it loads from when it starts again.
 *
 * @module
 */
import type { Entry, HardState, PersistedState, Snapshot } from "./types.ts";

/**
 * One durable write: the persistable part of a `Ready`.
 *
 * @example A new leader's first write
 * ```ts
 * import { MemoryStorage, type StorageWrite } from "@k8s-operator/k8s-operator/raft";
 * // Node 1 voted for itself in term 2 and appends the no-op of its term.
 * const write: StorageWrite = {
 *   hardState: { term: 2, vote: 1, commit: 0 },
 *   entries: [{ term: 2, index: 1, type: "empty", data: new Uint8Array() }],
 *   snapshot: null,
 * };
 * new MemoryStorage().save(write);
 * ```
 */
export interface StorageWrite {
  /**
   * The storage's incarnation, on the first write of a new storage (see
   * {@linkcode PersistedState.incarnation}); `load()` returns it from then on.
   */
  incarnation?: number;
  /** The hard state to store, when it changed. */
  hardState: HardState | null;
  /**
   * Entries to store. Any stored entry at or after `entries[0].index` is
   * dropped first (a conflicting suffix being overwritten).
   */
  entries: Entry[];
  /** A snapshot that replaces the whole log up to its index. */
  snapshot: Snapshot | null;
}

/**
 * Where a node keeps its term, vote, log and snapshot.
 *
 * Methods may return a promise; a runtime awaits it before it sends any
 * message that depends on the write (a vote, an append acknowledgement).
 *
 * @example A runtime loop writes a ready, then sends
 * ```ts
 * import type { HttpTransport, RaftCore, Storage } from "@k8s-operator/k8s-operator/raft";
 * async function persistThenSend(core: RaftCore, storage: Storage, transport: HttpTransport) {
 *   const ready = core.ready();
 *   await storage.save(ready);
 *   transport.send(ready.messages);
 *   core.advance();
 * }
 * ```
 */
export interface Storage {
  /**
   * `true` when what is saved survives a process restart. A storage that is
   * not durable starts empty, with no incarnation, on every start: the node
   * is then a new member, re-added by the leader before it counts toward
   * any quorum (see `raft/README.md`, "Lost state: incarnations").
   */
  readonly durable: boolean;
  /** Everything saved so far (an empty state for a new node). */
  load(): PersistedState | Promise<PersistedState>;
  /** Stores a write durably (snapshot, then entries, then hard state). */
  save(write: StorageWrite): void | Promise<void>;
  /**
   * Stores `snapshot` and drops the entries it covers (log compaction).
   * Entries after `snapshot.metadata.index` are kept.
   */
  compact(snapshot: Snapshot): void | Promise<void>;
  /** Releases files and handles. */
  close(): void | Promise<void>;
}
