/**
 * Internal: the on-disk formats of {@linkcode FileStorage}: `wal.log`
 * version 3 (and the version 2 it replaced), `snapshot.bin` version 2, and
 * the reader of the unversioned files of k8s-operator 0.1.0 (version 1).
 *
 * `wal.log`, version 3:
 *
 * ```
 * header  "RAFT-WAL" | version u32 (3) | salt 8 bytes | crc32 of the 20 bytes before
 * unit*   magic u32 "WAL2" | length u32 | check u32 | payload (length bytes)
 * zeros*  the preallocated space the next units are written into
 * ```
 *
 * One unit per save (and one for a rewritten log), so a torn save is one
 * damaged unit. `check` is the CRC-32 of the salt, the length and the
 * payload. The salt is random per file and never leaves the node, so bytes
 * a client planted in an entry cannot form a unit that checks: a damaged
 * unit followed by one that checks is damage in the middle of the log, and
 * a damaged unit followed by none is a torn tail. Where the rest of the
 * file is zero bytes, the log ends (a unit never starts with a zero byte:
 * its magic is "WAL2"): the file is zero-filled ahead of the last unit, so
 * that a save overwrites space that is already part of the file instead of
 * growing it. A unit torn in that space is a damaged unit followed by
 * zeros: a torn tail. Version 2 is the same without the zero-filled space
 * (its files are read, and rewritten in version 3 at open).
 *
 * A payload is records, each a kind byte and its body: a base (index and
 * term of the snapshot the log follows), a run of entries (which first
 * drops any stored entry at or after its first index), or a hard state.
 *
 * `snapshot.bin`, version 2:
 *
 * ```
 * "RAFTSNAP" | version u32 (2) | length u32 | crc32 of version, length and payload | payload
 * ```
 *
 * where the payload is the snapshot record (kind 4). Version 1 (0.1.0):
 * `wal.log` is records `magic u32 "WAL1" | length u32 | crc32 u32 | payload`
 * with one record per payload, and `snapshot.bin` is one such record.
 *
 * The versions cover the encodings of entries, hard states and snapshots in
 * `_codec.ts` too: changing one needs a new version and a reader of the old.
 *
 * @module
 */
import { crc32 } from "./_crc32.ts";
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
import type { Entry, HardState, Snapshot } from "./types.ts";

/** The version of the log this code writes. */
export const WAL_VERSION = 3;
/** The log version before the zero-filled space (still read). */
const WAL_VERSION_UNFILLED = 2;
/** The version of the snapshot file this code writes. */
export const SNAPSHOT_VERSION = 2;
/** The version of the unversioned files of k8s-operator 0.1.0. */
export const LEGACY_VERSION = 1;

const WAL_MAGIC = new TextEncoder().encode("RAFT-WAL");
const SNAPSHOT_MAGIC = new TextEncoder().encode("RAFTSNAP");
const WAL_HEADER = 24;
const SNAPSHOT_HEADER = 20;
const UNIT_MAGIC = 0x57414c32; // "WAL2"
const LEGACY_MAGIC = 0x57414c31; // "WAL1"
/** Unit and legacy record header: magic, length, checksum. */
const FRAME = 12;
const MAX_PAYLOAD = 1 << 30;
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
 * async function open(dir: string): Promise<FileStorage> {
 *   try {
 *     return await FileStorage.open(dir);
 *   } catch (error) {
 *     if (error instanceof StorageCorruptionError) {
 *       // Not a torn tail: do not start; restore the volume or rejoin empty.
 *       console.error(`damaged record in ${error.file} at byte ${error.offset}`);
 *     }
 *     throw error;
 *   }
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

/**
 * Raised when a storage file has a format version this code does not read
 * (written by a newer k8s-operator). The file is left as it was.
 *
 * @example
 * ```ts
 * import { FileStorage, StorageVersionError } from "@k8s-operator/k8s-operator/raft";
 * async function open(dir: string): Promise<FileStorage> {
 *   try {
 *     return await FileStorage.open(dir);
 *   } catch (error) {
 *     if (error instanceof StorageVersionError) {
 *       console.error(`${error.file}: format ${error.found}, this build reads up to ${error.expected}`);
 *     }
 *     throw error;
 *   }
 * }
 * ```
 */
export class StorageVersionError extends Error {
  /** The file with the unknown version. */
  readonly file: string;
  /** The version found in the file. */
  readonly found: number;
  /** The version this code writes for the file (it also reads the older ones). */
  readonly expected: number;
  /** Names the file and both versions. */
  constructor(where: { file: string; found: number; expected: number }) {
    super(
      `Expected storage format version ${where.expected} or an older one (down to ${LEGACY_VERSION}, the unversioned files of k8s-operator 0.1.0), found version ${where.found} in ${where.file}: it was written by a newer k8s-operator, which this one cannot read back`,
    );
    this.name = "StorageVersionError";
    this.file = where.file;
    this.found = where.found;
    this.expected = where.expected;
  }
}

/** One record of a log payload. */
export type LogRecord =
  | { kind: "base"; index: number; term: number }
  | { kind: "entries"; entries: readonly Entry[] }
  | { kind: "hardState"; hardState: HardState };

function writeRecord(w: Writer, record: LogRecord): void {
  if (record.kind === "base") {
    w.u8(KIND_BASE);
    w.num(record.index);
    w.num(record.term);
  } else if (record.kind === "entries") {
    w.u8(KIND_ENTRIES);
    w.u32(record.entries.length);
    for (const e of record.entries) writeEntry(w, e);
  } else {
    w.u8(KIND_HARD_STATE);
    writeHardState(w, record.hardState);
  }
}

function readRecord(r: Reader): LogRecord {
  const kind = r.u8("record kind");
  if (kind === KIND_BASE) {
    return {
      kind: "base",
      index: r.num("base index"),
      term: r.num("base term"),
    };
  }
  if (kind === KIND_ENTRIES) {
    const entries: Entry[] = [];
    for (let n = r.count("entries", 21); n > 0; n--) entries.push(readEntry(r));
    return { kind: "entries", entries };
  }
  if (kind === KIND_HARD_STATE) {
    return { kind: "hardState", hardState: readHardState(r) };
  }
  throw new CodecError(`Expected a log record kind from 1 to 3, found ${kind}`);
}

/** The records of one payload; throws {@linkcode CodecError} when malformed. */
export function decodeRecords(payload: Uint8Array): LogRecord[] {
  const r = new Reader(payload);
  const out: LogRecord[] = [];
  do out.push(readRecord(r)); while (r.remaining > 0);
  return out;
}

function u32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value);
  return b;
}

function unitCheck(salt: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(u32(payload.length), crc32(salt)));
}

/** A new random salt for a log file. */
export function newSalt(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(8));
}

/** One unit holding `records`, to append to a log whose salt is `salt`. */
export function encodeUnit(
  salt: Uint8Array,
  records: readonly LogRecord[],
): Uint8Array {
  const body = new Writer();
  for (const record of records) writeRecord(body, record);
  const payload = body.finish();
  const out = new Writer();
  out.u32(UNIT_MAGIC);
  out.u32(payload.length);
  out.u32(unitCheck(salt, payload));
  out.bytesRaw(payload);
  return out.finish();
}

/** A whole log file: the header with `salt` and one unit of `records`. */
export function encodeLog(
  salt: Uint8Array,
  records: readonly LogRecord[],
): Uint8Array {
  const head = new Writer();
  head.bytesRaw(WAL_MAGIC);
  head.u32(WAL_VERSION);
  head.bytesRaw(salt);
  head.u32(crc32(head.finish()));
  const header = head.finish();
  const unit = encodeUnit(salt, records);
  const out = new Uint8Array(header.length + unit.length);
  out.set(header);
  out.set(unit, header.length);
  return out;
}

/** A whole snapshot file. */
export function encodeSnapshotFile(snapshot: Snapshot): Uint8Array {
  const body = new Writer();
  body.u8(KIND_SNAPSHOT);
  writeSnapshot(body, snapshot);
  const payload = body.finish();
  const out = new Writer();
  out.bytesRaw(SNAPSHOT_MAGIC);
  out.u32(SNAPSHOT_VERSION);
  out.u32(payload.length);
  out.u32(
    crc32(payload, crc32(u32(payload.length), crc32(u32(SNAPSHOT_VERSION)))),
  );
  out.bytesRaw(payload);
  return out.finish();
}

function startsWith(buf: Uint8Array, prefix: Uint8Array): boolean {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (buf[i] !== prefix[i]) return false;
  }
  return true;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A record or unit payload and where its frame starts. */
export interface Scanned {
  /** The payload. */
  payload: Uint8Array;
  /** The byte offset of its frame in the file. */
  offset: number;
}

/** What a log file holds. */
export interface ScannedLog {
  /** 3 or 2, or 1 for a file of k8s-operator 0.1.0 (or an empty one). */
  version: number;
  /** The salt of a version 2 file; `null` for version 1. */
  salt: Uint8Array | null;
  /** Each intact payload in order (a unit's or a legacy record's). */
  payloads: Scanned[];
  /** The length of the intact prefix: what follows is a torn tail or zeros. */
  validLength: number;
  /**
   * Where the bytes that are not zero end: at most `validLength` when only
   * zeros (space filled ahead) follow the intact prefix.
   */
  dataEnd: number;
}

/** The offset after the last byte of `buf` that is not zero. */
function endOfData(buf: Uint8Array): number {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

/**
 * Splits a log file into its intact payloads and the length of the intact
 * prefix, cutting a torn tail. Throws {@linkcode StorageCorruptionError} on
 * damage that is not a torn tail and {@linkcode StorageVersionError} on a
 * version it does not read.
 */
export function scanLog(buf: Uint8Array, file: string): ScannedLog {
  if (startsWith(buf, WAL_MAGIC)) return scanUnits(buf, file);
  const legacy = buf.length < 4
    ? startsWith(u32(LEGACY_MAGIC), buf)
    : view(buf).getUint32(0) === LEGACY_MAGIC;
  if (!legacy) {
    throw new StorageCorruptionError(
      `Expected a log header ("RAFT-WAL") or a record of the 0.1.0 format, found ${
        JSON.stringify(new TextDecoder().decode(buf.subarray(0, 8)))
      }`,
      { file, offset: 0 },
    );
  }
  return scanLegacy(buf, file);
}

function scanUnits(buf: Uint8Array, file: string): ScannedLog {
  if (buf.length < WAL_HEADER) {
    throw new StorageCorruptionError(
      `Expected a ${WAL_HEADER}-byte log header, found ${buf.length} bytes`,
      { file, offset: 0 },
    );
  }
  const v = view(buf);
  const version = v.getUint32(8);
  if (version !== WAL_VERSION && version !== WAL_VERSION_UNFILLED) {
    throw new StorageVersionError({
      file,
      found: version,
      expected: WAL_VERSION,
    });
  }
  if (crc32(buf.subarray(0, 20)) !== v.getUint32(20)) {
    throw new StorageCorruptionError(
      "Expected an intact log header, found its checksum wrong",
      { file, offset: 0 },
    );
  }
  const salt = buf.slice(12, 20);
  const unitAt = (offset: number): Uint8Array | null => {
    if (buf.length - offset < FRAME) return null;
    if (v.getUint32(offset) !== UNIT_MAGIC) return null;
    const len = v.getUint32(offset + 4);
    if (len === 0 || len > MAX_PAYLOAD || len > buf.length - offset - FRAME) {
      return null;
    }
    const payload = buf.subarray(offset + FRAME, offset + FRAME + len);
    return unitCheck(salt, payload) === v.getUint32(offset + 8)
      ? payload
      : null;
  };
  const payloads: Scanned[] = [];
  const dataEnd = endOfData(buf);
  let offset = WAL_HEADER;
  // Only zeros from `dataEnd` on: the end of the log (or of a torn unit).
  while (offset < dataEnd) {
    const payload = unitAt(offset);
    if (payload === null) {
      for (let o = offset + 1; o + FRAME <= dataEnd; o++) {
        if (v.getUint32(o) === UNIT_MAGIC && unitAt(o) !== null) {
          throw new StorageCorruptionError(
            `Expected an intact unit before the intact unit at byte ${o}, found a damaged one`,
            { file, offset },
          );
        }
      }
      break;
    }
    payloads.push({ payload, offset });
    offset += FRAME + payload.length;
  }
  return { version, salt, payloads, validLength: offset, dataEnd };
}

/** The payload of the 0.1.0 record at `offset`, or `null` when damaged or cut short. */
function legacyRecordAt(buf: Uint8Array, offset: number): Uint8Array | null {
  if (buf.length - offset < FRAME) return null;
  const v = view(buf);
  if (v.getUint32(offset) !== LEGACY_MAGIC) return null;
  const len = v.getUint32(offset + 4);
  if (len === 0 || len > MAX_PAYLOAD || len > buf.length - offset - FRAME) {
    return null;
  }
  const payload = buf.subarray(offset + FRAME, offset + FRAME + len);
  return crc32(payload) === v.getUint32(offset + 8) ? payload : null;
}

/** Whether intact 0.1.0 records run from `offset` exactly to the end. */
function legacyChainToEnd(buf: Uint8Array, offset: number): boolean {
  let o = offset;
  while (o < buf.length) {
    const payload = legacyRecordAt(buf, o);
    if (payload === null) return false;
    o += FRAME + payload.length;
  }
  return true;
}

/**
 * Whether the damaged 0.1.0 record at `offset`, whose length reaches past
 * the end, is a torn last record rather than a damaged length: it is
 * damaged in the middle if a shorter length makes its checksum match and
 * intact records follow from there to the end.
 */
function legacyTornLast(buf: Uint8Array, offset: number): boolean {
  const stored = view(buf).getUint32(offset + 8);
  for (let o = offset + FRAME + 1; o + FRAME <= buf.length; o++) {
    if (
      view(buf).getUint32(o) === LEGACY_MAGIC && legacyChainToEnd(buf, o) &&
      crc32(buf.subarray(offset + FRAME, o)) === stored
    ) return false;
  }
  return true;
}

function scanLegacy(buf: Uint8Array, file: string): ScannedLog {
  const payloads: Scanned[] = [];
  let offset = 0;
  const v = view(buf);
  while (offset < buf.length) {
    const payload = legacyRecordAt(buf, offset);
    if (payload === null) {
      // A record whose own length reaches past the end is the last one, cut
      // by a crash, whatever its bytes contain; unless a shorter length
      // makes its checksum match with intact records from there to the end
      // (its length was damaged in the middle of the log).
      const pastEnd = buf.length - offset >= FRAME &&
        v.getUint32(offset) === LEGACY_MAGIC &&
        offset + FRAME + v.getUint32(offset + 4) > buf.length;
      const torn = buf.length - offset < FRAME ||
        (pastEnd
          ? legacyTornLast(buf, offset)
          : !legacyIntactAfter(buf, offset));
      if (!torn) {
        throw new StorageCorruptionError(
          "Expected an intact record before later intact records, found a damaged one",
          { file, offset },
        );
      }
      break;
    }
    payloads.push({ payload, offset });
    offset += FRAME + payload.length;
  }
  return {
    version: LEGACY_VERSION,
    salt: null,
    payloads,
    validLength: offset,
    dataEnd: buf.length,
  };
}

function legacyIntactAfter(buf: Uint8Array, offset: number): boolean {
  const v = view(buf);
  for (let o = offset + 1; o + FRAME <= buf.length; o++) {
    if (v.getUint32(o) === LEGACY_MAGIC && legacyRecordAt(buf, o) !== null) {
      return true;
    }
  }
  return false;
}

/**
 * Reads a snapshot file of version 2 or 1; throws
 * {@linkcode StorageCorruptionError} when it is damaged and
 * {@linkcode StorageVersionError} on a version it does not read.
 */
export function decodeSnapshotFile(
  buf: Uint8Array,
  file: string,
): { snapshot: Snapshot; version: number } {
  let payload: Uint8Array | null = null;
  let version = LEGACY_VERSION;
  if (startsWith(buf, SNAPSHOT_MAGIC) && buf.length >= SNAPSHOT_HEADER) {
    const v = view(buf);
    version = v.getUint32(8);
    if (version !== SNAPSHOT_VERSION) {
      throw new StorageVersionError({
        file,
        found: version,
        expected: SNAPSHOT_VERSION,
      });
    }
    const len = v.getUint32(12);
    const body = buf.subarray(SNAPSHOT_HEADER);
    if (
      len === body.length &&
      crc32(body, crc32(u32(len), crc32(u32(version)))) === v.getUint32(16)
    ) payload = body;
  } else {
    const record = legacyRecordAt(buf, 0);
    if (record !== null && FRAME + record.length === buf.length) {
      payload = record;
    }
  }
  if (payload === null) {
    throw new StorageCorruptionError(
      "Expected one intact snapshot record, found a damaged file",
      { file, offset: 0 },
    );
  }
  try {
    const r = new Reader(payload);
    const kind = r.u8("record kind");
    if (kind !== KIND_SNAPSHOT) {
      throw new CodecError(
        `Expected a snapshot record (kind 4), found ${kind}`,
      );
    }
    const snapshot = readSnapshot(r);
    r.end("the snapshot record");
    return { snapshot, version };
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    throw new StorageCorruptionError(
      `Expected a well-formed snapshot: ${error.message}`,
      { file, offset: 0 },
    );
  }
}
