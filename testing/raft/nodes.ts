/**
 * A cluster of runtime Raft nodes in one process, for tests of code that
 * uses `RaftNode` (in the manner of etcd's `rafttest`): each node has a
 * `LeaderElection` it reports into and a key-value state machine, messages
 * go through an in-memory network that can cut links, hold or drop
 * messages, and time is whatever clock the test gives (a fake one, driven
 * by `node:test`'s mock timers, makes a run reproducible with the seed).
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { NodeId } from "../../common/leadership.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import { KeyValueStore } from "../../raft/kv.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import {
  RaftNode,
  type RaftNodeOptions,
  type RoleChange,
} from "../../raft/node.ts";
import type { Storage } from "../../raft/storage.ts";
import type { Message } from "../../raft/types.ts";
import { Links } from "./network.ts";
import { seeded } from "./random.ts";

/**
 * Options of a {@linkcode NodeCluster}.
 *
 * @example Five nodes on a fake clock, ticking every 10 ms
 * ```ts
 * import type { NodeClusterOptions } from "@k8s-operator/k8s-operator/testing";
 * const options: NodeClusterOptions = { voters: [0, 1, 2, 3, 4], clock: () => Date.now(), tickMs: 10, seed: 3 };
 * ```
 */
export interface NodeClusterOptions {
  /** The initial voters, every node's `bootstrap` (default `[0, 1, 2]`). */
  voters?: readonly NodeId[];
  /** Seeds each node's randomness (election timeouts); default 1. */
  seed?: number;
  /** The monotonic clock of the nodes and elections (default `performance.now`). */
  clock?: () => number;
  /** Milliseconds per tick (default: the node's, 50). */
  tickMs?: number;
  /** The minimum election timeout in ticks (default: the node's, 6). */
  electionTicks?: number;
  /** Whether each `LeaderElection` requires the node's lease (default `true`). */
  requireLease?: boolean;
}

/**
 * Options of one node of a {@linkcode NodeCluster}.
 *
 * @example A node that joins later, on a storage the test keeps
 * ```ts
 * import { MemoryStorage } from "@k8s-operator/k8s-operator/raft";
 * import type { NodeCluster, NodeOptions } from "@k8s-operator/k8s-operator/testing";
 * async function addLate(cluster: NodeCluster): Promise<MemoryStorage> {
 *   const storage = new MemoryStorage(); // kept by the test, to restart node 3 on it
 *   const options: NodeOptions = { storage, seed: 42 };
 *   await cluster.add(3, options);
 *   return storage;
 * }
 * ```
 */
export interface NodeOptions {
  /** Its storage (default a new `MemoryStorage`). */
  storage?: Storage;
  /** Its `bootstrap` voters (default the cluster's). */
  voters?: readonly NodeId[];
  /** Seeds its randomness (default from the cluster's seed and its id). */
  seed?: number;
  /** Options passed to its core. */
  core?: RaftNodeOptions["core"];
}

/**
 * One node of a {@linkcode NodeCluster}.
 *
 * @example
 * ```ts
 * import type { NodeCluster, NodeMember } from "@k8s-operator/k8s-operator/testing";
 * async function writeThroughZero(cluster: NodeCluster): Promise<string> {
 *   const member: NodeMember = cluster.members.get(0)!;
 *   await member.node.propose(new TextEncoder().encode("x"));
 *   return `${member.roles.at(-1)?.role}, guard leads: ${member.election.guard().isLeader()}`;
 * }
 * ```
 */
export interface NodeMember {
  /** The node. */
  node: RaftNode;
  /** The leader election it reports into. */
  election: LeaderElection;
  /** Its state machine. */
  store: KeyValueStore;
  /** Every role change it reported, in order. */
  roles: RoleChange[];
}

/**
 * A change of one guard's leadership, at a time on the cluster's clock.
 *
 * @example How long no guard led during a failover
 * ```ts
 * import type { GuardChange, NodeCluster } from "@k8s-operator/k8s-operator/testing";
 * function leaderlessMs(cluster: NodeCluster): number {
 *   const lose = cluster.history.find((h: GuardChange) => h.kind === "lose")!;
 *   const gain = cluster.history.findLast((h: GuardChange) => h.kind === "gain")!;
 *   return gain.at - lose.at;
 * }
 * ```
 */
export interface GuardChange {
  /** Gained or lost leadership. */
  kind: "gain" | "lose";
  /** The node. */
  id: NodeId;
  /** The term of the guard's leadership. */
  term: number;
  /** When, on the cluster's clock. */
  at: number;
}

/**
 * What happens to a message: delivered, held for the test, or dropped.
 *
 * @example Hold the leader's heartbeats, drop every vote
 * ```ts
 * import type { NodeCluster, Route } from "@k8s-operator/k8s-operator/testing";
 * function starveElections(cluster: NodeCluster): void {
 *   cluster.route = (m): Route =>
 *     m.type === "heartbeat" ? "hold" : m.type === "vote" ? "drop" : "deliver";
 * }
 * ```
 */
export type Route = "deliver" | "hold" | "drop";

/**
 * Runtime Raft nodes in one process over an in-memory network.
 *
 * @example Three nodes on a fake clock elect one leader
 * ```ts
 * import assert from "node:assert/strict";
 * import { mock } from "node:test";
 * import { NodeCluster } from "@k8s-operator/k8s-operator/testing";
 * mock.timers.enable({ apis: ["setTimeout", "Date"] });
 * const cluster = new NodeCluster({ clock: () => Date.now(), seed: 7 });
 * await cluster.start();
 * await cluster.runUntil(() => cluster.leaders().length === 1, {
 *   limitMs: 5_000,
 *   advance: (ms) => mock.timers.tick(ms),
 * });
 * const [leader] = cluster.leaders();
 * cluster.links.isolate(leader, cluster.ids());
 * await cluster.stopAll();
 * mock.timers.reset();
 * assert.equal(typeof leader, "number");
 * ```
 */
export class NodeCluster {
  /** The nodes, by id. */
  readonly members: Map<NodeId, NodeMember> = new Map();
  /** Every change of a guard's leadership, in order. */
  readonly history: GuardChange[] = [];
  /** Messages {@linkcode NodeCluster.route} held, for the test to deliver or drop. */
  readonly held: Message[] = [];
  /** The links between nodes: a cut link drops its messages. */
  readonly links: Links = new Links();
  /**
   * Decides each message's fate (default: delivered unless its link is
   * cut). Replace it to hold or drop chosen messages.
   */
  route: (message: Message) => Route = (m) =>
    this.links.canReach(m.from, m.to) ? "deliver" : "drop";
  readonly #options: NodeClusterOptions;
  readonly #clock: () => number;

  /** A cluster with no node started yet. */
  constructor(options: NodeClusterOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** The initial voters. */
  get voters(): readonly NodeId[] {
    return this.#options.voters ?? [0, 1, 2];
  }

  /** The ids of the started nodes. */
  ids(): NodeId[] {
    return [...this.members.keys()];
  }

  /** Starts every initial voter. */
  async start(): Promise<void> {
    for (const id of this.voters) await this.add(id);
  }

  /** Starts node `id` (a voter, or a node the leader will add). */
  async add(id: NodeId, options: NodeOptions = {}): Promise<NodeMember> {
    const election = new LeaderElection(id, {
      requireLease: this.#options.requireLease ?? true,
      now: this.#clock,
    });
    let leading = false;
    election.subscribe((s) => {
      if (s.isLeader === leading) return;
      leading = s.isLeader;
      this.history.push({
        kind: leading ? "gain" : "lose",
        id,
        term: s.term,
        at: this.#clock(),
      });
    });
    const store = new KeyValueStore();
    const node = await RaftNode.start({
      id,
      storage: options.storage ?? new MemoryStorage(),
      bootstrap: { voters: [...(options.voters ?? this.voters)], learners: [] },
      stateMachine: store,
      send: (messages) => queueMicrotask(() => this.deliver(messages)),
      tickMs: this.#options.tickMs,
      electionTicks: this.#options.electionTicks,
      clock: this.#clock,
      random: seeded(options.seed ?? (this.#options.seed ?? 1) * 1000 + id),
      election,
      core: options.core,
    });
    const roles: RoleChange[] = [];
    node.onRoleChange((change) => roles.push(change));
    const member = { node, election, store, roles };
    this.members.set(id, member);
    return member;
  }

  /** Routes `messages` now (what each node's `send` does, a microtask later). */
  deliver(messages: readonly Message[]): void {
    for (const m of messages) {
      const way = this.route(m);
      if (way === "hold") this.held.push(m);
      else if (way === "deliver") this.members.get(m.to)?.node.receive([m]);
    }
  }

  /** The ids of the nodes whose guard says leader. */
  leaders(): NodeId[] {
    return this.ids().filter((id) =>
      this.members.get(id)!.election.guard().isLeader()
    );
  }

  /**
   * Throws unless at most one guard leads and every guard agrees with its
   * node (`isLeader()`, the role and the term).
   */
  checkLeadership(): void {
    const leaders = this.leaders();
    if (leaders.length > 1) {
      throw new Error(
        `Expected at most one guard to lead, found ${leaders.join(", ")}`,
      );
    }
    for (const [id, { node, election }] of this.members) {
      const guard = election.guard();
      if (guard.isLeader() !== node.isLeader()) {
        throw new Error(
          `Expected node ${id}'s guard to agree with its node, found guard ${guard.isLeader()} and node ${node.isLeader()}`,
        );
      }
      const status = node.status();
      if (
        guard.isLeader() &&
        (status.role !== "leader" || guard.term !== status.term)
      ) {
        throw new Error(
          `Expected node ${id}'s leading guard at its node's term ${status.term} as leader, found term ${guard.term} and role ${status.role}`,
        );
      }
    }
  }

  /**
   * Advances time by `stepMs` (default 2) with `advance` (a fake clock's
   * tick) until `done()` holds, checking the leadership invariants
   * ({@linkcode NodeCluster.checkLeadership}) at every step; throws after
   * `limitMs` of advanced time.
   */
  async runUntil(
    done: () => boolean,
    options: {
      limitMs: number;
      advance: (ms: number) => void;
      stepMs?: number;
    },
  ): Promise<void> {
    const step = options.stepMs ?? 2;
    for (let elapsed = 0; elapsed <= options.limitMs; elapsed += step) {
      this.checkLeadership();
      if (done()) return;
      options.advance(step);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    throw new Error(
      `Expected the condition within ${options.limitMs} ms of advanced time, found it false`,
    );
  }

  /**
   * Stops every node, without handing leadership over. On a fake clock,
   * pass its `advance`: a node's loop finishes on a timer.
   */
  async stopAll(options: { advance?: (ms: number) => void } = {}): Promise<
    void
  > {
    for (const { node } of this.members.values()) {
      const stopped = node.stop({ transfer: false });
      options.advance?.(2);
      await stopped;
    }
  }
}
