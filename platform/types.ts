/**
 * What the runtime-specific platform module provides. Deno's implementation
 * is `platform.deno.ts`; the npm build swaps in `platform.node.ts`, which has
 * the same exports.
 *
 * @module
 */

/** The address of the peer that sent a request. */
export interface RemoteAddr {
  /** The peer's IP address. */
  hostname: string;
  /** The peer's port. */
  port: number;
}

/** A request handler: web-standard `Request` in, `Response` out. */
export type Handler = (
  request: Request,
  remote: RemoteAddr,
) => Response | Promise<Response>;

/** How to start an HTTP(S) server. */
export interface ServeOptions {
  /** The port to listen on; `0` picks a free one. */
  port: number;
  /** The address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Stops the server when aborted. */
  signal?: AbortSignal;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The port actually listened on. */
  readonly port: number;
  /** The address listened on. */
  readonly hostname: string;
  /** Stops accepting, closes open connections, resolves when closed. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/**
 * The DNS record types discovery resolves.
 *
 * @example The queries behind one resolve()
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DnsRecordType, type DnsResolver, HeadlessServiceDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * const asked: string[] = [];
 * const resolver = ((name: string, type: DnsRecordType) => {
 *   asked.push(`${type} ${name}`);
 *   return Promise.resolve([]);
 * }) as DnsResolver;
 * await new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000, resolver }).resolve();
 * assert.equal(asked[0], "SRV _raft._tcp.raft.ops.svc.cluster.local.");
 * ```
 */
export type DnsRecordType = "A" | "AAAA" | "SRV";

/**
 * An SRV record.
 *
 * @example The SRV answer of a headless Service, faked for a test
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DnsResolver, HeadlessServiceDiscovery, type SrvRecord } from "@k8s-operator/k8s-operator/discovery";
 * const srv: SrvRecord[] = [0, 1, 2].map((i) => ({
 *   priority: 0,
 *   weight: 33,
 *   port: 7000,
 *   target: `my-op-${i}.raft.ops.svc.cluster.local.`,
 * }));
 * const resolver = ((_name: string, type: string) => Promise.resolve(type === "SRV" ? srv : [])) as DnsResolver;
 * const peers = await new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000, resolver }).resolve();
 * assert.equal(peers[1].nodeId, 1);
 * assert.equal(peers[1].address, "my-op-1.raft.ops.svc.cluster.local.:7000");
 * ```
 */
export interface SrvRecord {
  /** Lower is preferred. */
  priority: number;
  /** Relative weight among records of one priority. */
  weight: number;
  /** The port the service listens on. */
  port: number;
  /** The host that serves it: a fully qualified name ending in a dot. */
  target: string;
}

/**
 * Options for one DNS query. On both runtimes a query for which the server
 * has no records (no such name, no records of the type, or a refusal)
 * rejects with an error whose `name` is `"NotFound"`.
 *
 * @example What a resolver receives
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DnsResolver, HeadlessServiceDiscovery, type ResolveOptions } from "@k8s-operator/k8s-operator/discovery";
 * const seen: (ResolveOptions | undefined)[] = [];
 * const resolver = ((_name: string, _type: string, options?: ResolveOptions) => {
 *   seen.push(options);
 *   return Promise.resolve([]);
 * }) as DnsResolver;
 * const nameServer = { ipAddr: "127.0.0.1", port: 5353 }; // a test DNS server
 * const discovery = new HeadlessServiceDiscovery({ service: "raft", namespace: "ops", port: 7000, nameServer, resolver });
 * await discovery.resolve({ signal: AbortSignal.timeout(2000) });
 * assert.deepEqual(seen[0]?.nameServer, { ipAddr: "127.0.0.1", port: 5353 });
 * ```
 */
export interface ResolveOptions {
  /** Ask this server instead of the system resolver (tests use loopback). */
  nameServer?: { ipAddr: string; port: number };
  /** Cancels the query. */
  signal?: AbortSignal;
}

/** The signals an operator reacts to. */
export type ShutdownSignal = "SIGTERM" | "SIGINT";
