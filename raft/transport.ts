/**
 * The HTTP transport between Raft nodes: the endpoints under `/raft/v2/`
 * served through the platform module, and a `fetch` client that batches
 * messages per peer.
 *
 * Every request body is one authenticated frame (wire format version 2,
 * `_frame.ts`; documented in `raft/README.md`): a small header (version,
 * cluster id, sender, receiver, session, sequence number, body length)
 * with an HMAC-SHA256 keyed with the cluster's shared secret, then the body
 * with its own HMAC. The receiver verifies the header before it reads a byte
 * of the body, verifies the body's MAC as it streams in, and hands messages
 * to the node only after both verified. A sender first opens a session with
 * a hello; the receiver draws the session id, and accepts each sequence
 * number of a session once, so a captured request replayed later, even after
 * either node restarted, is refused. The secret itself never travels.
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
import type { Message, NodeId } from "./types.ts";

import {
  type HttpTransportOptions,
  type ListenOptions,
  TransportError,
} from "./transport_types.ts";

export type { RefusalReason } from "./_frame.ts";
export * from "./transport_types.ts";

/** The path a sender opens a session on. */
export const HELLO_PATH = "/raft/v2/hello";
/** The path of the endpoint that takes batches of small messages. */
export const MESSAGES_PATH = "/raft/v2/messages";
/** The path of the endpoint that takes one snapshot message. */
export const SNAPSHOT_PATH = "/raft/v2/snapshot";

/** A session this node opened with a peer: frames are numbered in it. */
interface OpenSession {
  id: Uint8Array;
  nextSeq: number;
}

interface PeerQueue {
  queue: Message[];
  /** A batch whose request failed before any answer: sent next, once. */
  resend: Message[] | null;
  inflight: number;
  /** Requests that failed in a row (the backoff's exponent). */
  failures: number;
  retryAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  session: OpenSession | null;
  hello: Promise<OpenSession> | null;
}

function parseId(text: string | null): NodeId | null {
  if (text === null || !/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Whether a failed request delivered nothing and was not abandoned: a
 * connection refused or reset (`fetch` rejects with a `TypeError`), or a
 * peer that no longer knows the session (it restarted; it read no body).
 * Not a peer's other refusals, nor our own timeout (an `AbortError`, after
 * which the peer may well have the batch).
 */
function undelivered(error: unknown): boolean {
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
  "timeout",
]);

const KIND_OF_PATH: Record<string, FrameHeader["kind"]> = {
  [HELLO_PATH]: "hello",
  [MESSAGES_PATH]: "messages",
  [SNAPSHOT_PATH]: "snapshot",
};

/**
 * Sends Raft messages to peers over HTTP and receives theirs.
 *
 * Messages to one peer are queued and sent in batches, one request in flight
 * per peer by default: whatever the core emits while a request is in flight
 * goes out in the next one, so appends pipeline without waiting for their
 * acknowledgements. Snapshots travel alone to their own endpoint with a
 * larger size limit. A request that fails before any answer (connection
 * refused or reset), or that the peer refuses because it no longer knows the
 * session (it restarted), is sent once more at once, after `onSendError`
 * (which may look the peer up again); otherwise a failed request drops its
 * messages (Raft resends what matters) and that peer is backed off:
 * `retryDelayMs`, doubling per failure in a row up to `maxRetryDelayMs`,
 * with jitter, until a request succeeds or the peer is heard from. So a
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
  readonly #maxInflight: number;
  readonly #maxQueue: number;
  readonly #bodyTimeoutMs: number;
  readonly #peers = new Map<NodeId, PeerQueue>();
  readonly #sessions = new SessionTable();
  readonly #slots: BodySlots;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #fetch: typeof fetch;
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
    this.#maxInflight = options.maxInflight ?? 1;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ??
      Math.max(5_000, 2 * (options.requestTimeoutMs ?? 2000));
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
   * Handles one request to the `/raft/v2/` endpoints (and refuses the
   * `/raft/v1/` ones of k8s-operator 0.1.0, naming both wire versions).
   * Public so that a server of your own can mount it;
   * {@linkcode HttpTransport.listen} uses it.
   */
  async handle(request: Request): Promise<Response> {
    const deadline = new AbortController();
    const timer = setTimeout(() =>
      deadline.abort(
        new FrameError(
          `Expected the request's body within ${this.#bodyTimeoutMs} ms, found it still arriving: the sender stalled or trickles it`,
          { reason: "timeout", status: 408 },
        ),
      ), this.#bodyTimeoutMs);
    const bytes = new StreamBytes(request.body, { signal: deadline.signal });
    try {
      return await this.#handle(request, bytes);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      bytes.cancel();
      this.#opts.onRefused?.({
        reason: error.reason,
        status: error.status,
        peer: error.peer,
        message: error.message,
      });
      return refusal(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async #handle(request: Request, bytes: StreamBytes): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/raft/v1/")) {
      const from = parseId(request.headers.get("x-raft-from"));
      throw new FrameError(
        `Expected Raft wire format version ${WIRE_VERSION} (POST /raft/v2/…, k8s-operator 0.2 and later), found wire format version ${LEGACY_WIRE_VERSION} (POST ${path}, k8s-operator 0.1.0)${
          from === null ? "" : ` from node ${from}`
        }: run the same version on every member`,
        { reason: "version", status: 400, peer: from },
      );
    }
    const kind = KIND_OF_PATH[path];
    if (kind === undefined) {
      throw new FrameError(`Expected a path under /raft/v2/, found ${path}`, {
        reason: "path",
        status: 404,
      });
    }
    if (request.method !== "POST") {
      throw new FrameError(`Expected POST, found ${request.method}`, {
        reason: "method",
        status: 405,
      });
    }
    const verified = await readHeader(bytes, this.#secrets);
    try {
      return await this.#afterHeader(bytes, { verified, kind });
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

  async #afterHeader(
    bytes: StreamBytes,
    request: { verified: VerifiedHeader; kind: FrameHeader["kind"] },
  ): Promise<Response> {
    const { verified, kind } = request;
    const { header } = verified;
    this.#checkAddress(header, kind);
    if (kind === "hello") return await this.#hello(bytes, verified);
    const snapshot = kind === "snapshot";
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
        if (!(await bytes.atEnd())) {
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
    this.#heardFrom(header.from);
    if (messages.length > 0) this.#opts.onMessages(messages);
    return new Response(null, { status: 204 });
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

  async #hello(
    bytes: StreamBytes,
    verified: VerifiedHeader,
  ): Promise<Response> {
    const { header } = verified;
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

  /** Queues messages for their receivers; never blocks, never throws. */
  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      const p = this.#peer(m.to);
      p.queue.push(m);
      if (p.queue.length > this.#maxQueue) p.queue.shift();
    }
    for (const id of new Set(messages.map((m) => m.to))) this.#pump(id);
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

  #peer(id: NodeId): PeerQueue {
    let p = this.#peers.get(id);
    if (p === undefined) {
      p = {
        queue: [],
        resend: null,
        inflight: 0,
        failures: 0,
        retryAt: 0,
        timer: null,
        session: null,
        hello: null,
      };
      this.#peers.set(id, p);
    }
    return p;
  }

  #pump(id: NodeId): void {
    const p = this.#peers.get(id);
    if (p === undefined || this.#closed) return;
    while (
      p.inflight < this.#maxInflight &&
      (p.resend !== null || p.queue.length > 0)
    ) {
      const wait = p.retryAt - this.#clock();
      if (wait > 0) {
        if (p.timer === null) {
          p.timer = setTimeout(() => {
            p.timer = null;
            this.#pump(id);
          }, wait);
        }
        return;
      }
      const resent = p.resend;
      p.resend = null;
      const batch = resent ?? this.#takeBatch(p);
      p.inflight++;
      this.#post(id, { p, batch }).then(
        () => {
          p.inflight--;
          p.failures = 0;
          this.#pump(id);
        },
        (error) => {
          p.inflight--;
          this.#opts.onSendError?.(id, error);
          if (resent === null && p.failures === 0 && undelivered(error)) {
            // Refused or reset before any answer (a peer restarted on a new
            // address, a pooled connection it closed), or a session the
            // peer forgot (it restarted): the peer got nothing, and a vote
            // answer dropped here would cost a whole election timeout.
            // Once, at once, after onSendError had its chance to look the
            // peer up again; not while the peer keeps failing (a name that
            // does not resolve would be looked up twice each time).
            p.resend = batch;
          } else {
            p.failures++;
            p.retryAt = this.#clock() + this.#backoff(p.failures);
          }
          this.#pump(id);
        },
      );
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
    this.#pump(peer);
  }

  #takeBatch(p: PeerQueue): Message[] {
    if (p.queue[0].type === "snapshot") return [p.queue.shift()!];
    const batch: Message[] = [];
    let size = 8;
    while (p.queue.length > 0) {
      const next = p.queue[0];
      if (next.type === "snapshot") break;
      const s = encodedMessageSize(next);
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
    const timer = setTimeout(
      () => abort.abort(),
      this.#opts.requestTimeoutMs ?? 2000,
    );
    try {
      const res = await this.#fetch(base + request.path, {
        method: "POST",
        body: request.body,
        signal: abort.signal,
        headers: { "content-type": "application/octet-stream" },
      });
      const ok = request.path === HELLO_PATH ? 200 : 204;
      if (res.status === ok) return res;
      const text = await res.text();
      if (res.status === 404 && request.path === HELLO_PATH) {
        throw new TransportError(
          `Expected node ${id} to speak Raft wire format version ${WIRE_VERSION} (POST ${HELLO_PATH}), found 404: it runs another version, such as k8s-operator 0.1.0 (wire format version ${LEGACY_WIRE_VERSION}), or is no Raft endpoint`,
          404,
          "version",
        );
      }
      const refused = res.headers.get("x-raft-refused");
      const reason = REASONS.has(refused ?? "")
        ? refused as RefusalReason
        : null;
      throw new TransportError(
        `Expected ${ok} from node ${id}, found ${res.status}: ${text}`,
        res.status,
        reason,
      );
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
  }

  /** The session this node sends to `id` in, opening one when there is none. */
  #session(id: NodeId, p: PeerQueue): Promise<OpenSession> {
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
    return { id: header.session, nextSeq: 1 };
  }

  async #post(
    id: NodeId,
    sending: { p: PeerQueue; batch: Message[] },
  ): Promise<void> {
    const { p, batch } = sending;
    const session = await this.#session(id, p);
    const snapshot = batch[0].type === "snapshot";
    const frame = encodeFrame({
      kind: snapshot ? "snapshot" : "messages",
      clusterId: this.#opts.clusterId,
      from: this.#opts.id,
      to: id,
      session: session.id,
      seq: session.nextSeq++,
      nonce: ZERO_ID,
    }, { bytes: encodeMessages(batch), secret: this.#secrets[0] });
    try {
      await this.#request(id, {
        path: snapshot ? SNAPSHOT_PATH : MESSAGES_PATH,
        body: frame,
      });
    } catch (error) {
      if (
        error instanceof TransportError && error.reason === "session" &&
        p.session === session
      ) {
        p.session = null;
      }
      throw error;
    }
  }

  /** Stops sending and receiving; queued messages are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#peers.values()) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.queue.length = 0;
    }
    for (const a of this.#aborts) a.abort();
    await this.#server?.shutdown();
  }
}
