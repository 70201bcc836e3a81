/**
 * The HTTP transport between Raft nodes: an endpoint family under `/raft/v1/`
 * served through the platform module, and a `fetch` client that batches
 * messages per peer.
 *
 * Every request is signed: the `x-raft-signature` header is an HMAC-SHA256,
 * keyed with the cluster's shared secret, over the cluster id, the sender,
 * the receiver and the body. The secret itself never travels. A request with
 * a wrong signature, cluster id, sender or receiver, a malformed body or one
 * over the size limit is answered with a 4xx and delivers nothing.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { serve } from "../platform/mod.ts";
import type { HttpServer } from "../platform/mod.ts";
import {
  CodecError,
  decodeMessages,
  encodedMessageSize,
  encodeMessages,
} from "./_codec.ts";
import type { Message, NodeId } from "./types.ts";

/** The path of the endpoint that takes batches of small messages. */
export const MESSAGES_PATH = "/raft/v1/messages";
/** The path of the endpoint that takes one snapshot message. */
export const SNAPSHOT_PATH = "/raft/v1/snapshot";

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
  /** The shared secret every member of the cluster is given. */
  secret: string;
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
  /** Requests in flight per peer at once (default 1). */
  maxInflight?: number;
  /** Messages queued per peer beyond which the oldest are dropped (default 10000). */
  maxQueue?: number;
  /** Abandon a request after this many milliseconds (default 2000). */
  requestTimeoutMs?: number;
  /**
   * After a failed request, wait this long before the next (default 50);
   * a request refused or reset before any answer is first resent at once.
   */
  retryDelayMs?: number;
  /** Called when a request to a peer fails (for logs and metrics). */
  onSendError?: (peer: NodeId, error: unknown) => void;
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

interface PeerQueue {
  queue: Message[];
  /** A batch whose request failed before any answer: sent next, once. */
  resend: Message[] | null;
  inflight: number;
  retryAt: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * Raised by {@linkcode HttpTransport} when a peer refuses a request.
 *
 * @example Reporting refused requests
 * ```ts
 * import { type HttpTransportOptions, TransportError } from "@k8s-operator/k8s-operator/raft";
 * const onSendError: HttpTransportOptions["onSendError"] = (peer, error) => {
 *   if (error instanceof TransportError && error.status === 401) {
 *     console.error(`node ${peer} refused our signature: check the shared secret`);
 *   } else if (error instanceof TransportError && error.status === 0) {
 *     console.error(`no address known for node ${peer}`);
 *   }
 * };
 * ```
 */
export class TransportError extends Error {
  /** The HTTP status the peer answered with (0 when none arrived). */
  readonly status: number;
  /** Describes the failure. */
  constructor(message: string, status: number) {
    super(message);
    this.name = "TransportError";
    this.status = status;
  }
}

function signature(
  secret: string,
  parts: { clusterId: string; from: string; to: string; body: Uint8Array },
): Uint8Array {
  const h = createHmac("sha256", secret);
  h.update(`${parts.clusterId}\n${parts.from}\n${parts.to}\n`);
  h.update(parts.body);
  return h.digest();
}

function hexToBytes(hex: string): Uint8Array | null {
  if (!/^[0-9a-f]{64}$/.test(hex)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function parseId(text: string | null): NodeId | null {
  if (text === null || !/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Whether a failed request never got an answer and was not abandoned: a
 * connection refused or reset (`fetch` rejects with a `TypeError`), not a
 * peer's refusal (a {@linkcode TransportError} with its status) nor our own
 * timeout (an `AbortError`, after which the peer may well have the batch).
 */
function neverAnswered(error: unknown): boolean {
  return !(error instanceof TransportError) &&
    (error as { name?: unknown } | null)?.name !== "AbortError";
}

async function readLimited(
  request: Request,
  limit: number,
): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return null;
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function refuse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { "content-type": "text/plain" },
  });
}

/**
 * Sends Raft messages to peers over HTTP and receives theirs.
 *
 * Messages to one peer are queued and sent in batches, one request in flight
 * per peer by default: whatever the core emits while a request is in flight
 * goes out in the next one, so appends pipeline without waiting for their
 * acknowledgements. Snapshots travel alone to their own endpoint with a
 * larger size limit. A request that fails before any answer (connection
 * refused or reset) is sent once more at once, after `onSendError` (which
 * may look the peer up again); otherwise a failed request drops its messages
 * (Raft resends what matters) and pauses that peer for `retryDelayMs`.
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
  readonly #maxBody: number;
  readonly #maxSnapshot: number;
  readonly #maxInflight: number;
  readonly #maxQueue: number;
  readonly #peers = new Map<NodeId, PeerQueue>();
  #server: HttpServer | null = null;
  #closed = false;
  readonly #aborts = new Set<AbortController>();

  /** Creates a transport; call {@linkcode HttpTransport.listen} to receive. */
  constructor(options: HttpTransportOptions) {
    this.#opts = options;
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.#maxSnapshot = options.maxSnapshotBytes ?? 256 * 1024 * 1024;
    this.#maxInflight = options.maxInflight ?? 1;
    this.#maxQueue = options.maxQueue ?? 10_000;
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
   * Handles one request to the `/raft/v1/` endpoints. Public so that a
   * server of your own can mount it; {@linkcode HttpTransport.listen} uses it.
   */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const snapshot = url.pathname === SNAPSHOT_PATH;
    if (!snapshot && url.pathname !== MESSAGES_PATH) {
      return refuse(404, "Unknown path");
    }
    if (request.method !== "POST") return refuse(405, "Expected POST");
    const h = request.headers;
    const clusterId = h.get("x-raft-cluster");
    const fromText = h.get("x-raft-from");
    const toText = h.get("x-raft-to");
    const sig = hexToBytes(h.get("x-raft-signature") ?? "");
    const from = parseId(fromText);
    const to = parseId(toText);
    if (from === null || to === null || sig === null || clusterId === null) {
      return refuse(
        400,
        "Expected x-raft-cluster, x-raft-from, x-raft-to and x-raft-signature headers",
      );
    }
    const body = await readLimited(
      request,
      snapshot ? this.#maxSnapshot : this.#maxBody,
    );
    if (body === null) return refuse(413, "Body over the size limit");
    const expected = signature(this.#opts.secret, {
      clusterId,
      from: fromText!,
      to: toText!,
      body,
    });
    if (!timingSafeEqual(expected, sig)) {
      return refuse(401, "Signature does not match");
    }
    if (clusterId !== this.#opts.clusterId) {
      return refuse(403, "Wrong cluster id");
    }
    if (to !== this.#opts.id) return refuse(403, "Wrong receiver");
    if (from === this.#opts.id || this.#opts.peerUrl(from) === undefined) {
      return refuse(403, "Unknown sender");
    }
    let messages: Message[];
    try {
      messages = decodeMessages(body);
    } catch (error) {
      if (error instanceof CodecError) return refuse(400, error.message);
      throw error;
    }
    for (const m of messages) {
      if (m.from !== from || m.to !== to) {
        return refuse(400, "Message sender or receiver differs from headers");
      }
      if ((m.type === "snapshot") !== snapshot) {
        return refuse(400, "Snapshots go alone to the snapshot endpoint");
      }
    }
    if (snapshot && messages.length !== 1) {
      return refuse(400, "Expected exactly one snapshot message");
    }
    if (messages.length > 0) this.#opts.onMessages(messages);
    return new Response(null, { status: 204 });
  }

  /** Queues messages for their receivers; never blocks, never throws. */
  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      let p = this.#peers.get(m.to);
      if (p === undefined) {
        p = { queue: [], resend: null, inflight: 0, retryAt: 0, timer: null };
        this.#peers.set(m.to, p);
      }
      p.queue.push(m);
      if (p.queue.length > this.#maxQueue) p.queue.shift();
    }
    for (const id of new Set(messages.map((m) => m.to))) this.#pump(id);
  }

  #pump(id: NodeId): void {
    const p = this.#peers.get(id);
    if (p === undefined || this.#closed) return;
    while (
      p.inflight < this.#maxInflight &&
      (p.resend !== null || p.queue.length > 0)
    ) {
      const wait = p.retryAt - performance.now();
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
      this.#post(id, batch).then(
        () => {
          p.inflight--;
          this.#pump(id);
        },
        (error) => {
          p.inflight--;
          this.#opts.onSendError?.(id, error);
          if (resent === null && neverAnswered(error)) {
            // Refused or reset before any answer (a peer restarted on a new
            // address, a pooled connection it closed): the peer got nothing,
            // and a vote answer dropped here would cost a whole election
            // timeout. Once, at once, after onSendError had its chance to
            // look the peer up again.
            p.resend = batch;
          } else {
            p.retryAt = performance.now() + (this.#opts.retryDelayMs ?? 50);
          }
          this.#pump(id);
        },
      );
    }
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

  async #post(id: NodeId, batch: Message[]): Promise<void> {
    const base = this.#opts.peerUrl(id);
    if (base === undefined) {
      throw new TransportError(`No address known for node ${id}`, 0);
    }
    const body = encodeMessages(batch);
    const from = String(this.#opts.id);
    const to = String(id);
    const sig = signature(this.#opts.secret, {
      clusterId: this.#opts.clusterId,
      from,
      to,
      body,
    });
    const path = batch[0].type === "snapshot" ? SNAPSHOT_PATH : MESSAGES_PATH;
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(
      () => abort.abort(),
      this.#opts.requestTimeoutMs ?? 2000,
    );
    try {
      const res = await fetch(base + path, {
        method: "POST",
        body,
        signal: abort.signal,
        headers: {
          "content-type": "application/octet-stream",
          "x-raft-cluster": this.#opts.clusterId,
          "x-raft-from": from,
          "x-raft-to": to,
          "x-raft-signature": bytesToHex(sig),
        },
      });
      const text = res.status === 204 ? "" : await res.text();
      if (res.status !== 204) {
        throw new TransportError(
          `Expected 204 from node ${id}, found ${res.status}: ${text}`,
          res.status,
        );
      }
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
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
