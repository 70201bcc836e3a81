/**
 * Internal: the sending side of the Raft HTTP transport (wire format 3,
 * `_frame.ts`): a session per peer opened with a hello, one long-lived
 * stream of frames per peer written as the node hands messages over and
 * acknowledged by the peer, snapshots on their own requests, and the
 * per-peer backoff. `HttpTransport` (`transport.ts`) owns one and feeds it
 * what the receiving side hears from peers.
 *
 * @module
 */
import { encodedMessageSize, encodeMessages } from "./_codec.ts";
import {
  encodeFrame,
  FrameError,
  hex,
  LEGACY_WIRE_VERSION,
  PREVIOUS_WIRE_VERSION,
  randomId,
  readBody,
  readHeader,
  type RefusalReason,
  StreamBytes,
  type VerifiedHeader,
  WIRE_VERSION,
  ZERO_ID,
} from "./_frame.ts";
import { StreamRequest } from "./_stream_client.ts";
import { trace, tracedIndex, tracing } from "./_trace.ts";
import type { Message, NodeId } from "./types.ts";
import {
  type HttpTransportOptions,
  TransportError,
} from "./transport_types.ts";

/** The path a sender opens a session on. */
export const HELLO_PATH = "/raft/v3/hello";
/**
 * The path of the endpoint that takes a stream of frames of small messages
 * (one request per peer that stays open) and answers with acknowledgements.
 */
export const MESSAGES_PATH = "/raft/v3/messages";
/** The path of the endpoint that takes one snapshot message. */
export const SNAPSHOT_PATH = "/raft/v3/snapshot";

/** A session this node opened with a peer: frames are numbered in it. */
interface OpenSession {
  id: Uint8Array;
  nextSeq: number;
  /** A stream in it was accepted: the peer knew it then. */
  used: boolean;
}

/** Frames written on a stream and not yet acknowledged. */
interface Unacked {
  seq: number;
  at: number;
  messages: Message[];
}

/** This node's stream of frames to a peer. */
interface OutStream {
  session: OpenSession;
  /**
   * The session was open before this stream was: the peer may have
   * restarted since its welcome (a session opened by `connect`, or one
   * whose streams it had accepted), so its refusal is no fault of the peer.
   */
  reused: boolean;
  request: StreamRequest;
  unacked: Unacked[];
  unackedMessages: number;
}

interface PeerLink {
  /** Messages not framed yet (no stream open, or backing off). */
  queue: Message[];
  /** Snapshots, each sent alone on its own request. */
  snapshots: Message[];
  snapshotInflight: boolean;
  stream: OutStream | null;
  /** A hello or a stream is being opened. */
  opening: boolean;
  /** A flush is queued for the end of this turn of the event loop. */
  flushQueued: boolean;
  /** Failures in a row (the backoff's exponent). */
  failures: number;
  /** What a failure left unacknowledged was resent once since the last success. */
  resent: boolean;
  retryAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  session: OpenSession | null;
  hello: Promise<OpenSession> | null;
}

/**
 * A stream the peer had accepted ended or broke off: what it did not
 * acknowledge may not have arrived.
 */
class StreamEndedError extends TransportError {}

/**
 * Whether a failure may have delivered nothing while the peer is up: a
 * connection refused or reset (`fetch` rejects with a `TypeError`), a
 * stream broken off, or a peer that no longer knows the session (it
 * restarted). Not a peer's other refusals, nor our own timeout.
 */
function undelivered(error: unknown): boolean {
  if (error instanceof StreamEndedError) return true;
  if (error instanceof TransportError) return error.reason === "session";
  return (error as { name?: unknown } | null)?.name !== "AbortError";
}

const REASONS: ReadonlySet<string> = new Set<RefusalReason>([
  "version",
  "malformed",
  "signature",
  "cluster",
  "receiver",
  "sender",
  "session",
  "replay",
  "too-large",
  "busy",
  "path",
  "method",
  "timeout",
]);

/** The sending side of an `HttpTransport`: streams, snapshots, backoff. */
export class Sender {
  readonly #opts: HttpTransportOptions;
  readonly #secrets: readonly string[];
  readonly #maxBody: number;
  readonly #maxQueue: number;
  readonly #timeoutMs: number;
  readonly #peers = new Map<NodeId, PeerLink>();
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #fetch: typeof fetch;
  #closed = false;
  readonly #aborts = new Set<AbortController>();

  /** Sends as `options` say, signing with the first of `keys.secrets`. */
  constructor(
    options: HttpTransportOptions,
    keys: { secrets: readonly string[]; maxBody: number },
  ) {
    this.#opts = options;
    this.#secrets = keys.secrets;
    this.#maxBody = keys.maxBody;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#timeoutMs = options.requestTimeoutMs ?? 2000;
    this.#clock = options.clock ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Queues messages for their receivers; never blocks, never throws. What
   * is queued for a peer in one turn of the event loop goes out as one
   * frame.
   */
  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      const p = this.#peer(m.to);
      if (m.type === "snapshot") {
        p.snapshots.push(m);
        if (p.snapshots.length > 1) p.snapshots.shift();
      } else {
        p.queue.push(m);
        if (p.queue.length > this.#maxQueue) p.queue.shift();
      }
      if (!p.flushQueued) {
        p.flushQueued = true;
        queueMicrotask(() => {
          p.flushQueued = false;
          this.#flush(m.to);
        });
      }
    }
  }

  /**
   * Opens a session with each of `peers` now (a hello each), without
   * waiting for a message to send. Call it once the node starts: a peer
   * that backed off from this node while it was down (a restart, a pod that
   * was Pending) hears from it and sends to it at once, instead of after
   * its backoff while this node's election timer runs. Failures go to
   * `onSendError`; never throws.
   */
  connect(peers: readonly NodeId[]): void {
    if (this.#closed) return;
    for (const id of new Set(peers)) {
      if (id === this.#opts.id) continue;
      const p = this.#peer(id);
      if (p.session !== null || p.hello !== null) continue;
      this.#session(id, p).catch((error) =>
        this.#opts.onSendError?.(id, error)
      );
    }
  }

  #peer(id: NodeId): PeerLink {
    let p = this.#peers.get(id);
    if (p === undefined) {
      p = {
        queue: [],
        snapshots: [],
        snapshotInflight: false,
        stream: null,
        opening: false,
        flushQueued: false,
        failures: 0,
        resent: false,
        retryAt: 0,
        timer: null,
        session: null,
        hello: null,
      };
      this.#peers.set(id, p);
    }
    return p;
  }

  /** Frames what is queued for `id` onto its stream, opening one if needed. */
  #flush(id: NodeId): void {
    const p = this.#peers.get(id);
    if (p === undefined || this.#closed) return;
    if (p.queue.length === 0 && p.snapshots.length === 0) return;
    const wait = p.retryAt - this.#clock();
    if (wait > 0) {
      p.timer ??= setTimeout(() => {
        p.timer = null;
        this.#flush(id);
      }, wait);
      return;
    }
    if (p.snapshots.length > 0 && !p.snapshotInflight) {
      this.#sendSnapshot(id, p);
    }
    if (p.queue.length === 0) return;
    const s = p.stream;
    if (s === null) {
      if (!p.opening) this.#open(id, p);
      return;
    }
    const now = this.#clock();
    if (s.unacked.length > 0 && now - s.unacked[0].at > this.#timeoutMs) {
      this.#broken(id, {
        stream: s,
        error: new TransportError(
          `Expected node ${id} to acknowledge frames within ${this.#timeoutMs} ms, found none for ${
            Math.round(now - s.unacked[0].at)
          } ms`,
          0,
        ),
      });
      return;
    }
    while (p.queue.length > 0) {
      const batch = this.#takeBatch(p);
      const seq = s.session.nextSeq++;
      const traced = tracing() ? tracedIndex(batch) : -1;
      if (traced >= 0) {
        trace(this.#opts.id, "post", { index: traced, peer: id });
      }
      s.request.write(encodeFrame({
        kind: "messages",
        clusterId: this.#opts.clusterId,
        from: this.#opts.id,
        to: id,
        session: s.session.id,
        seq,
        nonce: ZERO_ID,
      }, { bytes: encodeMessages(batch), secret: this.#secrets[0] }));
      s.unacked.push({ seq, at: now, messages: batch });
      s.unackedMessages += batch.length;
    }
    if (
      s.unackedMessages > this.#maxQueue ||
      s.request.buffered > 4 * this.#maxBody
    ) {
      this.#broken(id, {
        stream: s,
        error: new TransportError(
          `Expected node ${id} to keep up, found ${s.unackedMessages} messages unacknowledged`,
          0,
        ),
      });
    }
  }

  /** Opens a session if needed, then a stream to `id`. */
  async #open(id: NodeId, p: PeerLink): Promise<void> {
    p.opening = true;
    const reused = p.session !== null;
    let session: OpenSession;
    try {
      session = await this.#session(id, p);
    } catch (error) {
      p.opening = false;
      this.#broken(id, { stream: null, error });
      return;
    }
    p.opening = false;
    if (this.#closed || p.stream !== null) return;
    const base = this.#opts.peerUrl(id);
    if (base === undefined) {
      const error = new TransportError(`No address known for node ${id}`, 0);
      this.#broken(id, { stream: null, error });
      return;
    }
    let request: StreamRequest;
    try {
      request = StreamRequest.open({
        base,
        path: MESSAGES_PATH,
        headers: { "content-type": "application/octet-stream" },
        ca: this.#opts.ca,
      });
    } catch (error) {
      // A peer URL that does not parse, a TLS option node:tls refuses.
      this.#broken(id, { stream: null, error });
      return;
    }
    const s: OutStream = {
      session,
      reused,
      request,
      unacked: [],
      unackedMessages: 0,
    };
    p.stream = s;
    this.#flush(id);
    try {
      const res = await request.response;
      if (res.status !== 200) {
        throw await refusedBy(id, {
          status: res.status,
          reason: res.headers.get("x-raft-refused") ?? null,
          text: () => res.text(),
          path: MESSAGES_PATH,
        });
      }
      if (p.stream !== s) return;
      p.failures = 0;
      p.resent = false;
      session.used = true;
      await this.#readAcks(id, {
        stream: s,
        body: new ReadableStream<Uint8Array>({
          pull: async (c) => {
            const piece = await res.read();
            if (piece === null) c.close();
            else c.enqueue(piece);
          },
        }),
      });
      throw new StreamEndedError(
        `Expected node ${id} to keep its stream open, found it ended`,
        0,
      );
    } catch (error) {
      this.#broken(id, { stream: s, error });
    }
  }

  /** Reads `id`'s acknowledgements of stream `s` until the answer ends. */
  async #readAcks(
    id: NodeId,
    from: { stream: OutStream; body: ReadableStream<Uint8Array> | null },
  ): Promise<void> {
    const s = from.stream;
    const bytes = new StreamBytes(from.body);
    try {
      while (!(await bytes.atEnd())) {
        const verified = await readHeader(bytes, this.#secrets);
        await readBody(bytes, verified);
        const { header } = verified;
        if (
          header.kind !== "ack" || header.clusterId !== this.#opts.clusterId ||
          header.from !== id || header.to !== this.#opts.id ||
          hex(header.session) !== hex(s.session.id)
        ) {
          throw new TransportError(
            `Expected node ${id}'s acknowledgements of our stream, found a ${header.kind} frame from node ${header.from} to node ${header.to}`,
            200,
            "malformed",
          );
        }
        let acked = 0;
        while (acked < s.unacked.length && s.unacked[acked].seq <= header.seq) {
          s.unackedMessages -= s.unacked[acked].messages.length;
          acked++;
        }
        s.unacked.splice(0, acked);
      }
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      throw new StreamEndedError(
        `Expected signed acknowledgements from node ${id}, found: ${error.message}`,
        200,
        error.reason,
      );
    } finally {
      bytes.cancel();
    }
  }

  /**
   * A stream (or the hello before it) failed: close it; resend what it left
   * unacknowledged once, at once, when nothing may have arrived and this
   * is the first failure since a success; otherwise drop it and back off.
   */
  #broken(
    id: NodeId,
    failure: { stream: OutStream | null; error: unknown },
  ): void {
    const { stream: s, error } = failure;
    const p = this.#peers.get(id);
    if (p === undefined || (s !== null && p.stream !== s)) return;
    // What this attempt was to carry: sent and not acknowledged, or queued
    // for it (not what onSendError below may send).
    const lost: Message[] = [];
    if (s !== null) {
      p.stream = null;
      s.request.abort();
      for (const u of s.unacked) lost.push(...u.messages);
    }
    lost.push(...p.queue.splice(0));
    if (this.#closed) return;
    this.#opts.onSendError?.(id, error);
    const forgotten = error instanceof TransportError &&
      error.reason === "session" && s !== null;
    if (forgotten && p.session === s.session) p.session = null;
    if (forgotten && (s.session.used || s.reused)) {
      // The peer restarted since it welcomed this session (it accepted a
      // stream in it, or the session was open before this stream, as one
      // `connect` opened with a peer this node never sent to): it read
      // nothing of this stream. A new session, and everything again, at
      // once, whatever failed before: a peer that was down and came back
      // must get the vote answer it is waiting for. A session refused
      // right after its own hello is not retried this way.
      p.queue.unshift(...lost);
    } else if (!p.resent && p.failures === 0 && undelivered(error)) {
      // Refused or reset before any answer (a peer restarted on a new
      // address, a pooled connection it closed), broken off, or a session
      // the peer forgot (it restarted): the peer may have got nothing, and
      // a vote answer dropped here would cost a whole election timeout.
      // Once, at once, after onSendError had its chance to look the peer
      // up again; not while the peer keeps failing (a name that does not
      // resolve would be looked up twice each time).
      p.resent = true;
      p.queue.unshift(...lost);
    } else {
      p.failures++;
      p.retryAt = this.#clock() + this.#backoff(p.failures);
    }
    this.#flush(id);
  }

  /** Sends the next snapshot queued for `id` on its own request. */
  async #sendSnapshot(id: NodeId, p: PeerLink): Promise<void> {
    const m = p.snapshots.shift()!;
    p.snapshotInflight = true;
    try {
      const session = await this.#session(id, p);
      const frame = encodeFrame({
        kind: "snapshot",
        clusterId: this.#opts.clusterId,
        from: this.#opts.id,
        to: id,
        session: session.id,
        seq: session.nextSeq++,
        nonce: ZERO_ID,
      }, { bytes: encodeMessages([m]), secret: this.#secrets[0] });
      try {
        await this.#request(id, { path: SNAPSHOT_PATH, body: frame });
      } catch (error) {
        if (
          error instanceof TransportError && error.reason === "session" &&
          p.session === session
        ) {
          p.session = null;
        }
        throw error;
      }
    } catch (error) {
      // Raft sends the snapshot again after an election timeout.
      if (!this.#closed) this.#opts.onSendError?.(id, error);
    } finally {
      p.snapshotInflight = false;
      this.#flush(id);
    }
  }

  /** The wait after `failures` failed requests in a row: exponential, with jitter. */
  #backoff(failures: number): number {
    const base = this.#opts.retryDelayMs ?? 50;
    const max = this.#opts.maxRetryDelayMs ?? 1000;
    const nominal = Math.min(max, base * 2 ** Math.min(failures - 1, 30));
    return nominal * (0.5 + 0.5 * this.#random());
  }

  /**
   * `peer` sent a frame or a hello that verified: it is up, so stop backing
   * off, and a failure may again be resent once at once (the resend before
   * may have gone to the peer's previous process).
   */
  heardFrom(peer: NodeId): void {
    const p = this.#peers.get(peer);
    if (p === undefined) return;
    p.resent = false;
    if (p.failures === 0) return;
    p.failures = 0;
    p.retryAt = 0;
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    this.#flush(peer);
  }

  /**
   * `peer` restarted (it said hello again): the session this node sends to
   * it in is one its previous process opened. Forgets it, unless a stream
   * is open or opening (its refusal then does the same), so that the next
   * message (at election time, a vote answer) opens a new session first
   * instead of being refused first. Sends nothing itself: two nodes that
   * took each other's hellos for restarts cannot set each other off.
   */
  renew(peer: NodeId): void {
    const p = this.#peers.get(peer);
    if (p === undefined || p.stream !== null || p.opening) return;
    p.session = null;
  }

  #takeBatch(p: PeerLink): Message[] {
    const batch: Message[] = [];
    let size = 8;
    while (p.queue.length > 0) {
      const s = encodedMessageSize(p.queue[0]);
      if (batch.length > 0 && size + s > this.#maxBody) break;
      size += s;
      batch.push(p.queue.shift()!);
    }
    return batch;
  }

  /** POSTs `body` to `path` on node `id`, with the request timeout. */
  async #request(
    id: NodeId,
    request: { path: string; body: Uint8Array<ArrayBuffer> },
  ): Promise<Response> {
    const base = this.#opts.peerUrl(id);
    if (base === undefined) {
      throw new TransportError(`No address known for node ${id}`, 0);
    }
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.#timeoutMs);
    try {
      const res = await this.#fetch(base + request.path, {
        method: "POST",
        body: request.body,
        signal: abort.signal,
        headers: { "content-type": "application/octet-stream" },
      });
      const ok = request.path === HELLO_PATH ? 200 : 204;
      if (res.status === ok) return res;
      throw await refusedBy(id, {
        status: res.status,
        reason: res.headers.get("x-raft-refused"),
        text: () => res.text(),
        path: request.path,
      });
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
  }

  /** The session this node sends to `id` in, opening one when there is none. */
  #session(id: NodeId, p: PeerLink): Promise<OpenSession> {
    if (p.session !== null) return Promise.resolve(p.session);
    p.hello ??= this.#openSession(id).then(
      (session) => {
        p.hello = null;
        p.session = session;
        return session;
      },
      (error) => {
        p.hello = null;
        throw error;
      },
    );
    return p.hello;
  }

  async #openSession(id: NodeId): Promise<OpenSession> {
    const nonce = randomId();
    const hello = encodeFrame({
      kind: "hello",
      clusterId: this.#opts.clusterId,
      from: this.#opts.id,
      to: id,
      session: ZERO_ID,
      seq: 0,
      nonce,
    }, { bytes: new Uint8Array(0), secret: this.#secrets[0] });
    const res = await this.#request(id, { path: HELLO_PATH, body: hello });
    const bytes = new StreamBytes(res.body);
    let verified: VerifiedHeader;
    try {
      verified = await readHeader(bytes, this.#secrets);
      if (verified.header.bodyLength !== 0) {
        throw new FrameError(
          `Expected an empty welcome, found a body of ${verified.header.bodyLength} bytes`,
          { reason: "malformed", status: 200 },
        );
      }
      await readBody(bytes, verified);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      throw new TransportError(
        `Expected a signed welcome from node ${id}, found: ${error.message}`,
        200,
        error.reason,
      );
    } finally {
      bytes.cancel();
    }
    const { header } = verified;
    if (
      header.kind !== "welcome" || header.clusterId !== this.#opts.clusterId ||
      header.from !== id || header.to !== this.#opts.id ||
      hex(header.nonce) !== hex(nonce)
    ) {
      throw new TransportError(
        `Expected node ${id}'s welcome to our hello, found a ${header.kind} from node ${header.from} to node ${header.to} in cluster ${
          JSON.stringify(header.clusterId)
        }${hex(header.nonce) === hex(nonce) ? "" : " answering another hello"}`,
        200,
        "malformed",
      );
    }
    return { id: header.session, nextSeq: 1, used: false };
  }

  /** Stops sending: queued messages are dropped, streams and requests ended. */
  close(): void {
    this.#closed = true;
    for (const p of this.#peers.values()) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.queue.length = 0;
      p.snapshots.length = 0;
      const s = p.stream;
      p.stream = null;
      s?.request.abort();
    }
    for (const a of this.#aborts) a.abort();
  }
}

/** The error a peer's refusal (not the expected status) stands for. */
async function refusedBy(
  id: NodeId,
  answer: {
    status: number;
    reason: string | null;
    text: () => Promise<string>;
    path: string;
  },
): Promise<TransportError> {
  const { status, path } = answer;
  const text = await answer.text();
  if (status === 404 && path === HELLO_PATH) {
    return new TransportError(
      `Expected node ${id} to speak Raft wire format version ${WIRE_VERSION} (POST ${HELLO_PATH}), found 404: it runs another version, such as k8s-operator 0.1.0 (wire format version ${LEGACY_WIRE_VERSION}) or an unreleased 0.2 build (version ${PREVIOUS_WIRE_VERSION}), or is no Raft endpoint`,
      404,
      "version",
    );
  }
  const reason = REASONS.has(answer.reason ?? "")
    ? answer.reason as RefusalReason
    : null;
  return new TransportError(
    `Expected node ${id} to accept, found ${status}: ${text}`,
    status,
    reason,
  );
}
