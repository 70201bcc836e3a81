/**
 * {@linkcode RaftConfig}: this node's id, the initial members and their
 * addresses, for a StatefulSet pod or from an explicit peer list, built
 * from typed options.
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";
import { parseAddress } from "./_names.ts";
import { DiscoveryConfigError } from "./errors.ts";
import { HeadlessServiceDiscovery } from "./headless_service.ts";
import type { Discovery } from "./peer.ts";
import {
  type PodIdentity,
  podIdentity,
  type PodLocation,
} from "./pod_identity.ts";
import { StaticDiscovery } from "./static.ts";

/** The Raft port when `RAFT_PORT` is not set. */
const DEFAULT_RAFT_PORT = 7000;

/**
 * What a {@linkcode RaftConfig} is made of.
 *
 * @example
 * ```ts
 * import { RaftConfig, type RaftConfigInit } from "@k8s-operator/k8s-operator/discovery";
 * const init: RaftConfigInit = { nodeId: 0, peers: new Map([[0, "127.0.0.1:7000"]]), listenPort: 7000 };
 * new RaftConfig(init);
 * ```
 */
export interface RaftConfigInit {
  /** This node's id. */
  nodeId: NodeId;
  /** Every initial voter and this node: node id → `host:port`. */
  peers: ReadonlyMap<NodeId, string>;
  /**
   * The initial voters, a subset of the ids in `peers` (default: all of
   * them). A node not among them joins a running cluster: the leader adds it
   * as a learner and promotes it.
   */
  voters?: readonly NodeId[];
  /** The port this node's Raft endpoint listens on. */
  listenPort: number;
  /** The pod's identity when running in a StatefulSet, else `null`. */
  identity?: PodIdentity | null;
  /** Where to look for peers later (default: a {@linkcode StaticDiscovery} of `peers`). */
  discovery?: Discovery;
}

/**
 * A StatefulSet pod's Raft setup: where the pod is, how many initial voters
 * there are, and how peers reach each other through the headless Service.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RaftConfig, type StatefulSetRaftOptions } from "@k8s-operator/k8s-operator/discovery";
 * const options: StatefulSetRaftOptions = { podName: "my-op-1", namespace: "ops", replicas: 3, service: "my-op-raft" };
 * assert.deepEqual(RaftConfig.forStatefulSet(options).voters(), [0, 1, 2]);
 * ```
 */
export interface StatefulSetRaftOptions extends PodLocation {
  /**
   * The number of initial voters, `0..replicas-1` (the StatefulSet's
   * replicas at creation), from 1 to 1000.
   */
  replicas: number;
  /** The headless Service (default: the StatefulSet's name). */
  service?: string;
  /** The Raft port (default 7000). */
  port?: number;
  /** The Service port's name, queried as `_<portName>._tcp` (default `raft`). */
  portName?: string;
  /** The cluster DNS domain (default `cluster.local`). */
  clusterDomain?: string;
}

/**
 * An explicit peer list's Raft setup, for clusters outside a StatefulSet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type PeerListRaftOptions, RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const options: PeerListRaftOptions = { nodeId: 0, peers: "0=127.0.0.1:7000,1=127.0.0.1:7001" };
 * assert.equal(RaftConfig.forPeerList(options).listenPort, 7000);
 * ```
 */
export interface PeerListRaftOptions {
  /** This node's id, one of the peers'. */
  nodeId: NodeId;
  /**
   * Every initial voter: `0=host-a:7000,1=host-b:7000` (the format of
   * {@linkcode StaticDiscovery.parse}), or node id → `host:port`.
   */
  peers: string | ReadonlyMap<NodeId, string>;
  /** The port to listen on (default: this node's port in `peers`). */
  listenPort?: number;
}

/**
 * The identity and initial membership of this Raft node.
 *
 * Two setups build one from typed options (reading them from the
 * environment is the composition root's: `raftConfigFromEnv` of
 * `@k8s-operator/k8s-operator`):
 *
 * - {@linkcode RaftConfig.forStatefulSet}: the pod's ordinal is the node id,
 *   the initial voters are `0..replicas-1` (a pod with a higher ordinal,
 *   after a scale-up, is not one of them and joins the running cluster),
 *   and peers are `<statefulSet>-<i>.<service>.<namespace>.svc.<domain>.:<port>`
 *   (fully qualified: a lookup never walks the search path).
 * - {@linkcode RaftConfig.forPeerList}: an explicit list such as
 *   `0=host-a:7000,1=host-b:7000` and this node's id.
 *
 * @example StatefulSet
 * ```ts
 * import assert from "node:assert/strict";
 * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const config = RaftConfig.forStatefulSet({ podName: "my-op-1", namespace: "ops", service: "my-op-raft", replicas: 3 });
 * assert.equal(config.nodeId, 1);
 * assert.deepEqual(config.voters(), [0, 1, 2]);
 * assert.equal(config.peers.get(2), "my-op-2.my-op-raft.ops.svc.cluster.local.:7000");
 * ```
 *
 * @example Explicit peers
 * ```ts
 * import assert from "node:assert/strict";
 * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const config = RaftConfig.forPeerList({ nodeId: 0, peers: "0=127.0.0.1:7000,1=127.0.0.1:7001" });
 * assert.equal(config.listenPort, 7000);
 * ```
 */
export class RaftConfig {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** Every initial voter and this node: node id → `host:port`, by id. */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly #voters: readonly NodeId[];
  /** The port this node's Raft endpoint listens on. */
  readonly listenPort: number;
  /** The pod's identity in a StatefulSet, else `null`. */
  readonly identity: PodIdentity | null;
  /** Where to look for peers at run time. */
  readonly discovery: Discovery;

  /** Creates the config; throws {@linkcode DiscoveryConfigError} when it is inconsistent. */
  constructor(init: RaftConfigInit) {
    if (!Number.isSafeInteger(init.nodeId) || init.nodeId < 0) {
      throw new DiscoveryConfigError(
        `Expected the node id to be a non-negative integer, found ${init.nodeId}`,
      );
    }
    if (!init.peers.has(init.nodeId)) {
      throw new DiscoveryConfigError(
        `Expected node ${init.nodeId} among the peers, found only ${
          [...init.peers.keys()].join(", ") || "none"
        }`,
      );
    }
    for (const [id, address] of init.peers) {
      if (
        !Number.isSafeInteger(id) || id < 0 || parseAddress(address) === null
      ) {
        throw new DiscoveryConfigError(
          `Expected peer entries of a node id and "host:port", found ${id} → ${
            JSON.stringify(address)
          }`,
        );
      }
    }
    const voters = [...(init.voters ?? init.peers.keys())].sort((a, b) =>
      a - b
    );
    if (voters.length === 0 || voters.some((id) => !init.peers.has(id))) {
      throw new DiscoveryConfigError(
        `Expected at least one initial voter, each among the peers, found voters ${
          JSON.stringify(voters)
        } and peers ${[...init.peers.keys()].join(", ")}`,
      );
    }
    if (
      !Number.isInteger(init.listenPort) || init.listenPort < 1 ||
      init.listenPort > 65535
    ) {
      throw new DiscoveryConfigError(
        `Expected the listen port to be from 1 to 65535, found ${init.listenPort}`,
      );
    }
    this.nodeId = init.nodeId;
    this.#voters = voters;
    this.peers = new Map([...init.peers].sort(([a], [b]) => a - b));
    this.listenPort = init.listenPort;
    this.identity = init.identity ?? null;
    this.discovery = init.discovery ?? new StaticDiscovery(this.peers);
  }

  /**
   * The configuration of a StatefulSet pod (see the class documentation).
   * Throws {@linkcode DiscoveryConfigError} naming the option at fault
   * (`invalid.option`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
   * const config = RaftConfig.forStatefulSet({ podName: "op-0", namespace: "ops", replicas: 1, port: 9000 });
   * assert.equal(config.peers.get(0), "op-0.op.ops.svc.cluster.local.:9000");
   * ```
   */
  static forStatefulSet(options: StatefulSetRaftOptions): RaftConfig {
    const identity = podIdentity(options);
    const { replicas } = options;
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 1000) {
      throw DiscoveryConfigError.option("the replicas", {
        option: "replicas",
        value: replicas,
        expected: "the number of initial voters, an integer from 1 to 1000",
      });
    }
    const port = options.port ?? DEFAULT_RAFT_PORT;
    const discovery = new HeadlessServiceDiscovery({
      service: options.service ?? identity.statefulSet,
      namespace: identity.namespace,
      port,
      statefulSet: identity.statefulSet,
      portName: options.portName,
      clusterDomain: options.clusterDomain,
    });
    const initial = discovery.discoverByOrdinal(identity.statefulSet, replicas);
    const peers = new Map(initial);
    if (!peers.has(identity.ordinal)) {
      // A pod added by a scale-up: it knows the initial voters and itself.
      const own = discovery.discoverByOrdinal(
        identity.statefulSet,
        identity.ordinal + 1,
      );
      peers.set(identity.ordinal, own.get(identity.ordinal) as string);
    }
    return new RaftConfig({
      nodeId: identity.ordinal,
      peers,
      voters: [...initial.keys()],
      listenPort: port,
      identity,
      discovery,
    });
  }

  /**
   * The configuration of a node of an explicit peer list. Throws
   * {@linkcode DiscoveryConfigError} (`invalid.option` `peers` or
   * `nodeId`) when the list is malformed or does not hold the node.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
   * const config = RaftConfig.forPeerList({ nodeId: 1, peers: "0=a:7000,1=b:7001", listenPort: 9000 });
   * assert.equal(config.selfAddress(), "b:7001");
   * assert.equal(config.listenPort, 9000);
   * ```
   */
  static forPeerList(options: PeerListRaftOptions): RaftConfig {
    let discovery: StaticDiscovery;
    try {
      discovery = typeof options.peers === "string"
        ? StaticDiscovery.parse(options.peers)
        : new StaticDiscovery(options.peers);
    } catch (error) {
      throw DiscoveryConfigError.option("the peer list", {
        option: "peers",
        value: options.peers instanceof Map
          ? Object.fromEntries(options.peers)
          : options.peers,
        expected: `"<nodeId>=<host>:<port>" entries separated by commas (${
          (error as Error).message
        })`,
      });
    }
    const peers = discovery.peers();
    const { nodeId } = options;
    const own = peers.get(nodeId);
    if (own === undefined) {
      throw DiscoveryConfigError.option("the node id", {
        option: "nodeId",
        value: nodeId,
        expected: `one of the ids in the peer list (${
          [...peers.keys()].join(", ")
        })`,
      });
    }
    return new RaftConfig({
      nodeId,
      peers,
      listenPort: options.listenPort ??
        (parseAddress(own)?.port as number),
      identity: null,
      discovery,
    });
  }

  /**
   * The initial voters in id order: the `bootstrap` membership every node
   * must agree on. It may not hold this node (a pod added by a scale-up,
   * which waits for the leader to add it).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
   * const config = new RaftConfig({ nodeId: 1, peers: new Map([[1, "b:7000"], [0, "a:7000"]]), listenPort: 7000 });
   * assert.deepEqual(config.voters(), [0, 1]);
   * ```
   */
  voters(): NodeId[] {
    return [...this.#voters];
  }

  /**
   * This node's own `host:port`, as the others reach it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
   * const config = new RaftConfig({ nodeId: 0, peers: new Map([[0, "a:7000"]]), listenPort: 7000 });
   * assert.equal(config.selfAddress(), "a:7000");
   * ```
   */
  selfAddress(): string {
    return this.peers.get(this.nodeId) as string;
  }
}
