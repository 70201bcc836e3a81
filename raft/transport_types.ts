/**
 * The types of the Raft HTTP transport: its options, what it reports of a
 * refused request, and its error.
 *
 * @module
 */
import type { RefusalReason } from "./_frame.ts";
import type { Message, NodeId } from "./types.ts";

/**
 * Options of an {@linkcode HttpTransport}.
 *
 * @example
 * ```ts
 * import { HttpTransport, type HttpTransportOptions, type RaftNode } from "@k8s-operator/k8s-operator/raft";
 * let node: RaftNode | undefined; // started once the transport exists
 * const options: HttpTransportOptions = {
 *   id: 1,
 *   clusterId: "my-operator",
 *   secret: "0123456789abcdef", // the same on every member, e.g. from a Secret
 *   peerUrl: (id) => id <= 2 ? `http://my-operator-${id}.my-operator:7000` : undefined,
 *   onMessages: (messages) => node?.receive(messages),
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
   * Refuse a received request (a stream: each of its frames) whose body
   * (frame header included) has not fully arrived this many milliseconds
   * after it began, freeing its body slot: a peer that stalls or trickles
   * its body holds a slot no longer (default: twice `requestTimeoutMs`, at
   * least 5000, which is eight of the longest default election timeout).
   * Refused with 408 and reason `timeout` (a stream's later frame: the
   * stream ends, reported to `onRefused`). A stream idle between frames is
   * not late. Keep it above the senders' `requestTimeoutMs`, after which an
   * honest sender gives up by itself.
   */
  bodyTimeoutMs?: number;
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
 * import assert from "node:assert/strict";
 * import { HttpTransport, type ListenOptions } from "@k8s-operator/k8s-operator/raft";
 * const transport = new HttpTransport({
 *   id: 0, clusterId: "my-operator", secret: "0123456789abcdef",
 *   peerUrl: () => undefined, onMessages: () => {},
 * });
 * // Tests: a free port on loopback.
 * const local: ListenOptions = { port: 0, hostname: "127.0.0.1" };
 * const port = await transport.listen(local);
 * assert.ok(port > 0);
 * await transport.close();
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
