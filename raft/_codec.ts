/**
 * A compact binary codec for Raft messages, entries, hard states and
 * snapshots, shared by the HTTP transport and the file storage.
 *
 * Every decoder checks each field as it reads it (types, ranges, lengths
 * against the bytes left) and throws {@linkcode CodecError} on anything
 * malformed; it never allocates more than the input could describe.
 *
 * @module
 */
import type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  Snapshot,
} from "./types.ts";

/** Raised when bytes do not decode to a well-formed value. */
export class CodecError extends Error {
  /** Describes what was expected and what was found. */
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/**
 * Every message type, in the order of its code on the wire (the index is the
 * byte written): append only. `_validate.ts` checks message shapes against
 * the same list.
 */
export const MESSAGE_TYPES: readonly MessageType[] = [
  "preVote",
  "preVoteResp",
  "vote",
  "voteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "timeoutNow",
  "probe",
  "probeResp",
];
/** Every entry type, in the order of its code on the wire: append only. */
export const ENTRY_TYPES: readonly EntryType[] = [
  "normal",
  "confChange",
  "empty",
  "bootstrap",
];

/** The magic and version that open every message batch. */
const BATCH_MAGIC = 0x52465431; // "RFT1"

/** Builds a byte buffer that grows as values are appended. */
export class Writer {
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  #view: DataView = new DataView(this.#buf.buffer);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Appends one byte. */
  u8(value: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = value;
  }

  /** Appends an unsigned 32-bit integer (big-endian). */
  u32(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.#len, value);
    this.#len += 4;
  }

  /** Appends a non-negative safe integer as a 64-bit float. */
  num(value: number): void {
    this.#reserve(8);
    this.#view.setFloat64(this.#len, value);
    this.#len += 8;
  }

  /** Appends a length-prefixed byte string. */
  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.#reserve(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
  }

  /** Appends bytes as they are, without a length. */
  bytesRaw(value: Uint8Array): void {
    this.#reserve(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.subarray(0, this.#len);
  }
}

/** Reads values back from bytes, checking every bound. */
export class Reader {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  /** Reads from `buf`, starting at its first byte. */
  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, what: string): void {
    if (this.remaining < n) {
      throw new CodecError(
        `Expected ${n} more bytes for ${what}, found ${this.remaining}`,
      );
    }
  }

  /** Reads one byte. */
  u8(what: string): number {
    this.#need(1, what);
    return this.#buf[this.#pos++];
  }

  /** Reads an unsigned 32-bit integer. */
  u32(what: string): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a non-negative safe integer. */
  num(what: string): number {
    this.#need(8, what);
    const v = this.#view.getFloat64(this.#pos);
    this.#pos += 8;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new CodecError(
        `Expected ${what} to be a non-negative safe integer, found ${v}`,
      );
    }
    return v;
  }

  /** Reads a non-negative safe integer or `null` (encoded as -1). */
  optNum(what: string): number | null {
    this.#need(8, what);
    const v = this.#view.getFloat64(this.#pos);
    if (v === -1) {
      this.#pos += 8;
      return null;
    }
    return this.num(what);
  }

  /** Reads a boolean byte. */
  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) {
      throw new CodecError(`Expected ${what} to be 0 or 1, found ${v}`);
    }
    return v === 1;
  }

  /** Reads a length-prefixed byte string (a copy). */
  bytes(what: string): Uint8Array {
    const n = this.u32(`${what} length`);
    this.#need(n, what);
    const v = this.#buf.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** Reads a count of items that each take at least `minSize` bytes. */
  count(what: string, minSize: number): number {
    const n = this.u32(`${what} count`);
    if (n * minSize > this.remaining) {
      throw new CodecError(
        `Expected at most ${
          Math.floor(this.remaining / minSize)
        } ${what} in the bytes left, found a count of ${n}`,
      );
    }
    return n;
  }

  /** Throws unless every byte was read. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new CodecError(
        `Expected the end of ${what}, found ${this.remaining} trailing bytes`,
      );
    }
  }
}

/** Writes an optional non-negative integer (`null` as -1). */
function optNum(w: Writer, value: number | null): void {
  w.num(value === null ? -1 : value);
}

/**
 * Opens a membership of encoding version 2 or later: a voter count no
 * version 1 membership can have, then the version byte.
 */
const CONF_MARKER = 0xffffffff;
/** The membership encoding written here. */
const CONF_VERSION = 2;

/**
 * Encodes a membership, version 2: `marker u32 | version u8 | voters |
 * learners`, each list a count and `id num | incarnation num` pairs
 * (incarnation 0 for a learner without one).
 */
export function writeConf(w: Writer, conf: ConfState): void {
  w.u32(CONF_MARKER);
  w.u8(CONF_VERSION);
  for (const ids of [conf.voters, conf.learners]) {
    w.u32(ids.length);
    for (const id of ids) {
      w.num(id);
      w.num(conf.incarnations?.[id] ?? 0);
    }
  }
}

/**
 * Decodes a membership: version 2, or version 1 (k8s-operator 0.1.0: two
 * lists of ids, no incarnations), which the core refuses to run on.
 */
export function readConf(r: Reader): ConfState {
  const first = r.u32("voters count");
  if (first !== CONF_MARKER) {
    if (first * 8 > r.remaining) {
      throw new CodecError(
        `Expected at most ${
          Math.floor(r.remaining / 8)
        } voters in the bytes left, found a count of ${first}`,
      );
    }
    const voters: number[] = [];
    for (let i = first; i > 0; i--) voters.push(r.num("voter"));
    const learners: number[] = [];
    for (let i = r.count("learners", 8); i > 0; i--) {
      learners.push(r.num("learner"));
    }
    return { voters, learners };
  }
  const version = r.u8("membership encoding version");
  if (version !== CONF_VERSION) {
    throw new CodecError(
      `Expected membership encoding version ${CONF_VERSION}, found version ${version}`,
    );
  }
  const lists: number[][] = [[], []];
  const incarnations: Record<number, number> = {};
  for (const [k, what] of ["voters", "learners"].entries()) {
    for (let i = r.count(what, 16); i > 0; i--) {
      const id = r.num(`${what} id`);
      const incarnation = r.num(`${what} incarnation`);
      lists[k].push(id);
      if (incarnation > 0) incarnations[id] = incarnation;
    }
  }
  return Object.keys(incarnations).length === 0
    ? { voters: lists[0], learners: lists[1] }
    : { voters: lists[0], learners: lists[1], incarnations };
}

/** The size of a membership in bytes. */
function confSize(conf: ConfState): number {
  return 4 + 1 + 4 + 4 + 16 * (conf.voters.length + conf.learners.length);
}

/** Encodes one log entry. */
export function writeEntry(w: Writer, entry: Entry): void {
  w.num(entry.term);
  w.num(entry.index);
  w.u8(ENTRY_TYPES.indexOf(entry.type));
  w.bytes(entry.data);
}

/** Decodes one log entry. */
export function readEntry(r: Reader): Entry {
  const term = r.num("entry term");
  const index = r.num("entry index");
  const t = r.u8("entry type");
  const type = ENTRY_TYPES[t];
  if (type === undefined) {
    throw new CodecError(
      `Expected an entry type below ${ENTRY_TYPES.length}, found ${t}`,
    );
  }
  return { term, index, type, data: r.bytes("entry data") };
}

/** Encodes a hard state. */
export function writeHardState(w: Writer, hs: HardState): void {
  w.num(hs.term);
  optNum(w, hs.vote);
  w.num(hs.commit);
}

/** Decodes a hard state. */
export function readHardState(r: Reader): HardState {
  return {
    term: r.num("term"),
    vote: r.optNum("vote"),
    commit: r.num("commit"),
  };
}

/** Encodes a snapshot. */
export function writeSnapshot(w: Writer, snap: Snapshot): void {
  w.num(snap.metadata.index);
  w.num(snap.metadata.term);
  writeConf(w, snap.metadata.conf);
  w.bytes(snap.data);
}

/** Decodes a snapshot. */
export function readSnapshot(r: Reader): Snapshot {
  const index = r.num("snapshot index");
  const term = r.num("snapshot term");
  const conf = readConf(r);
  return { metadata: { index, term, conf }, data: r.bytes("snapshot data") };
}

/** The smallest encoded entry: two numbers, a type byte, a length. */
const MIN_ENTRY = 8 + 8 + 1 + 4;
/** The smallest encoded message. */
const MIN_MESSAGE = 1 + 8 * 9 + 1 + 4 + 1;

function writeMessage(w: Writer, m: Message): void {
  w.u8(MESSAGE_TYPES.indexOf(m.type));
  w.num(m.from);
  w.num(m.to);
  w.num(m.term);
  w.num(m.logTerm);
  w.num(m.index);
  w.num(m.commit);
  w.num(m.rejectHint);
  w.num(m.incarnation ?? 0);
  w.num(m.toIncarnation ?? 0);
  w.u8(
    (m.reject ? 1 : 0) | (m.transfer ? 2 : 0) | (m.healthy ? 4 : 0) |
      (m.bootstrap ? 8 : 0) | (m.shard === undefined ? 0 : 16),
  );
  w.u32(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot === null) {
    w.u8(0);
  } else {
    w.u8(1);
    writeSnapshot(w, m.snapshot);
  }
  if (m.shard !== undefined) w.bytes(m.shard);
}

function readMessage(r: Reader): Message {
  const t = r.u8("message type");
  const type = MESSAGE_TYPES[t];
  if (type === undefined) {
    throw new CodecError(
      `Expected a message type below ${MESSAGE_TYPES.length}, found ${t}`,
    );
  }
  const from = r.num("from");
  const to = r.num("to");
  const term = r.num("term");
  const logTerm = r.num("logTerm");
  const index = r.num("index");
  const commit = r.num("commit");
  const rejectHint = r.num("rejectHint");
  const incarnation = r.num("incarnation");
  const toIncarnation = r.num("toIncarnation");
  const flags = r.u8("flags");
  if (flags > 31) {
    throw new CodecError(`Expected flags below 32, found ${flags}`);
  }
  const entries: Entry[] = [];
  for (let i = r.count("entries", MIN_ENTRY); i > 0; i--) {
    entries.push(readEntry(r));
  }
  const snapshot = r.bool("snapshot flag") ? readSnapshot(r) : null;
  const shard = (flags & 16) === 16 ? r.bytes("shard bytes") : undefined;
  if (
    shard !== undefined && type !== "heartbeat" && type !== "heartbeatResp"
  ) {
    throw new CodecError(
      `Expected shard bytes only on a heartbeat or its answer, found them on ${type}`,
    );
  }
  const m: Message = {
    type,
    from,
    to,
    term,
    logTerm,
    index,
    commit,
    entries,
    reject: (flags & 1) === 1,
    rejectHint,
    snapshot,
  };
  if ((flags & 2) === 2) m.transfer = true;
  if ((flags & 4) === 4) m.healthy = true;
  if ((flags & 8) === 8) m.bootstrap = true;
  if (incarnation > 0) m.incarnation = incarnation;
  if (toIncarnation > 0) m.toIncarnation = toIncarnation;
  if (shard !== undefined) m.shard = shard;
  return m;
}

/**
 * Encodes a batch of messages for one HTTP request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMessages, encodeMessages } from "./_codec.ts";
 * import type { Message } from "./types.ts";
 * const message: Message = {
 *   type: "heartbeat", from: 0, to: 2, term: 3, logTerm: 0, index: 120,
 *   commit: 41, entries: [], reject: false, rejectHint: 0, snapshot: null,
 * };
 * const body = encodeMessages([message]);
 * assert.deepEqual(decodeMessages(body), [message]);
 * ```
 */
export function encodeMessages(
  messages: readonly Message[],
): Uint8Array<ArrayBuffer> {
  const w = new Writer();
  w.u32(BATCH_MAGIC);
  w.u32(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.finish();
}

/**
 * Decodes and checks a batch of messages; throws {@linkcode CodecError} on
 * any malformed or trailing byte.
 */
export function decodeMessages(body: Uint8Array): Message[] {
  const r = new Reader(body);
  const magic = r.u32("batch magic");
  if (magic !== BATCH_MAGIC) {
    throw new CodecError(
      `Expected batch magic 0x${BATCH_MAGIC.toString(16)}, found 0x${
        magic.toString(16)
      }`,
    );
  }
  const out: Message[] = [];
  for (let i = r.count("messages", MIN_MESSAGE); i > 0; i--) {
    out.push(readMessage(r));
  }
  r.end("the batch");
  return out;
}

/** The size in bytes a message takes in a batch (for splitting batches). */
export function encodedMessageSize(m: Message): number {
  let size = MIN_MESSAGE + (m.shard === undefined ? 0 : 4 + m.shard.length);
  for (const e of m.entries) size += MIN_ENTRY + e.data.length;
  if (m.snapshot !== null) {
    const s = m.snapshot;
    size += 16 + confSize(s.metadata.conf) + 4 + s.data.length;
  }
  return size;
}
