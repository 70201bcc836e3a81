/**
 * {@linkcode RaftConfig}: this node's id, the initial members and their
 * addresses, from the environment of a StatefulSet pod or from an explicit
 * peer list.
 *
 * @module
 */
import type { NodeId } from "../raft/types.ts";
import {
  type EnvSource,
  isDnsLabel,
  parseAddress,
  readEnv,
  withoutTrailingDot,
} from "./_names.ts";
import {
  DiscoveryConfigError,
  MalformedEnvError,
  MissingEnvError,
} from "./errors.ts";
import { HeadlessServiceDiscovery } from "./headless_service.ts";
import type { Discovery } from "./peer.ts";
import { type PodIdentity, podIdentityFromEnv } from "./pod_identity.ts";
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

function parseInteger(
  env: EnvSource | undefined,
  variable: string,
  range: { min: number; max: number; expected: string },
): number | undefined {
  const raw = readEnv(env, variable);
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (
    !/^\s*[0-9]+\s*$/.test(raw) || !Number.isSafeInteger(value) ||
    value < range.min || value > range.max
  ) {
    throw new MalformedEnvError(variable, raw, range.expected);
  }
  return value;
}

/**
 * The identity and initial membership of this Raft node.
 *
 * {@linkcode RaftConfig.fromEnv} reads one of two setups:
 *
 * - **StatefulSet** (when `RAFT_PEERS` is unset): `POD_NAME` and `NAMESPACE`
 *   (downward API) give the ordinal, which is the node id; `RAFT_REPLICAS`
 *   (required) is the number of initial voters, `0..RAFT_REPLICAS-1` (a pod
 *   with a higher ordinal, after a scale-up, is not one of them and joins
 *   the running cluster);
 *   `RAFT_SERVICE` is the headless Service (default: the StatefulSet's name);
 *   `RAFT_PORT` (default 7000), `RAFT_PORT_NAME` (default `raft`) and
 *   `RAFT_CLUSTER_DOMAIN` (default `cluster.local`). Peers are
 *   `<statefulSet>-<i>.<service>.<namespace>.svc.<domain>.:<port>` (fully
 *   qualified: a lookup never walks the search path).
 * - **Explicit peers**: `RAFT_PEERS` such as `0=host-a:7000,1=host-b:7000`
 *   and `RAFT_NODE_ID` (required, one of those ids). `RAFT_PORT` overrides
 *   the listen port, which defaults to this node's port in `RAFT_PEERS`.
 *
 * @example StatefulSet
 * ```ts
 * import assert from "node:assert/strict";
 * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const config = RaftConfig.fromEnv({
 *   POD_NAME: "my-op-1", NAMESPACE: "ops", RAFT_SERVICE: "my-op-raft", RAFT_REPLICAS: "3",
 * });
 * assert.equal(config.nodeId, 1);
 * assert.deepEqual(config.voters(), [0, 1, 2]);
 * assert.equal(config.peers.get(2), "my-op-2.my-op-raft.ops.svc.cluster.local.:7000");
 * ```
 *
 * @example Explicit peers
 * ```ts
 * import assert from "node:assert/strict";
 * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
 * const config = RaftConfig.fromEnv({ RAFT_NODE_ID: "0", RAFT_PEERS: "0=127.0.0.1:7000,1=127.0.0.1:7001" });
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
   * Reads the configuration from the environment (default: the process's);
   * see the class documentation for the variables. Throws
   * {@linkcode MissingEnvError} or {@linkcode MalformedEnvError} naming the
   * variable at fault.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RaftConfig } from "@k8s-operator/k8s-operator/discovery";
   * const config = RaftConfig.fromEnv({ POD_NAME: "op-0", NAMESPACE: "ops", RAFT_REPLICAS: "1", RAFT_PORT: "9000" });
   * assert.equal(config.peers.get(0), "op-0.op.ops.svc.cluster.local.:9000");
   * ```
   */
  static fromEnv(env?: EnvSource): RaftConfig {
    const port = parseInteger(env, "RAFT_PORT", {
      min: 1,
      max: 65535,
      expected: "a port from 1 to 65535",
    });
    const peerList = readEnv(env, "RAFT_PEERS");
    if (peerList !== undefined) {
      return RaftConfig.#fromPeerList(env, peerList, port);
    }
    if (readEnv(env, "RAFT_NODE_ID") !== undefined) {
      throw new MissingEnvError(
        "RAFT_PEERS",
        'required with RAFT_NODE_ID: every initial member as "0=host-a:7000,1=host-b:7000"',
      );
    }
    const identity = podIdentityFromEnv(env);
    const replicas = parseInteger(env, "RAFT_REPLICAS", {
      min: 1,
      max: 1000,
      expected: "the number of initial voters, an integer from 1 to 1000",
    });
    if (replicas === undefined) {
      throw new MissingEnvError(
        "RAFT_REPLICAS",
        "the number of initial voters: the StatefulSet's replicas at creation",
      );
    }
    const service = readEnv(env, "RAFT_SERVICE") ?? identity.statefulSet;
    if (!isDnsLabel(service)) {
      throw new MalformedEnvError(
        "RAFT_SERVICE",
        service,
        "a Service name (a DNS label)",
      );
    }
    const portName = readEnv(env, "RAFT_PORT_NAME") ?? "raft";
    if (!isDnsLabel(portName)) {
      throw new MalformedEnvError(
        "RAFT_PORT_NAME",
        portName,
        "a port name (a DNS label)",
      );
    }
    const domain = withoutTrailingDot(
      readEnv(env, "RAFT_CLUSTER_DOMAIN") ?? "cluster.local",
    );
    if (!domain.split(".").every(isDnsLabel)) {
      throw new MalformedEnvError(
        "RAFT_CLUSTER_DOMAIN",
        domain,
        'a DNS domain such as "cluster.local"',
      );
    }
    const discovery = new HeadlessServiceDiscovery({
      service,
      namespace: identity.namespace,
      port: port ?? DEFAULT_RAFT_PORT,
      statefulSet: identity.statefulSet,
      portName,
      clusterDomain: domain,
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
      listenPort: port ?? DEFAULT_RAFT_PORT,
      identity,
      discovery,
    });
  }

  static #fromPeerList(
    env: EnvSource | undefined,
    peerList: string,
    port: number | undefined,
  ): RaftConfig {
    let discovery: StaticDiscovery;
    try {
      discovery = StaticDiscovery.parse(peerList);
    } catch (error) {
      throw new MalformedEnvError(
        "RAFT_PEERS",
        peerList,
        `"<nodeId>=<host>:<port>" entries separated by commas (${
          (error as Error).message
        })`,
      );
    }
    const nodeId = parseInteger(env, "RAFT_NODE_ID", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      expected: "a non-negative integer node id",
    });
    if (nodeId === undefined) {
      throw new MissingEnvError(
        "RAFT_NODE_ID",
        "this node's id, one of the ids in RAFT_PEERS",
      );
    }
    const peers = discovery.peers();
    const own = peers.get(nodeId);
    if (own === undefined) {
      throw new MalformedEnvError(
        "RAFT_NODE_ID",
        String(nodeId),
        `one of the ids in RAFT_PEERS (${[...peers.keys()].join(", ")})`,
      );
    }
    return new RaftConfig({
      nodeId,
      peers,
      listenPort: port ?? (parseAddress(own)?.port as number),
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
