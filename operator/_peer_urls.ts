/**
 * Internal: the URL of any node's Raft endpoint, including StatefulSet
 * ordinals beyond the initial peers.
 *
 * @module
 */
import type { RaftConfig } from "../discovery/config.ts";
import { HeadlessServiceDiscovery } from "../discovery/headless_service.ts";
import type { NodeId } from "../raft/types.ts";

/** The most replicas a StatefulSet may follow to (as `RAFT_REPLICAS`). */
export const MAX_ORDINALS = 1000;

/**
 * Resolves node ids to `http://host:port`: `peerAddress` when given, else
 * the address in the config's peers, else (in a StatefulSet) the pod's DNS
 * name from `HeadlessServiceDiscovery.discoverByOrdinal`; `undefined` for
 * an id no address is known for.
 */
export function peerUrls(
  raft: RaftConfig,
  peerAddress: ((id: NodeId) => string | undefined) | undefined,
): (id: NodeId) => string | undefined {
  const cache = new Map<NodeId, string>();
  const { identity, discovery } = raft;
  const byOrdinal = (id: NodeId): string | undefined => {
    if (raft.peers.has(id)) return raft.peers.get(id);
    if (
      identity === null || !(discovery instanceof HeadlessServiceDiscovery) ||
      !Number.isSafeInteger(id) || id < 0 || id >= MAX_ORDINALS
    ) {
      return undefined;
    }
    return discovery.discoverByOrdinal(identity.statefulSet, id + 1).get(id);
  };
  return (id) => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const address = peerAddress ? peerAddress(id) : byOrdinal(id);
    if (address === undefined) return undefined;
    const url = `http://${address}`;
    cache.set(id, url);
    return url;
  };
}
