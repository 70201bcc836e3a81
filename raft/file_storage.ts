/**
 * Durable storage for a Raft node: a write-ahead log with a checksum per
 * record, plus a snapshot file.
 *
 * Files in the data directory:
 *
 * - `wal.log`: records, each `magic u32 | length u32 | crc32 u32 | payload`,
 *   where the payload is a kind byte and its body: a base (the snapshot the
 *   log follows), a run of entries (which first drops any stored entry at or
 *   after its first index), or a hard state.
 * - `snapshot.bin`: one record holding the latest snapshot, replaced
 *   atomically (written to a temporary file, synced, renamed, directory
 *   synced).
 *
 * `save()` resolves only after every byte is written (a short write, which
 * Node reports without an error on a full disk or at a file-size limit, is
 * continued or fails) and synced (`datasync`), so a node that awaits it
 * before sending never acknowledges a vote or an append it could forget. A
 * failed write rejects with {@linkcode StorageWriteError} and the storage
 * refuses every later write. At start, a damaged record at the very end of the log is a
 * write torn by a crash and is cut off; a damaged record followed by a valid
 * one is corruption, and {@linkcode FileStorage.open} refuses with a
 * {@linkcode StorageCorruptionError}.
 *
 * @module
 */
import { open, readFile, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "./_crc32.ts";
import {
  ensureDir,
  StorageWriteError,
  syncDir,
  syncFile,
  writeAtomically,
  writeFully,
} from "./_files.ts";
import {
  CodecError,
  readEntry,
  Reader,
  readHardState,
  readSnapshot,
  writeEntry,
  writeHardState,
  Writer,
  writeSnapshot,
} from "./_codec.ts";
import type { Storage, StorageWrite } from "./storage.ts";

export { StorageWriteError } from "./_files.ts";
import type { Entry, HardState, PersistedState, Snapshot } from "./types.ts";

const MAGIC = 0x57414c31; // "WAL1"
const HEADER = 12;
const MAX_RECORD = 1 << 30;
const KIND_BASE = 1;
const KIND_ENTRIES = 2;
const KIND_HARD_STATE = 3;
const KIND_SNAPSHOT = 4;

/**
 * Raised when stored files are damaged beyond a torn tail.
 *
 * @example
 * ```ts
 * import { FileStorage, StorageCorruptionError } from "@k8s-operator/k8s-operator/raft";
 * try {
 *   const storage = await FileStorage.open("/var/lib/raft");
 *   await storage.close();
 * } catch (error) {
 *   if (error instanceof StorageCorruptionError) {
 *     // Not a torn tail: do not start; restore the volume or rejoin empty.
 *     console.error(`damaged record in ${error.file} at byte ${error.offset}`);
 *   }
 *   throw error;
 * }
 * ```
 */
export class StorageCorruptionError extends Error {
  /** The damaged file. */
  readonly file: string;
  /** The byte offset of the damaged record. */
  readonly offset: number;
  /** Describes what was expected and what was found. */
  constructor(message: string, where: { file: string; offset: number }) {
    super(`${message} (${where.file} at byte ${where.offset})`);
    this.name = "StorageCorruptionError";
    this.file = where.file;
    this.offset = where.offset;
  }
}

function record(kind: number, body: (w: Writer) => void, out: Writer): void {
  const w = new Writer();
  w.u8(kind);
  body(w);
  const payload = w.finish();
  out.u32(MAGIC);
  out.u32(payload.length);
  out.u32(crc32(payload));
  out.bytesRaw(payload);
}

interface Scanned {
  payload: Uint8Array;
  offset: number;
}

/** Reads the record at `offset`, or `null` when it is damaged or cut short. */
function recordAt(buf: Uint8Array, offset: number): Uint8Array | null {
  if (buf.length - offset < HEADER) return null;
  const v = new DataView(buf.buffer, buf.byteOffset + offset, HEADER);
  if (v.getUint32(0) !== MAGIC) return null;
  const len = v.getUint32(4);
  if (len === 0 || len > MAX_RECORD || len > buf.length - offset - HEADER) {
    return null;
  }
  const payload = buf.subarray(offset + HEADER, offset + HEADER + len);
  return crc32(payload) === v.getUint32(8) ? payload : null;
}

/** Whether any intact record starts after `offset`. */
function intactAfter(buf: Uint8Array, offset: number): boolean {
  for (let o = offset + 1; o + HEADER <= buf.length; o++) {
    if (
      buf[o] === 0x57 && buf[o + 1] === 0x41 && buf[o + 2] === 0x4c &&
      buf[o + 3] === 0x31 && recordAt(buf, o) !== null
    ) return true;
  }
  return false;
}

/**
 * Splits a log file into intact records; returns them and the length of the
 * intact prefix. Throws when a damaged record is followed by an intact one.
 */
function scan(
  buf: Uint8Array,
  file: string,
): { records: Scanned[]; validLength: number } {
  const records: Scanned[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const payload = recordAt(buf, offset);
    if (payload === null) {
      if (intactAfter(buf, offset)) {
        throw new StorageCorruptionError(
          "Expected an intact record before later intact records, found a damaged one",
          { file, offset },
        );
      }
      break;
    }
    records.push({ payload, offset });
    offset += HEADER + payload.length;
  }
  return { records, validLength: offset };
}

async function readIfExists(path: string): Promise<Uint8Array | null> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * Options of {@linkcode FileStorage.open}.
 *
 * @example A benchmark that leaves the disk out
 * ```ts
 * import { FileStorage, type FileStorageOptions } from "@k8s-operator/k8s-operator/raft";
 * // Never in production: a crash may lose votes and acknowledged entries.
 * const options: FileStorageOptions = { fsync: false };
 * const storage = await FileStorage.open("/tmp/raft-bench", options);
 * ```
 */
export interface FileStorageOptions {
  /**
   * Sync every write to disk before `save()` resolves (default `true`).
   * Turning it off loses the durability Raft's safety depends on; it exists
   * for benchmarks that measure everything but the disk.
   */
  fsync?: boolean;
}

/**
 * A {@linkcode Storage} on the local file system (`durable = true`).
 *
 * @example Open, save, reopen
 * ```ts ignore
 * const storage = await FileStorage.open("/var/lib/raft");
 * const state = storage.load(); // what an earlier run saved
 * await storage.save({ hardState: { term: 1, vote: 0, commit: 0 }, entries: [], snapshot: null });
 * await storage.close();
 * ```
 */
export class FileStorage implements Storage {
  /** Always `true`: what is saved survives a restart. */
  readonly durable: boolean = true;
  readonly #dir: string;
  readonly #walPath: string;
  readonly #fsync: boolean;
  #wal: FileHandle;
  #hardState: HardState;
  #snapshot: Snapshot | null;
  #entries: Entry[];
  #queue: Promise<void> = Promise.resolve();
  #failed: Error | null = null;

  private constructor(
    dir: string,
    init: {
      wal: FileHandle;
      fsync: boolean;
      state: PersistedState;
    },
  ) {
    this.#dir = dir;
    this.#walPath = join(dir, "wal.log");
    this.#wal = init.wal;
    this.#fsync = init.fsync;
    this.#hardState = init.state.hardState;
    this.#snapshot = init.state.snapshot;
    this.#entries = init.state.entries;
  }

  /**
   * Opens (creating if needed) the storage in `dir` and recovers what it
   * holds. A torn record at the end of the log is cut off; any other damage
   * rejects with {@linkcode StorageCorruptionError}.
   */
  static async open(
    dir: string,
    options: FileStorageOptions = {},
  ): Promise<FileStorage> {
    await ensureDir(dir);
    await rm(join(dir, "wal.log.tmp"), { force: true });
    await rm(join(dir, "snapshot.bin.tmp"), { force: true });
    const snapshot = await loadSnapshot(join(dir, "snapshot.bin"));
    const walPath = join(dir, "wal.log");
    const buf = await readIfExists(walPath) ?? new Uint8Array(0);
    const { state, validLength } = recover(buf, snapshot, walPath);
    const wal = await open(walPath, "a+");
    if (validLength < buf.length) {
      await wal.truncate(validLength);
      await wal.sync();
    }
    // A new log, or a directory a crash may have left unsynced: its
    // entries must be on disk before anything is acknowledged.
    await syncDir(dir);
    return new FileStorage(dir, {
      wal,
      fsync: options.fsync ?? true,
      state,
    });
  }

  /** What was recovered at open plus every save since. */
  load(): PersistedState {
    return {
      hardState: { ...this.#hardState },
      snapshot: this.#snapshot,
      entries: [...this.#entries],
    };
  }

  /**
   * Appends the write to the log and syncs it before resolving. Rejects with
   * {@linkcode StorageWriteError} when the bytes could not all be written or
   * synced (a full disk, a file-size limit, an I/O error); after any failed
   * write every later one is refused, since the log may end in a record cut
   * short (the next {@linkcode FileStorage.open} cuts it off).
   */
  save(write: StorageWrite): Promise<void> {
    return this.#serial(async () => {
      if (write.snapshot !== null) await this.#installSnapshot(write.snapshot);
      if (write.entries.length === 0 && write.hardState === null) return;
      const out = new Writer();
      if (write.entries.length > 0) {
        this.#checkAppend(write.entries);
        record(KIND_ENTRIES, (w) => {
          w.u32(write.entries.length);
          for (const e of write.entries) writeEntry(w, e);
        }, out);
      }
      if (write.hardState !== null) {
        record(
          KIND_HARD_STATE,
          (w) => writeHardState(w, write.hardState!),
          out,
        );
      }
      await writeFully(this.#wal, { bytes: out.finish(), file: this.#walPath });
      if (this.#fsync) await syncFile(this.#wal, { file: this.#walPath });
      if (write.entries.length > 0) this.#appendEntries(write.entries);
      if (write.hardState !== null) this.#hardState = { ...write.hardState };
    });
  }

  /** Stores `snapshot` and rewrites the log without the entries it covers. */
  compact(snapshot: Snapshot): Promise<void> {
    return this.#serial(async () => {
      const index = snapshot.metadata.index;
      await this.#writeSnapshotFile(snapshot);
      await this.#rewriteWal(this.#entries.filter((e) => e.index > index));
    });
  }

  /** Closes the log file; later calls fail. */
  close(): Promise<void> {
    return this.#serial(() => this.#wal.close());
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(async () => {
      if (this.#failed !== null) {
        throw new StorageWriteError(
          `Expected a working log, found writes refused since an earlier one failed: ${this.#failed.message}`,
          {
            file: (this.#failed as { file?: string }).file ?? this.#walPath,
            cause: this.#failed,
          },
        );
      }
      try {
        await fn();
      } catch (error) {
        // The files may now hold a part of what was asked (or, after a
        // failed sync, less than they seem to): nothing more is written.
        this.#failed = error as Error;
        throw error;
      }
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Throws unless `entries` can follow what is stored. */
  #checkAppend(entries: Entry[]): void {
    const first = entries[0].index;
    const base = this.#snapshot?.metadata.index ?? 0;
    if (first - base - 1 > this.#entries.length) {
      throw new RangeError(
        `Expected entries to start at most at index ${
          base + this.#entries.length + 1
        }, found ${first}`,
      );
    }
  }

  #appendEntries(entries: Entry[]): void {
    const base = this.#snapshot?.metadata.index ?? 0;
    this.#entries.length = Math.max(0, entries[0].index - base - 1);
    this.#entries.push(...entries);
  }

  async #installSnapshot(snapshot: Snapshot): Promise<void> {
    const { index, term } = snapshot.metadata;
    const base = this.#snapshot?.metadata.index ?? 0;
    const at = this.#entries[index - base - 1];
    const entries = at !== undefined && at.term === term
      ? this.#entries.filter((e) => e.index > index)
      : [];
    await this.#writeSnapshotFile(snapshot);
    await this.#rewriteWal(entries);
  }

  async #writeSnapshotFile(snapshot: Snapshot): Promise<void> {
    const out = new Writer();
    record(KIND_SNAPSHOT, (w) => writeSnapshot(w, snapshot), out);
    await writeAtomically(this.#dir, {
      name: "snapshot.bin",
      bytes: out.finish(),
    });
    this.#snapshot = snapshot;
  }

  /** Replaces the log with the snapshot's base, `entries` and the hard state. */
  async #rewriteWal(entries: Entry[]): Promise<void> {
    const out = new Writer();
    const meta = this.#snapshot?.metadata ?? { index: 0, term: 0 };
    record(KIND_BASE, (w) => {
      w.num(meta.index);
      w.num(meta.term);
    }, out);
    if (entries.length > 0) {
      record(KIND_ENTRIES, (w) => {
        w.u32(entries.length);
        for (const e of entries) writeEntry(w, e);
      }, out);
    }
    record(KIND_HARD_STATE, (w) => writeHardState(w, this.#hardState), out);
    await writeAtomically(this.#dir, { name: "wal.log", bytes: out.finish() });
    this.#entries = entries;
    await this.#wal.close();
    this.#wal = await open(this.#walPath, "a+");
  }
}

async function loadSnapshot(path: string): Promise<Snapshot | null> {
  const buf = await readIfExists(path);
  if (buf === null) return null;
  const payload = recordAt(buf, 0);
  if (payload === null || HEADER + payload.length !== buf.length) {
    throw new StorageCorruptionError(
      "Expected one intact snapshot record, found a damaged file",
      { file: path, offset: 0 },
    );
  }
  try {
    const r = new Reader(payload);
    if (r.u8("record kind") !== KIND_SNAPSHOT) {
      throw new CodecError("Expected a snapshot record");
    }
    const snap = readSnapshot(r);
    r.end("the snapshot record");
    return snap;
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    throw new StorageCorruptionError(
      `Expected a well-formed snapshot: ${error.message}`,
      { file: path, offset: 0 },
    );
  }
}

/** Replays the log's records over the snapshot. */
function recover(
  buf: Uint8Array,
  snapshot: Snapshot | null,
  file: string,
): { state: PersistedState; validLength: number } {
  const { records, validLength } = scan(buf, file);
  let hardState: HardState = { term: 0, vote: null, commit: 0 };
  let baseIndex = 0;
  let baseTerm = 0;
  let entries: Entry[] = [];
  for (const { payload, offset } of records) {
    try {
      const r = new Reader(payload);
      const kind = r.u8("record kind");
      if (kind === KIND_BASE) {
        baseIndex = r.num("base index");
        baseTerm = r.num("base term");
        entries = [];
      } else if (kind === KIND_ENTRIES) {
        const n = r.count("entries", 21);
        const run: Entry[] = [];
        for (let i = 0; i < n; i++) run.push(readEntry(r));
        for (let i = 1; i < run.length; i++) {
          if (run[i].index !== run[i - 1].index + 1) {
            throw new CodecError("Expected consecutive entry indexes");
          }
        }
        const first = run[0]?.index ?? baseIndex + entries.length + 1;
        const keep = first - baseIndex - 1;
        if (keep < 0 || keep > entries.length) {
          throw new CodecError(
            `Expected entries to start at most at index ${
              baseIndex + entries.length + 1
            }, found ${first}`,
          );
        }
        entries.length = keep;
        entries.push(...run);
      } else if (kind === KIND_HARD_STATE) {
        hardState = readHardState(r);
      } else {
        throw new CodecError(`Expected a log record kind, found ${kind}`);
      }
      r.end("the record");
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      throw new StorageCorruptionError(
        `Expected a well-formed log record: ${error.message}`,
        { file, offset },
      );
    }
  }
  const snapIndex = snapshot?.metadata.index ?? 0;
  if (baseIndex > snapIndex) {
    throw new StorageCorruptionError(
      `Expected the log to follow the snapshot at index ${snapIndex}, found it starting after index ${baseIndex}`,
      { file, offset: 0 },
    );
  }
  if (snapshot !== null && baseIndex < snapIndex) {
    // The log predates the snapshot (a crash before the log was rewritten):
    // keep its entries past the snapshot only if they extend it.
    const at = entries[snapIndex - baseIndex - 1];
    entries = at !== undefined && at.term === snapshot.metadata.term
      ? entries.slice(snapIndex - baseIndex)
      : [];
  } else if (snapshot !== null && baseTerm !== snapshot.metadata.term) {
    throw new StorageCorruptionError(
      `Expected the log's base term ${baseTerm} to match the snapshot's term ${snapshot.metadata.term}`,
      { file, offset: 0 },
    );
  }
  return { state: { hardState, snapshot, entries }, validLength };
}
