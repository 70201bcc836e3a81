/**
 * Raft metrics, read from a node's `status()` at every scrape and counted
 * from its role changes and the messages it sends and receives: role, term,
 * commit and applied index, leader changes, elections, append latency,
 * storage append latency and peer reachability.
 *
 * @module
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type { NodeStatus, RoleChange } from "../raft/node.ts";
import type { Storage, StorageWrite } from "../raft/storage.ts";
import type { Message, NodeId, Role } from "../raft/types.ts";
import { collectedGauge, exponentialBuckets, promOf } from "./_families.ts";
import type { MetricsRegistry } from "./registry.ts";

/**
 * What {@linkcode RaftMetrics} reads from a node (a `RaftNode` fits).
 *
 * @example
 * ```ts
 * import type { RaftNode } from "@k8s-operator/k8s-operator/raft";
 * import { MetricsRegistry, type ObservedRaftNode, RaftMetrics } from "@k8s-operator/k8s-operator/metrics";
 * // Only the id, status() and onRoleChange() are read: a RaftNode, or a
 * // test double with those three, will do.
 * function observe(node: RaftNode): RaftMetrics {
 *   const observed: ObservedRaftNode = node;
 *   return new RaftMetrics(observed, { registry: new MetricsRegistry() }); // raft.stop() on shutdown
 * }
 * ```
 */
export interface ObservedRaftNode {
  /** The node's id. */
  readonly id: NodeId;
  /** Its state now. */
  status(): NodeStatus;
  /** Calls `listener` on every change of role, term or leader. */
  onRoleChange(listener: (change: RoleChange) => void): () => void;
}

/**
 * Options of {@linkcode RaftMetrics}.
 *
 * @example A node started with `electionTicks: 10`
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyValueStore, MemoryStorage, RaftNode } from "@k8s-operator/k8s-operator/raft";
 * import { MetricsRegistry, RaftMetrics, type RaftMetricsOptions } from "@k8s-operator/k8s-operator/metrics";
 * const node = await RaftNode.start({
 *   id: 0, storage: new MemoryStorage(), bootstrap: { voters: [0], learners: [] },
 *   stateMachine: new KeyValueStore(), send: () => {}, electionTicks: 10,
 * });
 * const options: RaftMetricsOptions = {
 *   registry: new MetricsRegistry({ defaultLabels: { pod: "my-op-0" } }),
 *   // Unreachable after as many ticks without an ack as the election timeout.
 *   reachableWithinTicks: 10,
 * };
 * const raft = new RaftMetrics(node, options);
 * assert.match(await options.registry.render(), /raft_term\{pod="my-op-0"\} \d/);
 * raft.stop();
 * await node.stop();
 * ```
 */
export interface RaftMetricsOptions {
  /** Where the metrics go; one node per registry. */
  registry: MetricsRegistry;
  /**
   * On the leader, a peer counts as reachable when it acknowledged an
   * append or heartbeat within this many ticks (default 6, the node's
   * default election timeout).
   */
  reachableWithinTicks?: number;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

/**
 * Buckets of the latency histograms: 0.5 ms doubling to about 16 s.
 *
 * @example Timing proposals from submit to apply
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, RAFT_LATENCY_BUCKETS } from "@k8s-operator/k8s-operator/metrics";
 * import { Histogram } from "prom-client";
 * const metrics = new MetricsRegistry();
 * const proposeSeconds = new Histogram({
 *   name: "myop_propose_duration_seconds",
 *   help: "Time from proposing a command until it is applied.",
 *   buckets: [...RAFT_LATENCY_BUCKETS],
 *   registers: [],
 * });
 * metrics.register(proposeSeconds);
 * assert.equal(RAFT_LATENCY_BUCKETS[0], 0.0005);
 * assert.equal(RAFT_LATENCY_BUCKETS.at(-1), 16.384);
 * ```
 */
export const RAFT_LATENCY_BUCKETS: readonly number[] = exponentialBuckets(
  0.0005,
  2,
  16,
);

const ROLES: readonly Role[] = [
  "follower",
  "preCandidate",
  "candidate",
  "leader",
];

/** Appends awaiting acknowledgement kept per peer; older ones are dropped. */
const MAX_PENDING = 1024;

/**
 * Raft metrics of one node.
 *
 * Gauges read `status()` at scrape time: `raft_role{role}` (1 for the
 * current role), `raft_is_leader` (1 only while the leader lease holds: what
 * the leader guard says), `raft_term`, `raft_leader_id` (-1 when
 * unknown), `raft_commit_index`, `raft_applied_index`, `raft_last_index`,
 * and on the leader `raft_peer_reachable{peer}` and
 * `raft_peer_match_index{peer}`. Counters follow role changes:
 * `raft_leader_changes_seen_total`, `raft_elections_total`. Hook
 * {@linkcode RaftMetrics.sent} and {@linkcode RaftMetrics.received} into the
 * transport for `raft_append_latency_seconds{peer}` (leader: from sending an
 * append until the follower acknowledges it),
 * {@linkcode RaftMetrics.sendFailed} for
 * `raft_transport_send_failures_total{peer}`, {@linkcode RaftMetrics.refused}
 * for `raft_transport_refused_total{reason}`, and wrap the storage with
 * {@linkcode RaftMetrics.instrumentStorage} for
 * `raft_storage_append_duration_seconds`.
 *
 * @example Wiring a node and its transport
 * ```ts
 * import { HttpTransport, type HttpTransportOptions, RaftNode, type RaftNodeOptions, type Storage } from "@k8s-operator/k8s-operator/raft";
 * import { MetricsRegistry, RaftMetrics } from "@k8s-operator/k8s-operator/metrics";
 * async function startObserved(wiring: {
 *   transportOptions: Omit<HttpTransportOptions, "onMessages" | "onSendError" | "onRefused">;
 *   nodeOptions: Omit<RaftNodeOptions, "storage" | "send">;
 *   storage: Storage;
 * }): Promise<{ node: RaftNode; metrics: MetricsRegistry }> {
 *   const metrics = new MetricsRegistry();
 *   let raft: RaftMetrics | undefined;
 *   let node: RaftNode | undefined;
 *   const transport = new HttpTransport({
 *     ...wiring.transportOptions,
 *     onMessages: (messages) => { raft?.received(messages); node?.receive(messages); },
 *     onSendError: (peer) => raft?.sendFailed(peer),
 *     onRefused: ({ reason }) => raft?.refused(reason),
 *   });
 *   node = await RaftNode.start({
 *     ...wiring.nodeOptions,
 *     storage: RaftMetrics.instrumentStorage(wiring.storage, { registry: metrics }),
 *     send: (messages) => { raft?.sent(messages); transport.send(messages); },
 *   });
 *   raft = new RaftMetrics(node, { registry: metrics });
 *   return { node, metrics };
 * }
 * ```
 */
export class RaftMetrics {
  readonly #node: ObservedRaftNode;
  readonly #now: () => number;
  readonly #leaderChanges: Counter<string>;
  readonly #elections: Counter<string>;
  readonly #appendLatency: Histogram<"peer">;
  readonly #sendFailures: Counter<"peer">;
  readonly #refused: Counter<"reason">;
  readonly #pending = new Map<NodeId, Array<[index: number, at: number]>>();
  readonly #unsubscribe: () => void;
  #term: number;
  #leader: NodeId | null;
  #role: Role;

  /** Starts observing `node`; registers the Raft metrics in the registry. */
  constructor(node: ObservedRaftNode, options: RaftMetricsOptions) {
    this.#node = node;
    this.#now = options.now ?? (() => performance.now());
    const registers = [promOf(options.registry)];
    const within = options.reachableWithinTicks ?? 6;
    const status = () => node.status();
    const gauge = (
      name: string,
      help: string,
      read: (s: NodeStatus) => number,
    ) => collectedGauge(registers, { name, help, read: () => read(status()) });
    new Gauge({
      name: "raft_role",
      help:
        "1 for the role this node has now (follower, preCandidate, candidate, leader), 0 for the others",
      labelNames: ["role"],
      registers,
      collect() {
        const role = status().role;
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
      },
    });
    gauge(
      "raft_is_leader",
      'What the leader guard says: 1 while this node leads under a valid lease (it may reconcile), 0 otherwise; raft_role{role="leader"} is the bare role',
      (s) => s.role === "leader" && (s.leaseRemainingMs ?? 0) > 0 ? 1 : 0,
    );
    gauge("raft_term", "The current Raft term", (s) => s.term);
    gauge(
      "raft_leader_id",
      "The leader this node knows of, -1 when none",
      (s) => s.leader ?? -1,
    );
    gauge("raft_commit_index", "The commit index", (s) => s.commit);
    gauge("raft_applied_index", "The applied index", (s) => s.applied);
    gauge("raft_last_index", "The last index of the log", (s) => s.lastIndex);
    new Gauge({
      name: "raft_peer_reachable",
      help: `Leader only: 1 when the peer acknowledged within ${within} ticks`,
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        const s = status();
        for (const [peer, p] of Object.entries(s.progress)) {
          if (Number(peer) === s.id) continue;
          const ok = p.ticksSinceAck !== null && p.ticksSinceAck < within;
          this.set({ peer }, ok ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "raft_peer_match_index",
      help: "Leader only: the highest index known to match on the peer",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        const s = status();
        for (const [peer, p] of Object.entries(s.progress)) {
          if (Number(peer) !== s.id) this.set({ peer }, p.match);
        }
      },
    });
    this.#leaderChanges = new Counter({
      name: "raft_leader_changes_seen_total",
      help: "Times this node saw a new leader",
      registers,
    });
    this.#elections = new Counter({
      name: "raft_elections_total",
      help: "Elections this node started (became candidate)",
      registers,
    });
    this.#appendLatency = new Histogram({
      name: "raft_append_latency_seconds",
      help:
        "Leader: time from sending an append to a peer until it acknowledged it",
      labelNames: ["peer"],
      buckets: [...RAFT_LATENCY_BUCKETS],
      registers,
    });
    this.#sendFailures = new Counter({
      name: "raft_transport_send_failures_total",
      help: "Failed requests to a peer",
      labelNames: ["peer"],
      registers,
    });
    this.#refused = new Counter({
      name: "raft_transport_refused_total",
      help:
        "Requests this node refused, by reason (signature, replay, version, ...)",
      labelNames: ["reason"],
      registers,
    });
    const s = node.status();
    this.#term = s.term;
    this.#leader = s.leader;
    this.#role = s.role;
    this.#leaderChanges.inc(0);
    this.#elections.inc(0);
    this.#unsubscribe = node.onRoleChange((change) => this.#onChange(change));
  }

  #onChange(change: RoleChange): void {
    const campaigning = change.role === "candidate" &&
      (this.#role !== "candidate" || change.term !== this.#term);
    if (campaigning) this.#elections.inc();
    if (change.leader !== null && change.leader !== this.#leader) {
      this.#leaderChanges.inc();
    }
    if (change.term !== this.#term || change.role !== "leader") {
      this.#pending.clear();
    }
    this.#term = change.term;
    this.#leader = change.leader;
    this.#role = change.role;
  }

  /** Call with every batch the node hands to the transport. */
  sent(messages: readonly Message[]): void {
    const now = this.#now();
    for (const m of messages) {
      if (m.type !== "append" || m.entries.length === 0) continue;
      let pending = this.#pending.get(m.to);
      if (pending === undefined) {
        pending = [];
        this.#pending.set(m.to, pending);
      }
      pending.push([m.index + m.entries.length, now]);
      if (pending.length > MAX_PENDING) pending.shift();
    }
  }

  /** Call with every batch the transport receives for the node. */
  received(messages: readonly Message[]): void {
    const now = this.#now();
    for (const m of messages) {
      if (m.type !== "appendResp" || m.to !== this.#node.id) continue;
      const pending = this.#pending.get(m.from);
      if (pending === undefined) continue;
      if (m.reject) {
        pending.length = 0;
        continue;
      }
      let acked = 0;
      while (acked < pending.length && pending[acked][0] <= m.index) {
        this.#appendLatency.observe(
          { peer: String(m.from) },
          (now - pending[acked][1]) / 1000,
        );
        acked++;
      }
      pending.splice(0, acked);
    }
  }

  /** Call when a request to `peer` failed (`HttpTransport`'s `onSendError`). */
  sendFailed(peer: NodeId): void {
    this.#sendFailures.inc({ peer: String(peer) });
  }

  /**
   * Call when the transport refused a request (`HttpTransport`'s
   * `onRefused`), with its reason (`signature`, `replay`, `version`, ...).
   */
  refused(reason: string): void {
    this.#refused.inc({ reason });
  }

  /** Stops following role changes (the gauges stay registered). */
  stop(): void {
    this.#unsubscribe();
  }

  /**
   * Wraps `storage` so each `save` (append and fsync) is timed into
   * `raft_storage_append_duration_seconds`. Behaviour is unchanged.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryStorage } from "@k8s-operator/k8s-operator/raft";
   * import { MetricsRegistry, RaftMetrics } from "@k8s-operator/k8s-operator/metrics";
   * const storage = RaftMetrics.instrumentStorage(new MemoryStorage(), { registry: new MetricsRegistry() });
   * assert.equal(storage.durable, false);
   * ```
   */
  static instrumentStorage(
    storage: Storage,
    options: Pick<RaftMetricsOptions, "registry" | "now">,
  ): Storage {
    const now = options.now ?? (() => performance.now());
    const histogram = new Histogram({
      name: "raft_storage_append_duration_seconds",
      help: "Time to persist entries and hard state (including fsync)",
      buckets: [...RAFT_LATENCY_BUCKETS],
      registers: [promOf(options.registry)],
    });
    return {
      durable: storage.durable,
      load: () => storage.load(),
      async save(write: StorageWrite): Promise<void> {
        const started = now();
        try {
          await storage.save(write);
        } finally {
          histogram.observe((now() - started) / 1000);
        }
      },
      compact: (snapshot) => storage.compact(snapshot),
      close: () => storage.close(),
    };
  }
}
