/**
 * What discovery finds: {@linkcode Peer}s, and the {@linkcode Discovery}
 * interface every source implements.
 *
 * @module
 */
import type { NodeId } from "../raft/types.ts";

/** One member of the cluster as discovery sees it. */
export interface Peer {
  /**
   * The Raft node id: the StatefulSet ordinal in the host name
   * (`my-operator-2.…` is 2), the id of a static entry, or `null` when the
   * answer names no pod (an address-only DNS answer).
   */
  nodeId: NodeId | null;
  /** The host name without a trailing dot, or an IP address. */
  host: string;
  /** The port the peer's Raft endpoint listens on. */
  port: number;
  /** `host:port` (IPv6 in brackets), ready for a URL. */
  address: string;
  /** The IP addresses the host resolved to; empty when unknown or not yet in DNS. */
  addresses: string[];
}

/** Options for one {@linkcode Discovery.resolve} call. */
export interface ResolvePeersOptions {
  /** Cancels the lookup. */
  signal?: AbortSignal;
}

/**
 * A source of peers. {@linkcode HeadlessServiceDiscovery} asks DNS,
 * {@linkcode StaticDiscovery} returns a fixed list.
 *
 * @example
 * ```ts
 * import { type Discovery, StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * const discovery: Discovery = new StaticDiscovery({ 0: "10.0.0.1:7000" });
 * console.log((await discovery.resolve()).map((p) => p.address)); // ["10.0.0.1:7000"]
 * ```
 */
export interface Discovery {
  /** The peers found now, sorted by node id (unknown ids last), then host. */
  resolve(options?: ResolvePeersOptions): Promise<Peer[]>;
}

/** Sorts peers by node id (null last), then host, then port. */
export function comparePeers(a: Peer, b: Peer): number {
  const ia = a.nodeId ?? Number.POSITIVE_INFINITY;
  const ib = b.nodeId ?? Number.POSITIVE_INFINITY;
  if (ia !== ib) return ia < ib ? -1 : 1;
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.port - b.port;
}
