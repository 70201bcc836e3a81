/**
 * The HTTP transport between Raft nodes: the endpoints under `/raft/v3/`
 * served through the platform module, and the sending side (`_sender.ts`)
 * that keeps one long-lived streaming request open to each peer.
 *
 * Every frame is authenticated (wire format version 3, `_frame.ts`;
 * documented in `raft/README.md`): a small header (version, cluster id,
 * sender, receiver, session, sequence number, body length) with an
 * HMAC-SHA256 keyed with the cluster's shared secret, then the body with its
 * own HMAC. The receiver verifies a header before it reads a byte of its
 * body, verifies the body's MAC as it streams in, and hands messages to the
 * node only after both verified. A sender first opens a session with a
 * hello; the receiver draws the session id, and accepts each sequence
 * number of a session once, so a captured frame replayed later, even after
 * either node restarted, is refused. The secret itself never travels.
 *
 * Messages to a peer travel as frames on one request body that stays open
 * (`POST /raft/v3/messages`, chunked): what the node hands over is framed
 * and written at once, without waiting for an answer, so appends pipeline
 * and no request is paid per batch. The receiver answers with a stream of
 * signed acknowledgements, which tell the sender what arrived (it resends
 * the rest once when a stream breaks) and that the stream is alive.
 *
 * @module
 */
import { serve } from "../platform/mod.ts";
import type { HttpServer } from "../platform/mod.ts";
import { CodecError, decodeMessages } from "./_codec.ts";
import {
  encodeFrame,
  FrameError,
  type FrameHeader,
  hex,
  LEGACY_WIRE_VERSION,
  PREVIOUS_WIRE_VERSION,
  readBody,
  readHeader,
  StreamBytes,
  type VerifiedHeader,
  WIRE_VERSION,
  ZERO_ID,
} from "./_frame.ts";
import { HELLO_PATH, MESSAGES_PATH, Sender, SNAPSHOT_PATH } from "./_sender.ts";
import { SessionTable } from "./_sessions.ts";
import { trace, tracedIndex, tracing } from "./_trace.ts";
import type { Message, NodeId } from "./types.ts";
import type { HttpTransportOptions, ListenOptions } from "./transport_types.ts";

export type { RefusalReason } from "./_frame.ts";
export * from "./transport_types.ts";
export { HELLO_PATH, MESSAGES_PATH, SNAPSHOT_PATH };

/**
 * How long a receiver waits after delivering a frame before it acknowledges
 * it (with every frame delivered meanwhile): acknowledgements keep a stream
 * known to be alive and bound what a broken stream resends, and need not
 * be prompt.
 */
const ACK_DELAY_MS = 10;

/** A stream from a peer, as its receiver reads it. */
interface InStream {
  peer: NodeId;
  /** Ends it: stops reading, acknowledges what arrived, closes the answer. */
  end: () => void;
}

function parseId(text: string | null): NodeId | null {
  if (text === null || !/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

function refusal(error: FrameError): Response {
  return new Response(error.message, {
    status: error.status,
    headers: { "content-type": "text/plain", "x-raft-refused": error.reason },
  });
}

/** Counts bodies being read, overall, per peer and of snapshots. */
class BodySlots {
  readonly #max: number;
  readonly #maxPerPeer: number;
  readonly #perPeer = new Map<NodeId, number>();
  #total = 0;
  #snapshots = 0;

  constructor(max: number, maxPerPeer: number) {
    this.#max = max;
    this.#maxPerPeer = maxPerPeer;
  }

  /** Takes a slot, or returns why none is free. */
  take(peer: NodeId, snapshot: boolean): string | null {
    const mine = this.#perPeer.get(peer) ?? 0;
    if (this.#total >= this.#max) {
      return `Expected at most ${this.#max} bodies read at once, found that many in progress`;
    }
    if (mine >= this.#maxPerPeer) {
      return `Expected at most ${this.#maxPerPeer} bodies from node ${peer} at once, found that many in progress`;
    }
    if (snapshot && this.#snapshots >= 1) {
      return "Expected one snapshot body at a time, found one in progress";
    }
    this.#total++;
    this.#perPeer.set(peer, mine + 1);
    if (snapshot) this.#snapshots++;
    return null;
  }

  give(peer: NodeId, snapshot: boolean): void {
    this.#total--;
    this.#perPeer.set(peer, (this.#perPeer.get(peer) ?? 1) - 1);
    if (snapshot) this.#snapshots--;
  }
}

const KIND_OF_PATH: Record<string, FrameHeader["kind"]> = {
  [HELLO_PATH]: "hello",
  [MESSAGES_PATH]: "messages",
  [SNAPSHOT_PATH]: "snapshot",
};

/**
 * Sends Raft messages to peers over HTTP and receives theirs.
 *
 * Messages to one peer go out as frames on one long-lived streaming request
 * (`POST /raft/v3/messages`): what the node hands over in one turn of the
 * event loop becomes one frame, written at once, whatever is still in
 * flight, so appends pipeline and no request is paid per batch. The peer
 * answers the stream with signed acknowledgements. Snapshots travel alone
 * on their own requests (`/raft/v3/snapshot`) with a larger size limit.
 *
 * When a stream fails before the peer accepted it, or breaks off (a
 * connection refused or reset: a peer that restarted elsewhere; a session
 * the peer forgot), what it did not acknowledge is sent once more at once
 * on a new stream, after `onSendError` (which may look the peer up again).
 * Otherwise (a refusal, a stream left unacknowledged for
 * `requestTimeoutMs`, the resend failing too) those messages are dropped
 * (Raft resends what matters) and that peer is backed off:
 * `retryDelayMs`, doubling per failure in a row up to `maxRetryDelayMs`,
 * with jitter, until a stream is accepted or the peer is heard from. So a
 * peer whose name does not resolve (a pod stuck Pending) costs about one
 * lookup a second, not one per heartbeat; call
 * {@linkcode HttpTransport.connect} when a node starts, so that peers
 * backing off from it hear from it at once.
 *
 * @example Two transports on loopback: node 0 sends node 1 a heartbeat
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpTransport, type Message } from "@k8s-operator/k8s-operator/raft";
 * const ports = new Map<number, number>();
 * const transport = (id: number, onMessages: (messages: Message[]) => void) =>
 *   new HttpTransport({
 *     id,
 *     clusterId: "my-operator",
 *     secret: "0123456789abcdef", // the same on every member
 *     peerUrl: (peer) => ports.has(peer) ? `http://127.0.0.1:${ports.get(peer)}` : undefined,
 *     onMessages, // in a node: (messages) => node.receive(messages)
 *   });
 * const received = Promise.withResolvers<Message[]>();
 * const zero = transport(0, () => {});
 * const one = transport(1, received.resolve);
 * // Each listens, and knows where the other does: requests from a peer it
 * // cannot address are refused.
 * ports.set(0, await zero.listen({ port: 0, hostname: "127.0.0.1" }));
 * ports.set(1, await one.listen({ port: 0, hostname: "127.0.0.1" }));
 * zero.send([{
 *   type: "heartbeat", from: 0, to: 1, term: 3, logTerm: 0, index: 120,
 *   commit: 41, entries: [], reject: false, rejectHint: 0, snapshot: null,
 * }]);
 * const [heartbeat] = await received.promise;
 * assert.equal(heartbeat.type, "heartbeat");
 * assert.equal(heartbeat.commit, 41);
 * await zero.close();
 * await one.close();
 * ```
 */
export class HttpTransport {
  readonly #opts: HttpTransportOptions;
  readonly #secrets: readonly string[];
  readonly #maxBody: number;
  readonly #maxSnapshot: number;
  readonly #timeoutMs: number;
  readonly #bodyTimeoutMs: number;
  readonly #sessions = new SessionTable();
  readonly #slots: BodySlots;
  /** The stream being read from each peer (a newer one ends the older). */
  readonly #incoming = new Map<NodeId, InStream>();
  /** Request bodies being read by `handle` (cancelled by `close`). */
  readonly #reading = new Set<StreamBytes>();
  readonly #sender: Sender;
  #server: HttpServer | null = null;
  #closed = false;

  /** Creates a transport; call {@linkcode HttpTransport.listen} to receive. */
  constructor(options: HttpTransportOptions) {
    this.#opts = options;
    this.#secrets = [
      options.secret,
      ...(options.acceptedSecrets ?? []).filter((s) => s !== options.secret),
    ];
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.#maxSnapshot = options.maxSnapshotBytes ?? 256 * 1024 * 1024;
    this.#timeoutMs = options.requestTimeoutMs ?? 2000;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ??
      Math.max(5_000, 2 * this.#timeoutMs);
    this.#slots = new BodySlots(
      options.maxConcurrentBodies ?? 16,
      options.maxConcurrentBodiesPerPeer ?? 4,
    );
    this.#sender = new Sender(options, {
      secrets: this.#secrets,
      maxBody: this.#maxBody,
    });
  }

  /** Starts the HTTP server; resolves with the port it listens on. */
  async listen(options: ListenOptions): Promise<number> {
    this.#server = await serve((req) => this.handle(req), {
      port: options.port,
      hostname: options.hostname,
      tls: options.tls,
    });
    return this.#server.port;
  }

  /** The port listened on, or `null` before {@linkcode HttpTransport.listen}. */
  get port(): number | null {
    return this.#server?.port ?? null;
  }

  /**
   * Handles one request to the `/raft/v3/` endpoints (and refuses those of
   * earlier wire versions, naming both). A stream of messages is answered
   * once its first frame is delivered, with a body of acknowledgements that
   * ends when the request does; its later frames are read meanwhile. Public
   * so that a server of your own can mount it;
   * {@linkcode HttpTransport.listen} uses it.
   */
  async handle(request: Request): Promise<Response> {
    const bytes = new StreamBytes(request.body);
    this.#reading.add(bytes);
    // The request (a stream: its first frame) must arrive whole in time.
    const disarm = bytes.within(this.#bodyTimeoutMs, () => this.#late());
    try {
      return await this.#handle(request, bytes);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      bytes.cancel();
      this.#refused(error);
      return refusal(error);
    } finally {
      disarm();
      this.#reading.delete(bytes);
    }
  }

  /** The refusal of a request or frame that did not arrive in time. */
  #late(): FrameError {
    return new FrameError(
      `Expected the request's body within ${this.#bodyTimeoutMs} ms, found it still arriving: the sender stalled or trickles it`,
      { reason: "timeout", status: 408 },
    );
  }

  #refused(error: FrameError): void {
    this.#opts.onRefused?.({
      reason: error.reason,
      status: error.status,
      peer: error.peer,
      message: error.message,
    });
  }

  async #handle(request: Request, bytes: StreamBytes): Promise<Response> {
    const path = new URL(request.url).pathname;
    for (
      const [version, prefix, who] of [
        [LEGACY_WIRE_VERSION, "/raft/v1/", "k8s-operator 0.1.0"],
        [PREVIOUS_WIRE_VERSION, "/raft/v2/", "unreleased 0.2 builds"],
      ] as const
    ) {
      if (!path.startsWith(prefix)) continue;
      const from = parseId(request.headers.get("x-raft-from"));
      throw new FrameError(
        `Expected Raft wire format version ${WIRE_VERSION} (POST /raft/v${WIRE_VERSION}/…), found wire format version ${version} (POST ${path}, ${who})${
          from === null ? "" : ` from node ${from}`
        }: run the same version on every member`,
        { reason: "version", status: 400, peer: from },
      );
    }
    const kind = KIND_OF_PATH[path];
    if (kind === undefined) {
      throw new FrameError(
        `Expected a path under /raft/v${WIRE_VERSION}/, found ${path}`,
        { reason: "path", status: 404 },
      );
    }
    if (request.method !== "POST") {
      throw new FrameError(`Expected POST, found ${request.method}`, {
        reason: "method",
        status: 405,
      });
    }
    if (kind === "hello") return await this.#hello(bytes);
    if (kind === "snapshot") {
      const { header, messages } = await this.#readFrame(bytes, {
        kind,
        alone: true,
      });
      this.#deliver(header, messages);
      return new Response(null, { status: 204 });
    }
    return this.#stream(bytes);
  }

  /**
   * Reads, checks and decodes one frame of `expect.kind` from `bytes`
   * (of `expect.peer` in `expect.session`, on a stream past its first);
   * `alone`: the request must end after it. Throws {@linkcode FrameError}.
   */
  async #readFrame(
    bytes: StreamBytes,
    expect: {
      kind: FrameHeader["kind"];
      alone?: boolean;
      peer?: NodeId;
      session?: Uint8Array;
    },
  ): Promise<{ header: FrameHeader; messages: Message[] }> {
    const verified = await readHeader(bytes, this.#secrets);
    const arrivedAt = tracing() ? performance.now() : 0;
    try {
      return await this.#readAfterHeader(bytes, {
        ...expect,
        verified,
        arrivedAt,
      });
    } catch (error) {
      // Read after a verified header: the refusal names its sender.
      if (!(error instanceof FrameError) || error.peer !== null) throw error;
      throw new FrameError(error.message, {
        reason: error.reason,
        status: error.status,
        peer: verified.header.from,
      });
    }
  }

  async #readAfterHeader(
    bytes: StreamBytes,
    expect: {
      kind: FrameHeader["kind"];
      alone?: boolean;
      peer?: NodeId;
      session?: Uint8Array;
      verified: VerifiedHeader;
      arrivedAt: number;
    },
  ): Promise<{ header: FrameHeader; messages: Message[] }> {
    const { verified, arrivedAt } = expect;
    const { header } = verified;
    this.#checkAddress(header, expect.kind);
    if (
      expect.session !== undefined &&
      (header.from !== expect.peer ||
        hex(header.session) !== hex(expect.session))
    ) {
      throw new FrameError(
        `Expected every frame of a stream from node ${expect.peer} in the session of its first, found one from node ${header.from} in another`,
        { reason: "malformed", status: 400, peer: header.from },
      );
    }
    const snapshot = expect.kind === "snapshot";
    const limit = snapshot ? this.#maxSnapshot : this.#maxBody;
    if (header.bodyLength > limit) {
      throw new FrameError(
        `Expected a body of at most ${limit} bytes, found ${header.bodyLength} declared`,
        { reason: "too-large", status: 413, peer: header.from },
      );
    }
    const at = { session: header.session, seq: header.seq };
    const reserved = this.#sessions.reserve(header.from, at);
    if (reserved !== "ok") {
      throw reserved === "replay"
        ? new FrameError(
          `Expected a frame not accepted before, found sequence number ${header.seq} of this session again`,
          { reason: "replay", status: 409, peer: header.from },
        )
        : new FrameError(
          "Expected a session this node opened, found an unknown one: open a new session",
          { reason: "session", status: 409, peer: header.from },
        );
    }
    const busy = this.#slots.take(header.from, snapshot);
    if (busy !== null) {
      this.#sessions.release(header.from, at);
      throw new FrameError(busy, {
        reason: "busy",
        status: 503,
        peer: header.from,
      });
    }
    let messages: Message[];
    try {
      let body: Uint8Array;
      try {
        body = await readBody(bytes, verified);
        if (expect.alone && !(await bytes.atEnd())) {
          throw new FrameError(
            `Expected the request to end after a body of ${header.bodyLength} bytes, found more`,
            { reason: "too-large", status: 413, peer: header.from },
          );
        }
      } catch (error) {
        this.#sessions.release(header.from, at);
        throw error;
      }
      this.#sessions.commit(header.from, at);
      messages = this.#decode(body, header);
    } finally {
      this.#slots.give(header.from, snapshot);
    }
    if (tracing()) {
      const index = tracedIndex(messages);
      if (index >= 0) {
        const peer = header.from;
        trace(this.#opts.id, "arrived", { index, peer, at: arrivedAt });
        trace(this.#opts.id, "verified", { index, peer });
      }
    }
    return { header, messages };
  }

  #deliver(header: FrameHeader, messages: Message[]): void {
    this.#sender.heardFrom(header.from);
    if (messages.length > 0) this.#opts.onMessages(messages);
  }

  /**
   * A stream of message frames: the first is read and delivered before the
   * answer (so a refused first frame is answered with its status), the
   * rest as they arrive, each acknowledged on the answer's body.
   */
  async #stream(bytes: StreamBytes): Promise<Response> {
    const first = await this.#readFrame(bytes, { kind: "messages" });
    const { from: peer, session } = first.header;
    this.#deliver(first.header, first.messages);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let top = first.header.seq;
    let acked = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let ended = false;
    const ack = () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (top <= acked) return;
      acked = top;
      controller.enqueue(encodeFrame({
        kind: "ack",
        clusterId: this.#opts.clusterId,
        from: this.#opts.id,
        to: peer,
        session,
        seq: top,
        nonce: ZERO_ID,
      }, { bytes: new Uint8Array(0), secret: this.#secrets[0] }));
    };
    const stream: InStream = {
      peer,
      end: () => {
        if (ended) return;
        ended = true;
        bytes.cancel();
        try {
          ack();
          controller.close();
        } catch {
          // The answer was already broken off.
        }
        if (this.#incoming.get(peer) === stream) this.#incoming.delete(peer);
      },
    };
    const acks = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        ended = true;
        if (timer !== null) clearTimeout(timer);
        bytes.cancel();
        if (this.#incoming.get(peer) === stream) this.#incoming.delete(peer);
      },
    });
    // A sender keeps one stream to a peer: a newer one replaces the older,
    // which is then dead or abandoned (its connection may never report it).
    this.#incoming.get(peer)?.end();
    this.#incoming.set(peer, stream);
    timer = setTimeout(ack, ACK_DELAY_MS);
    (async () => {
      try {
        while (!ended && !(await atBoundaryEnd(bytes))) {
          // A frame has begun: it must arrive whole in time.
          const disarm = bytes.within(this.#bodyTimeoutMs, () => this.#late());
          const f = await this.#readFrame(bytes, {
            kind: "messages",
            peer,
            session,
          }).finally(disarm);
          if (ended) return;
          this.#deliver(f.header, f.messages);
          top = Math.max(top, f.header.seq);
          timer ??= setTimeout(ack, ACK_DELAY_MS);
        }
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        if (!ended) this.#refused(error);
      } finally {
        stream.end();
      }
    })().catch((error) => {
      console.error(`Raft stream from node ${peer} failed:`, error);
    });
    return new Response(acks, {
      status: 200,
      headers: { "content-type": "application/octet-stream" },
    });
  }

  #checkAddress(header: FrameHeader, kind: FrameHeader["kind"]): void {
    const peer = header.from;
    if (header.kind !== kind) {
      throw new FrameError(
        `Expected a ${kind} frame on this path, found a ${header.kind} frame`,
        { reason: "malformed", status: 400, peer },
      );
    }
    if (header.clusterId !== this.#opts.clusterId) {
      throw new FrameError(
        `Expected cluster id ${JSON.stringify(this.#opts.clusterId)}, found ${
          JSON.stringify(header.clusterId)
        }`,
        { reason: "cluster", status: 403, peer },
      );
    }
    if (header.to !== this.#opts.id) {
      throw new FrameError(
        `Expected frames for node ${this.#opts.id}, found one for node ${header.to}`,
        { reason: "receiver", status: 403, peer },
      );
    }
    if (peer === this.#opts.id || this.#opts.peerUrl(peer) === undefined) {
      throw new FrameError(`Expected a known peer, found node ${peer}`, {
        reason: "sender",
        status: 403,
        peer,
      });
    }
  }

  async #hello(bytes: StreamBytes): Promise<Response> {
    const verified = await readHeader(bytes, this.#secrets);
    try {
      return await this.#welcome(bytes, verified);
    } catch (error) {
      if (!(error instanceof FrameError) || error.peer !== null) throw error;
      throw new FrameError(error.message, {
        reason: error.reason,
        status: error.status,
        peer: verified.header.from,
      });
    }
  }

  async #welcome(
    bytes: StreamBytes,
    verified: VerifiedHeader,
  ): Promise<Response> {
    const { header } = verified;
    this.#checkAddress(header, "hello");
    if (header.bodyLength !== 0) {
      throw new FrameError(
        `Expected an empty hello, found a body of ${header.bodyLength} bytes`,
        { reason: "malformed", status: 400, peer: header.from },
      );
    }
    await readBody(bytes, verified);
    if (!(await bytes.atEnd())) {
      throw new FrameError(
        "Expected the request to end after the hello, found more",
        { reason: "too-large", status: 413, peer: header.from },
      );
    }
    // A peer that said hello before and says it again lost its sessions: it
    // restarted, and forgot the session this node sends to it in too.
    const again = this.#sessions.knows(header.from);
    const session = this.#sessions.open(header.from, header.nonce);
    if (session === null) {
      throw new FrameError(
        "Expected a new hello, found one this node answered before",
        { reason: "replay", status: 409, peer: header.from },
      );
    }
    this.#sender.heardFrom(header.from);
    if (again) this.#sender.renew(header.from);
    const welcome = encodeFrame({
      kind: "welcome",
      clusterId: this.#opts.clusterId,
      from: this.#opts.id,
      to: header.from,
      session,
      seq: 0,
      nonce: header.nonce,
    }, { bytes: new Uint8Array(0), secret: this.#secrets[0] });
    return new Response(welcome, {
      status: 200,
      headers: { "content-type": "application/octet-stream" },
    });
  }

  #decode(body: Uint8Array, header: FrameHeader): Message[] {
    const peer = header.from;
    let messages: Message[];
    try {
      messages = decodeMessages(body);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      throw new FrameError(error.message, {
        reason: "malformed",
        status: 400,
        peer,
      });
    }
    const snapshot = header.kind === "snapshot";
    for (const m of messages) {
      if (m.from !== header.from || m.to !== header.to) {
        throw new FrameError(
          `Expected messages from node ${header.from} to node ${header.to}, found one from ${m.from} to ${m.to}`,
          { reason: "malformed", status: 400, peer },
        );
      }
      if ((m.type === "snapshot") !== snapshot) {
        throw new FrameError(
          "Expected snapshots alone on the snapshot endpoint and nowhere else",
          { reason: "malformed", status: 400, peer },
        );
      }
    }
    if (snapshot && messages.length !== 1) {
      throw new FrameError(
        `Expected exactly one snapshot message, found ${messages.length}`,
        { reason: "malformed", status: 400, peer },
      );
    }
    return messages;
  }

  /**
   * Queues messages for their receivers; never blocks, never throws. What
   * is queued for a peer in one turn of the event loop goes out as one
   * frame.
   */
  send(messages: readonly Message[]): void {
    if (!this.#closed) this.#sender.send(messages);
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
    if (!this.#closed) this.#sender.connect(peers);
  }

  /** Stops sending and receiving; queued messages are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sender.close();
    for (const s of [...this.#incoming.values()]) s.end();
    for (const bytes of this.#reading) bytes.cancel();
    await this.#server?.shutdown();
  }
}

/**
 * Whether a stream has ended between two frames: a sender that closes or
 * breaks its stream there (a restart, a stream it gave up on) did nothing
 * wrong. A stream broken off inside a frame is refused as malformed.
 */
async function atBoundaryEnd(bytes: StreamBytes): Promise<boolean> {
  try {
    return await bytes.atEnd();
  } catch (error) {
    if (error instanceof FrameError) return true;
    throw error;
  }
}
