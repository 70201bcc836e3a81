/**
 * Internal: the authenticated frames of the Raft transport, wire format
 * version 3 (documented in `raft/README.md`, "Transport security").
 *
 * A frame is a header, the header's MAC, a body and the body's MAC:
 *
 * ```
 *  0  u32  magic "RAFT"
 *  4  u16  version (3)
 *  6  u8   kind: 1 hello, 2 welcome, 3 messages, 4 snapshot, 5 ack
 *  7  u8   length n of the cluster id (1 to 253)
 *  8  f64  sender id
 * 16  f64  receiver id
 * 24  16   session id (zero in a hello)
 * 40  f64  sequence number in the session (0 in a hello and a welcome)
 * 48  16   nonce (a hello's random nonce; a welcome echoes it; else zero)
 * 64  u32  body length
 * 68  n    cluster id (ASCII)
 * 68+n 32  header MAC: HMAC-SHA256(secret, "k8s-operator raft header\0" | bytes 0 .. 68+n)
 *      L   body (L = body length)
 *      32  body MAC:   HMAC-SHA256(secret, "k8s-operator raft body\0" | header MAC | body)
 * ```
 *
 * The header is small and fixed, so a receiver authenticates it before it
 * reads a byte of the body, and the body's MAC is computed while the body
 * streams in. A frame says where it ends, so frames follow one another in
 * one stream: a sender's stream of `messages` frames, and the receiver's
 * stream of `ack` frames that answers it (an ack's sequence number is the
 * highest one of the session the receiver delivered from that stream).
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { Writer } from "./_codec.ts";
import type { NodeId } from "./types.ts";

/** The wire format this code speaks. */
export const WIRE_VERSION = 3;
/**
 * The wire format of earlier 0.2 builds (`/raft/v2/`, the same frames, but
 * one request per batch and no acknowledgements); never released.
 */
export const PREVIOUS_WIRE_VERSION = 2;
/** The wire format of k8s-operator 0.1.0 (`/raft/v1/`, signed HTTP headers). */
export const LEGACY_WIRE_VERSION = 1;

const MAGIC = 0x52414654; // "RAFT"
/** Magic, version, kind and cluster id length: read before anything else. */
export const PREAMBLE_BYTES = 8;
const FIXED_BYTES = 68;
const MAC_BYTES = 32;
const HEADER_LABEL = new TextEncoder().encode("k8s-operator raft header\0");
const BODY_LABEL = new TextEncoder().encode("k8s-operator raft body\0");

/** What a frame carries. */
export type FrameKind = "hello" | "welcome" | "messages" | "snapshot" | "ack";
const KINDS: readonly FrameKind[] = [
  "hello",
  "welcome",
  "messages",
  "snapshot",
  "ack",
];

/** The authenticated fields of a frame. */
export interface FrameHeader {
  kind: FrameKind;
  clusterId: string;
  from: NodeId;
  to: NodeId;
  session: Uint8Array;
  seq: number;
  nonce: Uint8Array;
  bodyLength: number;
}

/**
 * Why a request was refused, as the `x-raft-refused` response header and
 * {@linkcode TransportError.reason} say: `version` (another wire format),
 * `malformed`, `signature` (no accepted secret matches), `cluster`,
 * `receiver`, `sender` (not a known peer), `session` (a session the
 * receiver does not know: it restarted; open a new one), `replay` (a frame
 * accepted before), `too-large`, `busy` (too many bodies being read),
 * `path`, `method`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RefusalReason, TransportError } from "@k8s-operator/k8s-operator/raft";
 * const retryable: RefusalReason[] = ["session", "busy"];
 * const error = new TransportError("Expected 204 from node 1, found 503", 503, "busy");
 * assert.equal(retryable.includes(error.reason!), true);
 * ```
 */
export type RefusalReason =
  | "version"
  | "malformed"
  | "signature"
  | "cluster"
  | "receiver"
  | "sender"
  | "session"
  | "replay"
  | "too-large"
  | "busy"
  | "path"
  | "method"
  | "timeout";

/** A frame or request refused; carries the HTTP status that answers it. */
export class FrameError extends Error {
  /** Machine-readable reason. */
  readonly reason: RefusalReason;
  /** The HTTP status of the refusal. */
  readonly status: number;
  /** The sender the frame names, when it could be read. */
  readonly peer: NodeId | null;
  /** Describes what was expected and what was found. */
  constructor(
    message: string,
    refusal: { reason: RefusalReason; status: number; peer?: NodeId | null },
  ) {
    super(message);
    this.name = "FrameError";
    this.reason = refusal.reason;
    this.status = refusal.status;
    this.peer = refusal.peer ?? null;
  }
}

/** 16 zero bytes: the session of a hello, the nonce of a message frame. */
export const ZERO_ID: Uint8Array = new Uint8Array(16);

/** 16 random bytes: a session id or a hello nonce. */
export function randomId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

function mac(
  secret: string,
  label: Uint8Array,
  ...parts: Uint8Array[]
): Uint8Array {
  const h = createHmac("sha256", secret);
  h.update(label);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function headerBytes(header: FrameHeader): Uint8Array {
  const cluster = new TextEncoder().encode(header.clusterId);
  const w = new Writer();
  w.u32(MAGIC);
  w.u8(WIRE_VERSION >> 8);
  w.u8(WIRE_VERSION & 0xff);
  w.u8(KINDS.indexOf(header.kind) + 1);
  w.u8(cluster.length);
  w.num(header.from);
  w.num(header.to);
  w.bytesRaw(header.session);
  w.num(header.seq);
  w.bytesRaw(header.nonce);
  w.u32(header.bodyLength);
  w.bytesRaw(cluster);
  return w.finish();
}

/** Encodes and signs a whole frame with `secret`. */
export function encodeFrame(
  header: Omit<FrameHeader, "bodyLength">,
  body: { bytes: Uint8Array; secret: string },
): Uint8Array<ArrayBuffer> {
  const head = headerBytes({ ...header, bodyLength: body.bytes.length });
  const headMac = mac(body.secret, HEADER_LABEL, head);
  const bodyMac = mac(body.secret, BODY_LABEL, headMac, body.bytes);
  const out = new Uint8Array(
    head.length + MAC_BYTES + body.bytes.length + MAC_BYTES,
  );
  out.set(head);
  out.set(headMac, head.length);
  out.set(body.bytes, head.length + MAC_BYTES);
  out.set(bodyMac, out.length - MAC_BYTES);
  return out;
}

/** Reads exact byte counts from a stream of chunks. */
export class StreamBytes {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  /** Rejects once the armed deadline passes (see `within`). */
  #deadline: { expired: Promise<never>; reason: () => unknown } | null = null;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #done = false;

  /** Reads from `stream` (`null`: an empty body). */
  constructor(stream: ReadableStream<Uint8Array> | null) {
    this.#reader = stream?.getReader() ?? null;
    if (this.#reader === null) this.#done = true;
  }

  /**
   * Arms a deadline: once `ms` have passed, a read still waiting for bytes
   * stops reading (the stream is cancelled) and throws `reason()`, and so
   * does every later read. Returns the function that disarms it (a frame
   * read in time). A stream of frames arms one per frame.
   */
  within(ms: number, reason: () => unknown): () => void {
    let expire!: (error: unknown) => void;
    const expired = new Promise<never>((_, reject) => expire = reject);
    expired.catch(() => {});
    const deadline = { expired, reason };
    const timer = setTimeout(() => expire(reason()), ms);
    this.#deadline = deadline;
    return () => {
      clearTimeout(timer);
      if (this.#deadline === deadline) this.#deadline = null;
    };
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#done || this.#reader === null) return false;
      const read = this.#reader.read();
      const deadline = this.#deadline;
      let expired = false;
      const { done, value } = await (deadline === null ? read : Promise.race([
        read,
        deadline.expired.catch((error) => {
          expired = true;
          throw error;
        }),
      ]))
        .catch((error) => {
          if (expired) {
            this.cancel();
            throw error;
          }
          // The sender gave up (its timeout) or the connection broke.
          throw new FrameError(
            `Expected the rest of the request, found it broken off: ${
              (error as Error).message
            }`,
            { reason: "malformed", status: 400 },
          );
        });
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
      this.#pos = 0;
    }
    return true;
  }

  /**
   * The next `n` bytes, handing each piece to `onData` as it arrives;
   * `null` when the stream ends first.
   */
  async read(
    n: number,
    onData?: (piece: Uint8Array) => void,
  ): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      if (!(await this.#fill())) return null;
      const take = Math.min(n - at, this.#chunk.length - this.#pos);
      const piece = this.#chunk.subarray(this.#pos, this.#pos + take);
      out.set(piece, at);
      onData?.(piece);
      at += take;
      this.#pos += take;
    }
    return out;
  }

  /** Whether the stream has no byte left (reads ahead one chunk). */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Stops reading: the rest of the stream is not wanted. */
  cancel(): void {
    this.#reader?.cancel().catch(() => {});
  }
}

/** A header that verified, and what verifying its body needs. */
export interface VerifiedHeader {
  /** The header's fields. */
  header: FrameHeader;
  /** Its MAC, which the body's MAC covers. */
  mac: Uint8Array;
  /** The secret it verified with (the body must verify with it too). */
  secret: string;
  /** Whether that secret is the first of the accepted ones (the signing one). */
  signing: boolean;
}

/**
 * Reads a frame header from `bytes` and verifies its MAC against each of
 * `secrets`; throws {@linkcode FrameError} on another version, a malformed
 * header or no secret matching. Reads no byte past the header.
 */
export async function readHeader(
  bytes: StreamBytes,
  secrets: readonly string[],
): Promise<VerifiedHeader> {
  const preamble = await bytes.read(PREAMBLE_BYTES);
  if (preamble === null) {
    throw new FrameError(
      `Expected a frame of at least ${PREAMBLE_BYTES} bytes, found the body ended`,
      { reason: "malformed", status: 400 },
    );
  }
  const p = new DataView(preamble.buffer);
  if (p.getUint32(0) !== MAGIC) {
    throw new FrameError(
      `Expected a frame starting with "RAFT", found 0x${
        p.getUint32(0).toString(16)
      }`,
      { reason: "malformed", status: 400 },
    );
  }
  const version = p.getUint16(4);
  if (version !== WIRE_VERSION) {
    throw new FrameError(
      `Expected Raft wire format version ${WIRE_VERSION}, found version ${version}: the peer runs another k8s-operator version`,
      { reason: "version", status: 400 },
    );
  }
  const kindCode = preamble[6];
  const clusterLength = preamble[7];
  const kind = KINDS[kindCode - 1];
  if (kind === undefined || clusterLength === 0 || clusterLength > 253) {
    throw new FrameError(
      `Expected a frame kind from 1 to ${KINDS.length} and a cluster id of 1 to 253 bytes, found kind ${kindCode} and ${clusterLength} bytes`,
      { reason: "malformed", status: 400 },
    );
  }
  const rest = await bytes.read(FIXED_BYTES - PREAMBLE_BYTES + clusterLength);
  const tag = rest === null ? null : await bytes.read(MAC_BYTES);
  if (rest === null || tag === null) {
    throw new FrameError(
      "Expected a whole frame header, found the body ended inside it",
      { reason: "malformed", status: 400 },
    );
  }
  const head = new Uint8Array(PREAMBLE_BYTES + rest.length);
  head.set(preamble);
  head.set(rest, PREAMBLE_BYTES);
  const v = new DataView(head.buffer);
  const id = (offset: number, what: string): number => {
    const n = v.getFloat64(offset);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new FrameError(
        `Expected the ${what} to be a non-negative safe integer, found ${n}`,
        { reason: "malformed", status: 400 },
      );
    }
    return n;
  };
  const header: FrameHeader = {
    kind,
    clusterId: new TextDecoder().decode(head.subarray(FIXED_BYTES)),
    from: id(8, "sender id"),
    to: id(16, "receiver id"),
    session: head.slice(24, 40),
    seq: id(40, "sequence number"),
    nonce: head.slice(48, 64),
    bodyLength: v.getUint32(64),
  };
  for (let i = 0; i < secrets.length; i++) {
    const expected = mac(secrets[i], HEADER_LABEL, head);
    if (timingSafeEqual(expected, tag)) {
      return { header, mac: tag, secret: secrets[i], signing: i === 0 };
    }
  }
  throw new FrameError(
    "Expected a frame header signed with the cluster's secret, found another signature",
    { reason: "signature", status: 401, peer: header.from },
  );
}

/**
 * Reads the body a verified header announced and its MAC, computing the
 * MAC as the bytes stream in; throws {@linkcode FrameError} when the body
 * ends early or its MAC does not match. The body is returned only once it
 * verified.
 */
export async function readBody(
  bytes: StreamBytes,
  verified: VerifiedHeader,
): Promise<Uint8Array> {
  const { header, secret } = verified;
  const h = createHmac("sha256", secret);
  h.update(BODY_LABEL);
  h.update(verified.mac);
  const body = await bytes.read(header.bodyLength, (piece) => h.update(piece));
  const tag = body === null ? null : await bytes.read(MAC_BYTES);
  if (body === null || tag === null) {
    throw new FrameError(
      `Expected a body of ${header.bodyLength} bytes and its MAC, found the request ended first`,
      { reason: "malformed", status: 400, peer: header.from },
    );
  }
  if (!timingSafeEqual(new Uint8Array(h.digest()), tag)) {
    throw new FrameError(
      "Expected a body signed with the header's secret, found another signature",
      { reason: "signature", status: 401, peer: header.from },
    );
  }
  return body;
}

/** Hex of a session id, for maps. */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
