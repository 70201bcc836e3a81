/**
 * The HTTP transport between Raft nodes: the endpoints under `/raft/v3/`
 * served through the platform module, and a `fetch` client that keeps one
 * long-lived streaming request per peer.
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
import {
  CodecError,
  decodeMessages,
  encodedMessageSize,
  encodeMessages,
} from "./_codec.ts";
import {
  encodeFrame,
  FrameError,
  type FrameHeader,
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
import { SessionTable } from "./_sessions.ts";
import { StreamRequest } from "./_stream_client.ts";
import { trace, tracedIndex, tracing } from "./_trace.ts";
import type { Message, NodeId } from "./types.ts";

export type { RefusalReason } from "./_frame.ts";

/** The path a sender opens a session on. */
export const HELLO_PATH = "/raft/v3/hello";
/**
 * The path of the endpoint that takes a stream of frames of small messages
 * (one request per peer that stays open) and answers with acknowledgements.
 */
export const MESSAGES_PATH = "/raft/v3/messages";
/** The path of the endpoint that takes one snapshot message. */
export const SNAPSHOT_PATH = "/raft/v3/snapshot";

/**
 * How long a receiver waits after delivering a frame before it acknowledges
 * it (with every frame delivered meanwhile): acknowledgements keep a stream
 * known to be alive and bound what a broken stream resends, and need not
 * be prompt.
 */
const ACK_DELAY_MS = 10;

/**
 * Options of an {@linkcode HttpTransport}.
 *
 * @example
 * ```ts
 * import { HttpTransport, type HttpTransportOptions, type RaftNode } from "@k8s-operator/k8s-operator/raft";
 * declare const node: RaftNode;
 * const options: HttpTransportOptions = {
 *   id: 1,
 *   clusterId: "my-operator",
 *   secret: "0123456789abcdef", // the same on every member, e.g. from a Secret
 *   peerUrl: (id) => id <= 2 ? `http://my-operator-${id}.my-operator:7000` : undefined,
 *   onMessages: (messages) => node.receive(messages),
 *   requestTimeoutMs: 1000,
 * };
 * const transport = new HttpTransport(options);
 * ```
 */
export interface HttpTransportOptions {
  /** This node's id; requests addressed to another node are refused. */
  id: NodeId;
  /** The cluster's id; requests from another cluster are refused. */
  clusterId: string;
  /** The shared secret every member of the cluster is given: it signs, and is accepted. */
  secret: string;
  /**
   * More secrets accepted from peers, never used to sign: during a
   * rotation, the old secret (or the next one); see `deploy/README.md`.
   */
  acceptedSecrets?: readonly string[];
  /**
   * The base URL (`http://host:port`) of a peer, or `undefined` for a node
   * that is not a known peer. Called for every send and every received
   * request, so it may follow membership and discovery.
   */
  peerUrl: (id: NodeId) => string | undefined;
  /** Receives the messages of each accepted request, in order. */
  onMessages: (messages: Message[]) => void;
  /** Largest accepted body of a message batch (default 4 MiB). */
  maxBodyBytes?: number;
  /** Largest accepted snapshot body (default 256 MiB). */
  maxSnapshotBytes?: number;
  /**
   * Frame bodies read at once from all peers (default 16); one more is
   * refused with 503 before a byte of it is read (on a stream, the stream
   * ends). Snapshot bodies are read one at a time.
   */
  maxConcurrentBodies?: number;
  /** Frame bodies read at once from one peer (default 4). */
  maxConcurrentBodiesPerPeer?: number;
  /**
   * Messages queued for a peer, or sent on its stream and not yet
   * acknowledged, beyond which the peer counts as stalled: the oldest queued
   * are dropped, and a stream that far behind is closed (default 10000).
   */
  maxQueue?: number;
  /**
   * Abandon a hello or snapshot request after this many milliseconds, and
   * close a stream whose oldest unacknowledged frame is this old
   * (default 2000).
   */
  requestTimeoutMs?: number;
  /**
   * After a failure (a request or stream refused, broken or timed out),
   * wait this long before opening the next one to that peer (default 50),
   * doubling with each further failure up to `maxRetryDelayMs`, each wait
   * drawn between half and all of it. A stream the peer accepts, or a frame
   * from the peer, ends the backoff. After the first failure since the
   * last success that may have delivered nothing (a connection refused or
   * reset, a stream broken off, a session the peer no longer knows), what
   * was not acknowledged is sent again at once on a new stream.
   */
  retryDelayMs?: number;
  /** The longest wait between two failed requests to a peer (default 1000). */
  maxRetryDelayMs?: number;
  /**
   * The HTTP client of hellos and snapshots (default: the global `fetch`),
   * e.g. one with a custom CA. Streams of messages open their own
   * connections (`node:net`, `node:tls` for `https:` peers, trusting `ca`).
   */
  fetch?: typeof fetch;
  /**
   * PEM certificates of the CAs that sign `https:` peers' certificates, for
   * the streams (default: the system's); give `fetch` the same.
   */
  ca?: string | string[];
  /** A monotonic clock in milliseconds for the backoff (default `performance.now`). */
  clock?: () => number;
  /** Randomness in `[0, 1)` for the backoff's jitter (default `Math.random`). */
  random?: () => number;
  /** Called when a request to a peer fails (for logs and metrics). */
  onSendError?: (peer: NodeId, error: unknown) => void;
  /** Called for each request this node refuses (for logs and metrics). */
  onRefused?: (refusal: TransportRefusal) => void;
}

/**
 * A request {@linkcode HttpTransport} refused, as `onRefused` reports it.
 *
 * @example Counting refusals by reason
 * ```ts
 * import type { HttpTransportOptions, TransportRefusal } from "@k8s-operator/k8s-operator/raft";
 * const counts = new Map<string, number>();
 * const onRefused: HttpTransportOptions["onRefused"] = (r: TransportRefusal) => {
 *   counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
 *   if (r.reason === "version") console.warn(r.message); // names both versions
 * };
 * ```
 */
export interface TransportRefusal {
  /** Why, as a machine-readable word (also the `x-raft-refused` header). */
  reason: RefusalReason;
  /** The HTTP status it was answered with. */
  status: number;
  /**
   * The sender the request names, or `null` when it could not be read; not
   * authenticated when the reason is `version`, `malformed` or `signature`.
   */
  peer: NodeId | null;
  /** Says what was expected and what was found. */
  message: string;
}

/**
 * Where the transport listens.
 *
 * @example
 * ```ts
 * import type { HttpTransport, ListenOptions } from "@k8s-operator/k8s-operator/raft";
 * declare const transport: HttpTransport;
 * // Tests: a free port on loopback.
 * const local: ListenOptions = { port: 0, hostname: "127.0.0.1" };
 * const port = await transport.listen(local);
 * console.log(`raft on ${port}`);
 * // Production, with TLS: { port: 7000, tls: { cert, key } } (PEM strings).
 * ```
 */
export interface ListenOptions {
  /** The port; `0` picks a free one. */
  port: number;
  /** The address (default `0.0.0.0`). */
  hostname?: string;
  /** PEM certificate and key to serve HTTPS. */
  tls?: { cert: string; key: string };
}

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

/** A stream from a peer, as its receiver reads it. */
interface InStream {
  peer: NodeId;
  /** Ends it: stops reading, acknowledges what arrived, closes the answer. */
  end: () => void;
}

/**
 * Raised by {@linkcode HttpTransport} when a peer refuses a request.
 *
 * @example Reporting refused requests
 * ```ts
 * import { type HttpTransportOptions, TransportError } from "@k8s-operator/k8s-operator/raft";
 * const onSendError: HttpTransportOptions["onSendError"] = (peer, error) => {
 *   if (error instanceof TransportError && error.reason === "signature") {
 *     console.error(`node ${peer} refused our signature: check the shared secret`);
 *   } else if (error instanceof TransportError && error.reason === "version") {
 *     console.error(error.message); // names both wire format versions
 *   } else if (error instanceof TransportError && error.status === 0) {
 *     console.error(`no address known for node ${peer}`);
 *   }
 * };
 * ```
 */
export class TransportError extends Error {
  /** The HTTP status the peer answered with (0 when none arrived). */
  readonly status: number;
  /** The peer's reason (its `x-raft-refused` header), or `null`. */
  readonly reason: RefusalReason | null;
  /** Describes the failure. */
  constructor(
    message: string,
    status: number,
    reason: RefusalReason | null = null,
  ) {
    super(message);
    this.name = "TransportError";
    this.status = status;
    this.reason = reason;
  }
}

/**
 * A stream the peer had accepted ended or broke off: what it did not
 * acknowledge may not have arrived.
 */
class StreamEndedError extends TransportError {}

function parseId(text: string | null): NodeId | null {
  if (text === null || !/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

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
]);

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
 * @example
 * ```ts ignore
 * const transport = new HttpTransport({
 *   id: 0,
 *   clusterId: "my-operator",
 *   secret: "s3cret",
 *   peerUrl: (id) => urls.get(id),
 *   onMessages: (messages) => node.receive(messages),
 * });
 * await transport.listen({ port: 7000 });
 * transport.send([message]);
 * ```
 */
export class HttpTransport {
  readonly #opts: HttpTransportOptions;
  readonly #secrets: readonly string[];
  readonly #maxBody: number;
  readonly #maxSnapshot: number;
  readonly #maxQueue: number;
  readonly #timeoutMs: number;
  readonly #peers = new Map<NodeId, PeerLink>();
  readonly #sessions = new SessionTable();
  readonly #slots: BodySlots;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #fetch: typeof fetch;
  /** The stream being read from each peer (a newer one ends the older). */
  readonly #incoming = new Map<NodeId, InStream>();
  /** Request bodies being read by `handle` (cancelled by `close`). */
  readonly #reading = new Set<StreamBytes>();
  #server: HttpServer | null = null;
  #closed = false;
  readonly #aborts = new Set<AbortController>();

  /** Creates a transport; call {@linkcode HttpTransport.listen} to receive. */
  constructor(options: HttpTransportOptions) {
    this.#opts = options;
    this.#secrets = [
      options.secret,
      ...(options.acceptedSecrets ?? []).filter((s) => s !== options.secret),
    ];
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.#maxSnapshot = options.maxSnapshotBytes ?? 256 * 1024 * 1024;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#timeoutMs = options.requestTimeoutMs ?? 2000;
    this.#slots = new BodySlots(
      options.maxConcurrentBodies ?? 16,
      options.maxConcurrentBodiesPerPeer ?? 4,
    );
    this.#clock = options.clock ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
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
    try {
      return await this.#handle(request, bytes);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      bytes.cancel();
      this.#refused(error);
      return refusal(error);
    } finally {
      this.#reading.delete(bytes);
    }
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
    this.#heardFrom(header.from);
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
          const f = await this.#readFrame(bytes, {
            kind: "messages",
            peer,
            session,
          });
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
    const session = this.#sessions.open(header.from, header.nonce);
    if (session === null) {
      throw new FrameError(
        "Expected a new hello, found one this node answered before",
        { reason: "replay", status: 409, peer: header.from },
      );
    }
    this.#heardFrom(header.from);
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

  // ------------------------------------------------------------ sending

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
    if (forgotten && s.session.used) {
      // The peer restarted since it accepted this session: it read nothing
      // of this stream. A new session, and everything again, at once.
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

  /** `peer` sent a frame that verified: it is up, so stop backing off. */
  #heardFrom(peer: NodeId): void {
    const p = this.#peers.get(peer);
    if (p === undefined || p.failures === 0) return;
    p.failures = 0;
    p.retryAt = 0;
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    this.#flush(peer);
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

  /** Stops sending and receiving; queued messages are dropped. */
  async close(): Promise<void> {
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
