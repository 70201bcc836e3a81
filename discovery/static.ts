/**
 * A fixed peer list, for clusters outside a StatefulSet (`RAFT_PEERS`) and
 * for tests.
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";
import {
  comparePeers,
  formatAddress,
  isIpLiteral,
  parseAddress,
} from "./_names.ts";
import { DiscoveryConfigError } from "./errors.ts";
import type { Discovery, Peer, ResolvePeersOptions } from "./peer.ts";

/**
 * Peers from a fixed map of node id → `host:port`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
 * const discovery = StaticDiscovery.parse("0=host-a:7000,1=host-b:7000");
 * assert.equal(discovery.peers().get(1), "host-b:7000");
 * assert.equal((await discovery.resolve())[0].host, "host-a");
 * ```
 */
export class StaticDiscovery implements Discovery {
  readonly #peers: Peer[];

  /**
   * Creates the source from node id → `host:port` (IPv6 hosts in brackets).
   * Throws {@linkcode DiscoveryConfigError} on an invalid id or address.
   */
  constructor(peers: ReadonlyMap<NodeId, string> | Record<NodeId, string>) {
    const entries: Array<[unknown, string]> = peers instanceof Map
      ? [...peers.entries()]
      : Object.entries(peers);
    if (entries.length === 0) {
      throw new DiscoveryConfigError(
        "Expected at least one peer, found an empty list",
      );
    }
    this.#peers = entries.map(([rawId, address]) => {
      const nodeId = Number(rawId);
      if (
        (typeof rawId !== "number" &&
          !/^(0|[1-9][0-9]*)$/.test(String(rawId))) ||
        !Number.isSafeInteger(nodeId) || nodeId < 0
      ) {
        throw new DiscoveryConfigError(
          `Expected a node id to be a non-negative integer, found ${
            JSON.stringify(rawId)
          }`,
        );
      }
      const parsed = typeof address === "string" ? parseAddress(address) : null;
      if (parsed === null) {
        throw new DiscoveryConfigError(
          `Expected the address of node ${nodeId} to be "host:port" (IPv6 in brackets), found ${
            JSON.stringify(address)
          }`,
        );
      }
      return {
        nodeId,
        host: parsed.host,
        port: parsed.port,
        address: formatAddress(parsed.host, parsed.port),
        addresses: isIpLiteral(parsed.host) ? [parsed.host] : [],
      };
    }).sort(comparePeers);
  }

  /**
   * Parses `0=host-a:7000,1=host-b:7000` (the `RAFT_PEERS` format; spaces
   * around entries are ignored). Throws {@linkcode DiscoveryConfigError} on a
   * malformed entry or a node id given twice.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * const peers = StaticDiscovery.parse("0=[::1]:7000, 1=[::1]:7001").peers();
   * assert.deepEqual([...peers.keys()], [0, 1]);
   * ```
   */
  static parse(list: string): StaticDiscovery {
    const peers = new Map<NodeId, string>();
    for (const raw of list.split(",")) {
      const entry = raw.trim();
      const match = /^(0|[1-9][0-9]*)=(.+)$/.exec(entry);
      if (!match) {
        throw new DiscoveryConfigError(
          `Expected a peer entry "<nodeId>=<host>:<port>", found ${
            JSON.stringify(entry)
          }`,
        );
      }
      const nodeId = Number(match[1]);
      if (peers.has(nodeId)) {
        throw new DiscoveryConfigError(
          `Expected each node id once, found node ${nodeId} twice`,
        );
      }
      peers.set(nodeId, match[2]);
    }
    return new StaticDiscovery(peers);
  }

  /**
   * Node id → `host:port`, in node id order.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * assert.deepEqual(new StaticDiscovery({ 2: "b:1", 1: "a:1" }).peers(), new Map([[1, "a:1"], [2, "b:1"]]));
   * ```
   */
  peers(): Map<NodeId, string> {
    return new Map(this.#peers.map((p) => [p.nodeId as NodeId, p.address]));
  }

  /**
   * The fixed peers, sorted by node id; rejects with the signal's reason
   * when `signal` is already aborted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StaticDiscovery } from "@k8s-operator/k8s-operator/discovery";
   * const [peer] = await new StaticDiscovery({ 0: "10.0.0.1:7000" }).resolve();
   * assert.deepEqual(peer.addresses, ["10.0.0.1"]);
   * ```
   */
  resolve(options: ResolvePeersOptions = {}): Promise<Peer[]> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return Promise.resolve(
      this.#peers.map((p) => ({ ...p, addresses: [...p.addresses] })),
    );
  }
}
