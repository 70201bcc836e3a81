/**
 * What discovery finds: {@linkcode Peer}s, and the {@linkcode Discovery}
 * interface every source implements.
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";

/**
 * One member of the cluster as discovery sees it.
 *
 * @example
 * ```ts
 * import type { Peer } from "@k8s-operator/k8s-operator/discovery";
 * const peer: Peer = {
 *   nodeId: 2,
 *   host: "my-op-2.my-op.ops.svc.cluster.local",
 *   port: 7000,
 *   address: "my-op-2.my-op.ops.svc.cluster.local.:7000",
 *   addresses: ["10.0.0.12"],
 * };
 * ```
 */
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
  /**
   * `host:port` (IPv6 in brackets), ready for a URL; a DNS name from DNS is
   * fully qualified (`my-op-2.my-op.ops.svc.cluster.local.:7000`), so a
   * lookup skips the search path.
   */
  address: string;
  /** The IP addresses the host resolved to; empty when unknown or not yet in DNS. */
  addresses: string[];
}

/**
 * Options for one {@linkcode Discovery.resolve} call.
 *
 * @example
 * ```ts
 * import { StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * await new StaticDiscovery({ 0: "a:1" }).resolve({ signal: AbortSignal.timeout(2000) });
 * ```
 */
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
 * import assert from "node:assert/strict";
 * import { type Discovery, StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * const discovery: Discovery = new StaticDiscovery({ 0: "10.0.0.1:7000" });
 * assert.deepEqual((await discovery.resolve()).map((p) => p.address), ["10.0.0.1:7000"]);
 * ```
 */
export interface Discovery {
  /** The peers found now, sorted by node id (unknown ids last), then host. */
  resolve(options?: ResolvePeersOptions): Promise<Peer[]>;
}
