/**
 * The types of the Raft runtime node: its options, the sink it reports its
 * role into, its status and readiness, and its errors.
 *
 * @module
 */
import type { CoreStatus } from "./core.ts";
import { RaftError } from "./errors.ts";
import type { StateMachine } from "./kv.ts";
import type { Storage } from "./storage.ts";
import type { ConfState, Message, NodeId, Role } from "./types.ts";

/**
 * Where a node reports its role: the controller's `LeaderElection` fits
 * (create it with `requireLease: true` and the node's clock).
 *
 * @example A sink that logs
 * ```ts
 * import type { RoleSink } from "@k8s-operator/k8s-operator/raft";
 * const sink: RoleSink = {
 *   setRole(role, term, { leader }) {
 *     console.log(`${role} in term ${term}; leader: ${leader ?? "unknown"}`);
 *   },
 *   renewLease(durationMs, { asOf }) {
 *     console.log(durationMs > 0 ? `lease holds until ${asOf + durationMs}` : "lease ended");
 *   },
 * };
 * // Pass it as `election` to RaftNode.start.
 * ```
 */
export interface RoleSink {
  /**
   * Called on every change of role, term or known leader, with the leader
   * this node knows of (`null` for none), so a guard can name it when it
   * refuses work.
   */
  setRole(role: Role, term: number, options: RoleSinkOptions): void;
  /**
   * Called while leading whenever the lease changes: extended by a quorum's
   * acknowledgement, shortened or ended by the core. `durationMs` is how
   * long it holds from `asOf`, the node's clock reading it was measured at
   * (count from `asOf`, not from when the call runs: a process paused in
   * between must not gain the pause's length); `0` when it ended. The node
   * calls it after every batch of work it hands the core, before it waits
   * for storage, so the sink never trails the core's lease by more than one
   * batch, however busy the node is.
   */
  renewLease(durationMs: number, options: { asOf: number }): void;
}

/**
 * What a node adds to a {@linkcode RoleSink.setRole} report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RoleSink, RoleSinkOptions } from "@k8s-operator/k8s-operator/raft";
 * const heard: string[] = [];
 * const sink: RoleSink = {
 *   setRole: (role, term, { leader }) => heard.push(`${role}, node ${leader} leads term ${term}`),
 *   renewLease: () => {},
 * };
 * const options: RoleSinkOptions = { leader: 2 };
 * sink.setRole("follower", 5, options);
 * assert.deepEqual(heard, ["follower, node 2 leads term 5"]);
 * ```
 */
export interface RoleSinkOptions {
  /** The leader this node knows of in the term, or `null`. */
  leader: NodeId | null;
}

/**
 * A change of role, term or known leader.
 *
 * @example Logging role changes
 * ```ts
 * import type { RaftNode, RoleChange } from "@k8s-operator/k8s-operator/raft";
 * // Returns the function that stops the logging.
 * function logRoles(node: RaftNode): () => void {
 *   const log = ({ role, term, leader }: RoleChange) =>
 *     console.log(`node ${node.id}: ${role} in term ${term}, leader ${leader}`);
 *   return node.onRoleChange(log);
 * }
 * ```
 */
export interface RoleChange {
  /** This node's new role. */
  role: Role;
  /** The current term. */
  term: number;
  /** The leader this node knows of, or `null`. */
  leader: NodeId | null;
}

/**
 * Options of {@linkcode RaftNode.start}.
 *
 * @example A node on disk, talking HTTP
 * ```ts
 * import { FileStorage, HttpTransport, KeyValueStore, RaftNode, type RaftNodeOptions } from "@k8s-operator/k8s-operator/raft";
 * // Node 0 of my-operator-{0,1,2}, its log in /var/lib/raft.
 * async function startNode(): Promise<RaftNode> {
 *   let node: RaftNode | undefined;
 *   const transport = new HttpTransport({
 *     id: 0, clusterId: "my-operator", secret: "0123456789abcdef",
 *     peerUrl: (id) => `http://my-operator-${id}.my-operator:7000`,
 *     onMessages: (messages) => node?.receive(messages),
 *   });
 *   const options: RaftNodeOptions = {
 *     id: 0,
 *     storage: await FileStorage.open("/var/lib/raft"),
 *     bootstrap: { voters: [0, 1, 2], learners: [] },
 *     stateMachine: new KeyValueStore(),
 *     send: (messages) => transport.send(messages),
 *     tickMs: 100, // heartbeats every 100 ms, elections after 600-1200 ms
 *   };
 *   node = await RaftNode.start(options);
 *   await transport.listen({ port: 7000 });
 *   return node;
 * }
 * ```
 */
export interface RaftNodeOptions {
  /** This node's id (the StatefulSet ordinal). */
  id: NodeId;
  /** Where the node persists; it is loaded at start. */
  storage: Storage;
  /**
   * The initial membership, the same on every node: for a StatefulSet the
   * ordinals `0..replicas-1` the cluster was created with. Its voters are
   * the nodes that must all be empty, and all take part, before a new
   * cluster is bootstrapped; the membership itself lives in the log. A new
   * pod outside it waits until the leader adds it.
   */
  bootstrap: ConfState;
  /** Applies committed entries. */
  stateMachine: StateMachine;
  /** Hands messages to the transport (after they are safe to send). */
  send: (messages: Message[]) => void;
  /** Milliseconds per tick (default 50): the heartbeat interval. */
  tickMs?: number;
  /**
   * Minimum election timeout in ticks (default 6, so 300–600 ms with the
   * default tick). At least 3.
   */
  electionTicks?: number;
  /** Ticks between heartbeats (default 1). */
  heartbeatTicks?: number;
  /**
   * How long the leader lease holds after the tick at which the leader sent
   * the latest heartbeat a quorum answered (default
   * `(electionTicks - 2) * tickMs`). Must stay below the minimum election
   * timeout by a tick and the clock drift.
   */
  leaseMs?: number;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  clock?: () => number;
  /** Randomness in `[0, 1)` for election timeouts (default `Math.random`). */
  random?: () => number;
  /** Receives role changes and lease renewals (the leader guard). */
  election?: RoleSink;
  /** Take a snapshot after this many applied entries (default 10000). */
  snapshotEvery?: number;
  /** Extra options handed to the core. */
  core?: {
    preVote?: boolean;
    checkQuorum?: boolean;
    maxInflightAppends?: number;
    maxEntriesPerAppend?: number;
  };
}

/**
 * The state of a node, as {@linkcode RaftNode.status} reports it.
 *
 * @example A status line
 * ```ts
 * import type { NodeStatus, RaftNode } from "@k8s-operator/k8s-operator/raft";
 * function statusLine(node: RaftNode): string {
 *   const s: NodeStatus = node.status();
 *   return s.leaseRemainingMs !== null
 *     ? `leading term ${s.term}, lease holds ${s.leaseRemainingMs} ms`
 *     : `${s.role}, applied ${s.applied} of ${s.commit}, leader ${s.leader}`;
 * }
 * ```
 */
export interface NodeStatus extends CoreStatus {
  /** Milliseconds the leader lease still holds; `null` when not leading. */
  leaseRemainingMs: number | null;
}

/**
 * Whether a node has caught up with its leader, as
 * {@linkcode RaftNode.readiness} reports it (what a readiness probe serves).
 *
 * @example
 * ```ts
 * import type { NodeReadiness, RaftNode } from "@k8s-operator/k8s-operator/raft";
 * // A readiness probe: 200 once caught up, else 503 and why.
 * function readyz(node: RaftNode): Response {
 *   const { ready, reason }: NodeReadiness = node.readiness();
 *   return new Response(reason, { status: ready ? 200 : 503 });
 * }
 * ```
 */
export interface NodeReadiness {
  /** `true` once this node applied everything its leader has committed. */
  ready: boolean;
  /** Why, in a sentence. */
  reason: string;
}

/**
 * Options of {@linkcode RaftNode.stop}.
 *
 * @example Shutting down on SIGTERM
 * ```ts
 * import type { RaftNode, StopOptions } from "@k8s-operator/k8s-operator/raft";
 * async function onSigterm(node: RaftNode): Promise<void> {
 *   // Hand leadership over, but give up after a second (the pod is going away).
 *   const options: StopOptions = { transfer: true, timeoutMs: 1000 };
 *   await node.stop(options);
 * }
 * ```
 */
export interface StopOptions {
  /** A leader hands leadership to its most caught-up voter first (default `true`). */
  transfer?: boolean;
  /** How long to wait for the handover (default two election timeouts). */
  timeoutMs?: number;
}

/**
 * Raised by calls on a stopped node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyValueStore, MemoryStorage, NodeStoppedError, RaftNode } from "@k8s-operator/k8s-operator/raft";
 * const node = await RaftNode.start({
 *   id: 0,
 *   storage: new MemoryStorage(),
 *   bootstrap: { voters: [0], learners: [] },
 *   stateMachine: new KeyValueStore(),
 *   send: () => {},
 * });
 * await node.stop();
 * await assert.rejects(node.propose(new TextEncoder().encode("x")), NodeStoppedError);
 * ```
 */
export class NodeStoppedError extends RaftError {}
