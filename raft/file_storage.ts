/**
 * Durable storage for a Raft node: a write-ahead log with a checksum per
 * save, plus a snapshot file (formats in `_wal_format.ts`: log version 3,
 * snapshot version 2).
 *
 * Files in the data directory:
 *
 * - `wal.log`: a header with the format version and a random salt, then one
 *   unit per save: `magic | length | check | payload`, where the payload is
 *   records (a base: the snapshot the log follows; a run of entries, which
 *   first drops any stored entry at or after its first index; a hard state)
 *   and `check` is a CRC-32 over the salt and the unit; then zero bytes,
 *   written ahead (`preallocate`) so that a save overwrites space already in
 *   the file: its write need not also commit a new file size, which on ext4
 *   and XFS costs a journal commit per write. Zeros where a unit would start
 *   end the log.
 * - `snapshot.bin`: a header with the format version and the latest
 *   snapshot, replaced atomically (written to a temporary file, synced,
 *   renamed, directory synced).
 *
 * `save()` resolves only after every byte is written (a short write, which
 * Node reports without an error on a full disk or at a file-size limit, is
 * continued or fails) and synced (`datasync`), so a node that awaits it
 * before sending never acknowledges a vote or an append it could forget.
 * A hard state that moves only the commit index waits for the next unit:
 * the commit index is not needed for safety, and a sync per commit would
 * double the syncs on the write path. A failed write rejects with {@linkcode StorageWriteError} and the storage
 * refuses every later write.
 *
 * At start, a damaged unit with no intact unit after it is a save torn by a
 * crash and is cut off, whatever its bytes hold (entry data a client wrote
 * cannot pass for a unit: it does not know the salt). A damaged unit
 * followed by an intact one is damage in the middle, and
 * {@linkcode FileStorage.open} refuses with a
 * {@linkcode StorageCorruptionError} naming the file and byte offset. Files
 * of k8s-operator 0.1.0 (unversioned, version 1) and logs of version 2 are
 * read and rewritten in the current versions at open; a newer version is
 * refused with a {@linkcode StorageVersionError}.
 *
 * @module
 */
import { constants } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { readIncarnation, writeIncarnation } from "./_incarnation_file.ts";

export { IncarnationFileError } from "./_incarnation_file.ts";
import {
  ensureDir,
  StorageWriteError,
  syncDir,
  syncFile,
  writeAtomically,
  writeFully,
} from "./_files.ts";
import { CodecError } from "./_codec.ts";
import {
  decodeRecords,
  decodeSnapshotFile,
  encodeLog,
  encodeSnapshotFile,
  encodeUnit,
  type LogRecord,
  newSalt,
  scanLog,
  SNAPSHOT_VERSION,
  StorageCorruptionError,
  WAL_VERSION,
} from "./_wal_format.ts";
import { legacyStateReason } from "./_validate.ts";
import type { Storage, StorageWrite } from "./storage.ts";
import type { Entry, HardState, PersistedState, Snapshot } from "./types.ts";

export { StorageWriteError } from "./_files.ts";
export { StorageCorruptionError, StorageVersionError } from "./_wal_format.ts";

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
 * const openForBenchmark = (dir: string) => FileStorage.open(dir, options);
 * ```
 */
export interface FileStorageOptions {
  /**
   * Sync every write to disk before `save()` resolves (default `true`).
   * Turning it off loses the durability Raft's safety depends on; it exists
   * for benchmarks that measure everything but the disk.
   */
  fsync?: boolean;
  /**
   * How many bytes of zeros to keep written ahead of the log's last save
   * (default 1 MiB; `0` turns it off). Each save then overwrites space that
   * is already part of the file, so its synced write does not also commit a
   * new file size (a journal commit per write on ext4 and XFS). The next
   * stretch is written in the background once less than half is left; if it
   * cannot be (a full disk), saves are written past the end as without it,
   * and a save that does not fit fails as it would have.
   */
  preallocate?: number;
}

/** The default of {@linkcode FileStorageOptions.preallocate}: 1 MiB. */
const PREALLOCATE = 1 << 20;

/**
 * A {@linkcode Storage} on the local file system (`durable = true`).
 *
 * @example Open, save, reopen
 * ```ts
 * import { FileStorage, type PersistedState } from "@k8s-operator/k8s-operator/raft";
 * async function voteAndReopen(dir: string): Promise<PersistedState> {
 *   const storage = await FileStorage.open(dir);
 *   const earlier = storage.load(); // what an earlier run saved
 *   await storage.save({ hardState: { term: earlier.hardState.term + 1, vote: 0, commit: 0 }, entries: [], snapshot: null });
 *   await storage.close();
 *   return (await FileStorage.open(dir)).load(); // the vote is there
 * }
 * ```
 */
export class FileStorage implements Storage {
  /** Always `true`: what is saved survives a restart. */
  readonly durable: boolean = true;
  readonly #dir: string;
  readonly #walPath: string;
  readonly #fsync: boolean;
  readonly #preallocate: number;
  #wal: FileHandle;
  /** Where the next unit goes: the end of the intact units. */
  #end: number;
  /** The file's size: zeros from `#end` up to it. */
  #allocated: number;
  /** The zeros being written ahead, if any. */
  #extending: Promise<void> | null = null;
  #incarnation: number | undefined;
  #salt: Uint8Array;
  #hardState: HardState;
  #snapshot: Snapshot | null;
  #entries: Entry[];
  /** The hard state's commit index moved since the last unit written. */
  #commitUnwritten = false;
  #queue: Promise<void> = Promise.resolve();
  #failed: Error | null = null;

  private constructor(
    dir: string,
    init: {
      wal: FileHandle;
      salt: Uint8Array;
      fsync: boolean;
      preallocate: number;
      state: PersistedState;
      end: number;
      size: number;
    },
  ) {
    this.#dir = dir;
    this.#incarnation = init.state.incarnation;
    this.#walPath = join(dir, "wal.log");
    this.#wal = init.wal;
    this.#salt = init.salt;
    this.#fsync = init.fsync;
    this.#preallocate = init.preallocate;
    this.#end = init.end;
    this.#allocated = init.size;
    this.#hardState = init.state.hardState;
    this.#snapshot = init.state.snapshot;
    this.#entries = init.state.entries;
  }

  /**
   * Opens (creating if needed) the storage in `dir` and recovers what it
   * holds. A torn save at the end of the log is cut off; any other damage
   * rejects with {@linkcode StorageCorruptionError}, a format version newer
   * than this code's with {@linkcode StorageVersionError}, and the files are
   * left as they were. Files of k8s-operator 0.1.0 and logs of version 2
   * are rewritten in the current format.
   */
  static async open(
    dir: string,
    options: FileStorageOptions = {},
  ): Promise<FileStorage> {
    const preallocate = options.preallocate ?? PREALLOCATE;
    if (!Number.isSafeInteger(preallocate) || preallocate < 0) {
      throw new RangeError(
        `Expected preallocate to be a whole number of bytes, 0 or more, found ${preallocate}`,
      );
    }
    await ensureDir(dir);
    await rm(join(dir, "wal.log.tmp"), { force: true });
    await rm(join(dir, "snapshot.bin.tmp"), { force: true });
    await rm(join(dir, "incarnation.tmp"), { force: true });
    const incarnation = await readIncarnation(dir);
    const snapshotPath = join(dir, "snapshot.bin");
    const snapshotBytes = await readIfExists(snapshotPath);
    const snapshotFile = snapshotBytes === null
      ? null
      : decodeSnapshotFile(snapshotBytes, snapshotPath);
    const snapshot = snapshotFile?.snapshot ?? null;
    const walPath = join(dir, "wal.log");
    const buf = await readIfExists(walPath) ?? new Uint8Array(0);
    const log = scanLog(buf, walPath);
    const state = recover(log.payloads, { snapshot, file: walPath });
    const fsync = options.fsync ?? true;
    if (snapshotFile !== null && snapshotFile.version !== SNAPSHOT_VERSION) {
      await writeAtomically(dir, {
        name: "snapshot.bin",
        bytes: encodeSnapshotFile(snapshotFile.snapshot),
      });
    }
    if (log.salt === null || log.version !== WAL_VERSION) {
      // New, or of an older version: rewritten whole in the current format.
      const salt = newSalt();
      const bytes = encodeLog(salt, logRecords(state));
      await writeAtomically(dir, { name: "wal.log", bytes });
      const wal = await open(walPath, walFlags(fsync));
      return new FileStorage(dir, {
        wal,
        salt,
        fsync,
        preallocate,
        state: withIncarnation(state, incarnation),
        end: bytes.length,
        size: bytes.length,
      }).#fillAhead();
    }
    const wal = await open(walPath, walFlags(fsync));
    let size = buf.length;
    if (log.dataEnd > log.validLength) {
      // A torn unit: cut off, so that no byte of it is left behind the
      // units written from here (the zeros written ahead are kept).
      await wal.truncate(log.validLength);
      await wal.sync();
      size = log.validLength;
    }
    // A directory a crash may have left unsynced: its entries must be on
    // disk before anything is acknowledged.
    await syncDir(dir);
    return new FileStorage(dir, {
      wal,
      salt: log.salt,
      fsync,
      preallocate,
      state: withIncarnation(state, incarnation),
      end: log.validLength,
      size,
    }).#fillAhead();
  }

  /**
   * Moves the storage files in `dir` (log, snapshot, incarnation) into a new
   * subdirectory named after `name` (`name`, or `name-2`, `name-3`... when
   * taken), and syncs both directories: `dir` is then empty for a new
   * storage, and the files can still be opened where they went. Meant for
   * state a node refuses to run on (`LegacyStateError`); no storage may be
   * open on `dir`. Setting a member's state aside is as safe as losing its
   * volume: it rejoins as a new member (`raft/README.md`, "Lost state").
   *
   * @example
   * ```ts
   * import { FileStorage } from "@k8s-operator/k8s-operator/raft";
   * async function setOldStateAside(dir: string): Promise<void> {
   *   const aside = await FileStorage.setAside(dir, "k8s-operator-0.1.0");
   *   console.log(`moved to ${aside}`);
   * }
   * ```
   *
   * @returns the path of the subdirectory the files went to.
   */
  static async setAside(dir: string, name: string): Promise<string> {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === "..") {
      throw new TypeError(
        `Expected a plain directory name of letters, digits, ".", "_" and "-", found ${
          JSON.stringify(name)
        }`,
      );
    }
    let to = join(dir, name);
    for (let n = 2;; n++) {
      try {
        await mkdir(to);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw error;
        to = join(dir, `${name}-${n}`);
      }
    }
    for (const file of ["incarnation", "snapshot.bin", "wal.log"]) {
      try {
        await rename(join(dir, file), join(to, file));
      } catch (error) {
        if ((error as { code?: string }).code !== "ENOENT") throw error;
      }
    }
    await syncDir(to);
    await syncDir(dir);
    return to;
  }

  /** What was recovered at open plus every save since. */
  load(): PersistedState {
    return {
      ...(this.#incarnation === undefined
        ? {}
        : { incarnation: this.#incarnation }),
      hardState: { ...this.#hardState },
      snapshot: this.#snapshot,
      entries: [...this.#entries],
    };
  }

  /**
   * Appends the write to the log and syncs it before resolving. A write
   * that changes nothing but the hard state's commit index is not written
   * on its own: the commit index rides in the next unit (or is written at
   * {@linkcode FileStorage.close}), so a crash may bring back an older one.
   * That is safe (etcd's rule too): what is committed is decided by a
   * quorum's logs, which are synced, and a restarted node learns the commit
   * index again from its leader. Rejects with
   * {@linkcode StorageWriteError} when the bytes could not all be written or
   * synced (a full disk, a file-size limit, an I/O error); after any failed
   * write every later one is refused, since the log may end in a record cut
   * short (the next {@linkcode FileStorage.open} cuts it off).
   */
  save(write: StorageWrite): Promise<void> {
    return this.#serial(async () => {
      if (
        write.incarnation !== undefined &&
        write.incarnation !== this.#incarnation
      ) {
        await writeIncarnation(this.#dir, write.incarnation);
        this.#incarnation = write.incarnation;
      }
      if (write.snapshot !== null) await this.#installSnapshot(write.snapshot);
      const hs = write.hardState;
      if (write.entries.length === 0) {
        if (hs === null) return;
        if (
          write.snapshot === null && hs.term === this.#hardState.term &&
          hs.vote === this.#hardState.vote
        ) {
          // Only the commit index moved: it rides in the next unit.
          this.#hardState = { ...hs };
          this.#commitUnwritten = true;
          return;
        }
      }
      const records: LogRecord[] = [];
      if (write.entries.length > 0) {
        this.#checkAppend(write.entries);
        records.push({ kind: "entries", entries: write.entries });
      }
      if (hs !== null || this.#commitUnwritten) {
        records.push({ kind: "hardState", hardState: hs ?? this.#hardState });
      }
      await this.#writeUnit(records);
      if (write.entries.length > 0) this.#appendEntries(write.entries);
      if (hs !== null) this.#hardState = { ...hs };
      this.#commitUnwritten = false;
    });
  }

  async #writeUnit(records: LogRecord[]): Promise<void> {
    const bytes = encodeUnit(this.#salt, records);
    // Never past the zeros while more are being written there.
    if (this.#end + bytes.length > this.#allocated) await this.#extending;
    await writeFully(this.#wal, {
      bytes,
      file: this.#walPath,
      position: this.#end,
    });
    // Opened with O_DSYNC, each write returned once it was on disk.
    if (this.#fsync && DSYNC === 0) {
      await syncFile(this.#wal, { file: this.#walPath });
    }
    this.#end += bytes.length;
    this.#allocated = Math.max(this.#allocated, this.#end);
    this.#fillAhead();
  }

  /**
   * Once less than half of `preallocate` is left after the last unit,
   * writes (and with fsync, syncs) the next `preallocate` bytes of zeros
   * past the end of the file, in the background: saves go on meanwhile in
   * the space before it. A failure is left unreported: the space is only
   * faster to write, and a save that must go past it then grows the file
   * itself, failing if the disk is full.
   */
  #fillAhead(): this {
    if (
      this.#preallocate === 0 || this.#extending !== null ||
      this.#allocated - this.#end >= this.#preallocate / 2
    ) return this;
    const wal = this.#wal;
    const from = this.#allocated;
    const length = this.#preallocate;
    this.#extending = (async () => {
      try {
        await writeFully(wal, {
          bytes: new Uint8Array(length),
          file: this.#walPath,
          position: from,
        });
        if (this.#fsync && DSYNC === 0) {
          await syncFile(wal, { file: this.#walPath });
        }
        if (this.#wal === wal) {
          this.#allocated = Math.max(this.#allocated, from + length);
        }
      } catch {
        // Saves are written past the end instead (see above).
      } finally {
        this.#extending = null;
      }
    })();
    return this;
  }

  /** Stores `snapshot` and rewrites the log without the entries it covers. */
  compact(snapshot: Snapshot): Promise<void> {
    return this.#serial(async () => {
      const index = snapshot.metadata.index;
      await this.#writeSnapshotFile(snapshot);
      await this.#rewriteWal(this.#entries.filter((e) => e.index > index));
    });
  }

  /**
   * Writes a commit index that has not been written yet, then closes the
   * log file; later calls fail.
   */
  close(): Promise<void> {
    return this.#serial(async () => {
      await this.#extending;
      if (this.#commitUnwritten) {
        await this.#writeUnit([{
          kind: "hardState",
          hardState: this.#hardState,
        }]);
        this.#commitUnwritten = false;
      }
      await this.#wal.close();
    });
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
    await writeAtomically(this.#dir, {
      name: "snapshot.bin",
      bytes: encodeSnapshotFile(snapshot),
    });
    this.#snapshot = snapshot;
  }

  /** Replaces the log with the snapshot's base, `entries` and the hard state. */
  async #rewriteWal(entries: Entry[]): Promise<void> {
    const salt = newSalt();
    const bytes = encodeLog(
      salt,
      logRecords({
        snapshot: this.#snapshot,
        entries,
        hardState: this.#hardState,
      }),
    );
    await writeAtomically(this.#dir, { name: "wal.log", bytes });
    this.#entries = entries;
    this.#salt = salt;
    await this.#extending;
    await this.#wal.close();
    this.#wal = await open(this.#walPath, walFlags(this.#fsync));
    this.#end = bytes.length;
    this.#allocated = bytes.length;
    this.#fillAhead();
  }
}

/** `O_DSYNC` where the platform has it (not Windows), else 0. */
const DSYNC: number = constants.O_DSYNC ?? 0;

/**
 * How the log is opened for writing units at their offsets: with fsync on
 * and where the platform has it, `O_DSYNC`, so each write returns once its
 * data is on disk (one system call where a write and an `fdatasync` took
 * two); otherwise the write is followed by `fdatasync`.
 */
function walFlags(fsync: boolean): number {
  return constants.O_RDWR | constants.O_CREAT | (fsync ? DSYNC : 0);
}

/** The records of a whole log holding `state`. */
function logRecords(state: PersistedState): LogRecord[] {
  const meta = state.snapshot?.metadata ?? { index: 0, term: 0 };
  const records: LogRecord[] = [
    { kind: "base", index: meta.index, term: meta.term },
  ];
  if (state.entries.length > 0) {
    records.push({ kind: "entries", entries: state.entries });
  }
  records.push({ kind: "hardState", hardState: state.hardState });
  return records;
}

/** Replays the log's payloads over the snapshot. */
function recover(
  payloads: readonly { payload: Uint8Array; offset: number }[],
  from: { snapshot: Snapshot | null; file: string },
): PersistedState {
  const { snapshot, file } = from;
  let hardState: HardState = { term: 0, vote: null, commit: 0 };
  let baseIndex = 0;
  let baseTerm = 0;
  let entries: Entry[] = [];
  for (const { payload, offset } of payloads) {
    try {
      for (const record of decodeRecords(payload)) {
        if (record.kind === "base") {
          baseIndex = record.index;
          baseTerm = record.term;
          entries = [];
        } else if (record.kind === "hardState") {
          hardState = record.hardState;
        } else {
          const run = record.entries;
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
        }
      }
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
  return { hardState, snapshot, entries };
}

function withIncarnation(
  state: PersistedState,
  incarnation: number | undefined,
): PersistedState {
  return incarnation === undefined ? state : { ...state, incarnation };
}

/** What {@linkcode openSettingLegacyAside} moved out of the way. */
export interface LegacyStateSetAside {
  /** The subdirectory the files went to. */
  aside: string;
  /** What in them was written by k8s-operator 0.1.0. */
  reason: string;
}

/**
 * Library-internal (the Operator's; not exported by `raft/mod.ts`): opens
 * the Raft data directory `dir`. State of k8s-operator 0.1.0, which a node
 * refuses (memberships without incarnations), is set aside first into
 * `k8s-operator-0.1.0/` inside it: the member then joins as a new one, and
 * when every member does so at once (an upgrade restarts them all), they
 * start a new cluster.
 *
 * @example
 * ```ts
 * import { openSettingLegacyAside } from "./file_storage.ts";
 * async function open(dir: string) {
 *   const { storage, setAside } = await openSettingLegacyAside(dir);
 *   if (setAside !== null) console.warn("set aside", setAside.aside, setAside.reason);
 *   return storage;
 * }
 * ```
 */
export async function openSettingLegacyAside(
  dir: string,
): Promise<{ storage: FileStorage; setAside: LegacyStateSetAside | null }> {
  const storage = await FileStorage.open(dir);
  const reason = legacyStateReason(storage.load());
  if (reason === null) return { storage, setAside: null };
  await storage.close();
  const aside = await FileStorage.setAside(dir, "k8s-operator-0.1.0");
  return { storage: await FileStorage.open(dir), setAside: { aside, reason } };
}
