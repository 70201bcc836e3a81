/**
 * A simulated cluster: cores, their stores and state machines, one network,
 * one logical clock. Every write a core asks for is made before its messages
 * leave, as a runtime node does, except a leader's writes that nothing in
 * their `Ready` depends on: those land one to three ticks behind their
 * messages, as `RaftNode` makes them (Raft §10.2.1, the same rule,
 * `raft/_ready.ts`), unless the node crashes first; the core counts them for
 * the leader only once landed. Every write, apply and role is shown to the
 * {@linkcode Checker}.
 *
 * @module
 */
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  PersistedState,
  Ready,
  Role,
} from "../../raft/types.ts";
import { replicatesEarly } from "../../raft/_ready.ts";
import { chainDigest, decodeDigest, encodeDigest } from "./_digest.ts";
import { Checker, SimViolation } from "./_invariants.ts";
import type { LeaderView } from "./_invariants.ts";
import { RaftTestNetwork } from "../../testing/raft/network.ts";
import type { NetworkFaults } from "../../testing/raft/network.ts";
import type { Prng } from "../../testing/raft/random.ts";
import { SimStore, StoreError } from "./_store.ts";

/** The part of a core's status the simulator reads. */
export interface SimCoreStatus {
  /** The node's role. */
  role: Role;
  /** Its current term. */
  term: number;
  /** The leader it knows of. */
  leader: NodeId | null;
  /** Its commit index. */
  commit: number;
  /** The membership it uses. */
  conf: ConfState;
}

/** The core API the simulator drives (what `RaftCore` offers). */
export interface SimCore {
  /** One logical tick. */
  tick(): void;
  /** A message from a peer. */
  step(message: Message): void;
  /** Proposes application data; returns its index. */
  propose(data: Uint8Array): number;
  /** Proposes a membership change; returns its index. */
  proposeConfChange(change: ConfChange): number;
  /** Hands leadership to `to`. */
  transferLeadership(to: NodeId): void;
  /** Starts an election now. */
  campaign(): void;
  /** Snapshots the state machine at an applied index. */
  compact(index: number, data: Uint8Array): void;
  /** Whether a {@linkcode Ready} is waiting. */
  hasReady(): boolean;
  /** The work to do. */
  ready(): Ready;
  /** Acknowledges the last ready (`persisted: false`: its write is not done). */
  advance(options?: { persisted?: boolean }): void;
  /** The node's log is on its disk up to `at`. */
  markPersisted(at: { index: number; term: number }): void;
  /** The node's view. */
  status(): SimCoreStatus;
  /** Ticks since a quorum last acknowledged this leader; `null` when not leader. */
  leaseTicks(): number | null;
}

/** Tuning passed to every core of a run. */
export interface SimCoreTuning {
  /** Base election timeout in ticks. */
  electionTicks: number;
  /** Heartbeat interval in ticks. */
  heartbeatTicks: number;
  /** Pre-vote on or off. */
  preVote: boolean;
  /** Check-quorum on or off. */
  checkQuorum: boolean;
  /** Appends in flight per follower. */
  maxInflightAppends: number;
  /** Entries per append message. */
  maxEntriesPerAppend: number;
}

/** What a core factory is given. */
export interface SimCoreOptions extends SimCoreTuning {
  /** The node's id. */
  id: NodeId;
  /** What the node has persisted. */
  state: PersistedState;
  /** The initial membership. */
  bootstrap: ConfState;
  /** The node's random source. */
  random: () => number;
}

/** Builds a core (the real one or a deliberately broken variant). */
export type CoreFactory = (options: SimCoreOptions) => SimCore;

/** Decides whether an error a core threw from a client call is an expected refusal. */
export type RefusalTest = (error: unknown) => boolean;

/** How a cluster is set up. */
export interface ClusterOptions {
  /** Every node id in the pool (members and spares). */
  ids: NodeId[];
  /** The initial membership. */
  bootstrap: ConfState;
  /** Builds cores. */
  factory: CoreFactory;
  /** Recognizes expected refusals (not leader, change pending). */
  isRefusal: RefusalTest;
  /** Core tuning. */
  tuning: SimCoreTuning;
  /** Network faults at start. */
  faults: NetworkFaults;
  /** Snapshot once this many entries were applied since the last one (0: never). */
  compactEvery: number;
  /** The run's random source. */
  prng: Prng;
  /** Receives a trace line per event, when set. */
  trace?: (line: string) => void;
}

interface StateMachine {
  applied: number;
  digest: number;
}

/** One simulated node: its store survives crashes, the rest does not. */
export class SimNode {
  readonly id: NodeId;
  store: SimStore = new SimStore();
  /** The stores it lost (wiped), oldest first. */
  readonly lostStores: SimStore[] = [];
  /** How many times the store was lost (wiped) so far. */
  generation = 0;
  /**
   * Set from the loss of its store until it is a voter again as its new
   * incarnation in every membership that names it, or named in none (see
   * {@linkcode Cluster.lostNodes}).
   */
  lost: { since: number } | null = null;
  core: SimCore | null = null;
  sm: StateMachine = { applied: 0, digest: 0 };
  role: Role = "follower";
  term = 0;
  commit = 0;
  conf: ConfState = { voters: [], learners: [] };
  /**
   * A leader's writes behind its messages, as `RaftNode` makes them (Raft
   * §10.2.1): each lands at tick `due` (one to three ticks after its Ready,
   * in order), unless the node crashes first and loses it.
   */
  writes: { entries: Entry[]; hardState: HardState | null; due: number }[] = [];

  /** A node with an empty store. */
  constructor(id: NodeId) {
    this.id = id;
  }

  /** Whether the node is running. */
  get live(): boolean {
    return this.core !== null;
  }
}

/** Counters of what happened in a run. */
export interface ClusterStats {
  /** Leaders elected (distinct terms with a leader). */
  elections: number;
  /** Entries applied, summed over nodes. */
  applied: number;
  /** Crashes. */
  crashes: number;
  /** Crashes that lost the node's store (disk loss). */
  wipes: number;
  /** Crashes of a leader between sending its appends and writing them. */
  crashesBeforeWrite: number;
  /** Times every node lost its store at once. */
  wipeAlls: number;
  /** Snapshots taken by compaction. */
  compactions: number;
  /** Snapshots installed from a leader. */
  snapshotsInstalled: number;
  /** Proposals accepted by a leader. */
  proposals: number;
  /** Membership changes accepted by a leader. */
  confChanges: number;
  /** Leadership transfers started. */
  transfers: number;
}

/** A cluster of simulated nodes. */
export class Cluster {
  readonly nodes: Map<NodeId, SimNode> = new Map();
  readonly network: RaftTestNetwork;
  readonly checker: Checker = new Checker();
  readonly stats: ClusterStats = {
    elections: 0,
    applied: 0,
    crashes: 0,
    wipes: 0,
    crashesBeforeWrite: 0,
    wipeAlls: 0,
    compactions: 0,
    snapshotsInstalled: 0,
    proposals: 0,
    confChanges: 0,
    transfers: 0,
  };
  now = 0;
  compactEvery: number;
  #options: ClusterOptions;
  #prng: Prng;
  #leaderSeen = new Set<string>();
  #leasesVoidUpTo = 0;
  #proposalSeq = 0;

  /** A cluster whose nodes are not started yet (see {@linkcode start}). */
  constructor(options: ClusterOptions) {
    this.#options = options;
    this.#prng = options.prng;
    this.compactEvery = options.compactEvery;
    this.network = new RaftTestNetwork(options.prng.fork(), options.faults);
    for (const id of options.ids) this.nodes.set(id, new SimNode(id));
  }

  /** Starts every node of the pool. */
  start(): void {
    for (const id of this.nodes.keys()) this.restart(id);
  }

  #trace(line: string): void {
    this.#options.trace?.(`[${this.now}] ${line}`);
  }

  #node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`Unknown node ${id}`);
    return node;
  }

  /** Runs `fn` on a node's core; an unexpected throw is a violation. */
  #guard<T>(node: SimNode, what: string, fn: (core: SimCore) => T): T {
    const core = node.core;
    if (core === null) throw new RangeError(`Node ${node.id} is down`);
    try {
      return fn(core);
    } catch (error) {
      if (error instanceof SimViolation) throw error;
      this.checker.fail(
        "core error",
        `node ${node.id} threw from ${what}: ${
          error instanceof Error ? `${error.name}: ${error.message}` : error
        }`,
      );
    }
  }

  /** The live nodes, by id. */
  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.live);
  }

  /** Live nodes that currently act as leader. */
  leaders(): SimNode[] {
    return this.live().filter((n) => n.role === "leader");
  }

  #leaderViews(): LeaderView[] {
    return this.leaders().map((n) => ({
      id: n.id,
      term: n.term,
      store: n.store,
    }));
  }

  /** Crashes a node: its core, state machine and volatile state are lost. */
  crash(id: NodeId): void {
    const node = this.#node(id);
    if (!node.live) return;
    node.core = null;
    node.role = "follower";
    if (node.writes.length > 0) this.stats.crashesBeforeWrite++;
    node.writes = [];
    this.stats.crashes++;
    this.#trace(`crash ${id}`);
  }

  /**
   * Disk loss: crashes a node (if running) and throws its store away, so it
   * restarts empty, as a new incarnation. A node that was a voter counts as
   * lost until a leader's membership holds its new incarnation as a voter.
   */
  wipe(id: NodeId): void {
    const node = this.#node(id);
    this.crash(id);
    // Lost if some membership names it (a learner may be promoted as the
    // incarnation it had), or, before any node holds one, if it is a voter
    // of the bootstrap membership (its bootstrap vote may be in the first).
    const views = this.#views();
    const named = views.length > 0
      ? views.some((v) => v.voters.includes(id) || v.learners.includes(id))
      : this.#options.bootstrap.voters.includes(id);
    if (named) node.lost = { since: this.now };
    node.lostStores.push(node.store);
    node.store = new SimStore();
    node.generation++;
    node.sm = { applied: 0, digest: 0 };
    node.conf = { voters: [], learners: [] };
    this.stats.wipes++;
    this.#trace(`wipe ${id}`);
  }

  /**
   * Every node loses its store at once (a whole cluster on memory storage
   * restarted): the cluster starts afresh, so the checker starts a new
   * history (committed entries of the old one are gone by design).
   */
  wipeAll(): void {
    for (const id of this.nodes.keys()) this.wipe(id);
    for (const node of this.nodes.values()) node.lost = null;
    this.checker.newEpoch();
    this.stats.wipeAlls++;
    this.#trace("every node lost its store");
  }

  /**
   * Whether the adversary may take node `id`'s disk now, given what this
   * design promises to survive: no other node is lost, no membership change
   * is in progress (every node that holds a membership holds the same one),
   * and the voters that keep their state stay a majority. Beyond that the
   * cluster may rightly wait instead of losing entries (a change in progress
   * can leave the only copy of the newest membership on a node it removed),
   * and liveness after healing could not be expected.
   */
  mayWipe(id: NodeId): boolean {
    if (this.lostNodes().length > 0) return false;
    const views = this.#views();
    if (views.length === 0) return true;
    const key = (v: ConfState) =>
      JSON.stringify([v.voters.toSorted(), v.learners.toSorted()]);
    if (views.some((v) => key(v) !== key(views[0]))) return false;
    const { voters } = views[0];
    const kept = voters.filter((v) => v !== id).length;
    return kept >= Math.floor(voters.length / 2) + 1;
  }

  /** The membership every node last showed, for those that hold one. */
  #views(): ConfState[] {
    return [...this.nodes.values()]
      .filter((n) => n.conf.voters.length > 0)
      .map((n) => n.conf);
  }

  /**
   * Nodes lost (see {@linkcode wipe}) and not yet voters again: in every
   * membership that names it, a voter as its new incarnation (so the change
   * that made it one again is surely committed), or named in none.
   */
  lostNodes(): SimNode[] {
    const views = this.#views();
    for (const node of this.nodes.values()) {
      if (node.lost === null || views.length === 0) continue;
      const naming = views.filter((v) =>
        v.voters.includes(node.id) || v.learners.includes(node.id)
      );
      const back = naming.every((v) =>
        v.voters.includes(node.id) &&
        v.incarnations?.[node.id] === node.store.incarnation
      );
      if (back) node.lost = null;
    }
    return [...this.nodes.values()].filter((n) => n.lost !== null);
  }

  /** Starts (or restarts) a node from what it persisted. */
  restart(id: NodeId): void {
    const node = this.#node(id);
    if (node.live) return;
    node.sm = {
      applied: node.store.snapshotIndex,
      digest: node.store.snapshotDigest,
    };
    const rng = this.#prng.fork();
    const options: SimCoreOptions = {
      ...this.#options.tuning,
      id,
      state: node.store.load(),
      bootstrap: {
        voters: [...this.#options.bootstrap.voters],
        learners: [...this.#options.bootstrap.learners],
      },
      random: () => rng.next(),
    };
    try {
      node.core = this.#options.factory(options);
    } catch (error) {
      this.checker.fail(
        "core error",
        `node ${id} failed to start from its persisted state: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
    if (this.now > 0) this.#trace(`restart ${id}`);
    this.#process(node);
  }

  /** One tick: every live node ticks, then every due message is delivered. */
  tick(): void {
    this.now++;
    this.checker.tick = this.now;
    for (const node of this.live()) {
      if (this.#land(node, this.now)) this.#process(node);
    }
    for (const node of this.live()) {
      this.#guard(node, "tick()", (c) => c.tick());
      this.#process(node);
    }
    for (const message of this.network.due(this.now)) {
      const node = this.nodes.get(message.to);
      if (node === undefined || !node.live) continue;
      this.#guard(node, `step(${message.type})`, (c) => c.step(message));
      this.#process(node);
    }
    this.#checkLeases();
  }

  /**
   * Lands a node's writes due by tick `upTo`, in order, and tells its core;
   * `true` when one landed.
   */
  #land(node: SimNode, upTo: number): boolean {
    let landed = false;
    while (node.writes.length > 0 && node.writes[0].due <= upTo) {
      const write = node.writes.shift()!;
      this.#store(node, { ...write, leader: true });
      const last = write.entries[write.entries.length - 1];
      if (last !== undefined) {
        this.#guard(
          node,
          "markPersisted()",
          (c) => c.markPersisted({ index: last.index, term: last.term }),
        );
      }
      landed = true;
    }
    return landed;
  }

  /**
   * Leader lease: with check-quorum, a leader whose `leaseTicks()` is below
   * `electionTicks` minus the longest message delay must be the only leader:
   * no node leads a later term at the same time. A `campaign()` call may end
   * a lease early (documented), so it voids the leases of its term and below.
   */
  #checkLeases(): void {
    if (!this.#options.tuning.checkQuorum) return;
    const leaders = this.leaders();
    if (leaders.length < 2) return;
    const newest = Math.max(...leaders.map((n) => n.term));
    const bound = this.#options.tuning.electionTicks -
      this.network.longestDelay;
    for (const old of leaders) {
      if (old.term === newest || old.term <= this.#leasesVoidUpTo) continue;
      const lease = this.#guard(old, "leaseTicks()", (c) => c.leaseTicks());
      if (lease !== null && lease < bound) {
        this.checker.fail(
          "leader lease",
          `node ${old.id} still holds its lease of term ${old.term} (${lease} ticks since a quorum acknowledged it, bound ${bound}) while term ${newest} has a leader`,
        );
      }
    }
  }

  /** Handles every pending ready of a node, then records its role. */
  #process(node: SimNode): void {
    for (
      let round = 0;
      this.#guard(node, "hasReady()", (c) => c.hasReady());
      round++
    ) {
      if (round > 1000) {
        this.checker.fail(
          "core error",
          `node ${node.id} never runs out of readies`,
        );
      }
      const ready = this.#guard(node, "ready()", (c) => c.ready());
      if (
        replicatesEarly(ready, {
          leader: node.role === "leader",
          saved: node.store.hardState,
        })
      ) {
        // As RaftNode: everything leaves and applies now, the write lands
        // later, and the core counts it for the leader only once it did.
        this.#send(node, ready.messages);
        this.#apply(node, ready);
        if (ready.entries.length > 0 || ready.hardState !== null) {
          node.writes.push({
            entries: ready.entries,
            hardState: ready.hardState,
            due: Math.max(
              node.writes[node.writes.length - 1]?.due ?? 0,
              this.now + this.#prng.range(1, 3),
            ),
          });
        }
        this.#guard(
          node,
          "advance()",
          (c) => c.advance({ persisted: false }),
        );
      } else {
        // RaftNode's writes are in order: this one waits for those before.
        this.#land(node, Infinity);
        this.#handle(node, ready);
        this.#guard(node, "advance()", (c) => c.advance());
      }
      this.#maybeCompact(node);
    }
    this.#observe(node);
  }

  #observe(node: SimNode): void {
    const status = this.#guard(node, "status()", (c) => c.status());
    node.role = status.role;
    node.term = status.term;
    node.commit = status.commit;
    node.conf = status.conf;
    if (status.role !== "leader") return;
    const key = `${node.id}@${status.term}`;
    if (this.#leaderSeen.has(key)) return;
    this.#leaderSeen.add(key);
    this.stats.elections++;
    this.#trace(`node ${node.id} leads term ${status.term}`);
    this.checker.onLeader({
      id: node.id,
      term: status.term,
      store: node.store,
    });
  }

  #handle(node: SimNode, ready: Ready): void {
    const { store } = node;
    const wasLeader = node.role === "leader" &&
      (ready.softState === null ||
        (ready.softState.role === "leader" &&
          ready.softState.term === node.term));
    if (ready.softState !== null) {
      node.role = ready.softState.role;
      node.term = ready.softState.term;
    }
    if (ready.incarnation !== undefined) store.incarnation = ready.incarnation;
    if (ready.snapshot !== null) {
      const snap = ready.snapshot;
      const digest = decodeDigest(snap.data);
      if (digest === null) {
        this.checker.fail(
          "state-machine safety",
          `node ${node.id} was handed a snapshot whose data the state machine did not write`,
        );
      }
      const fresh = snap.metadata.index > node.sm.applied;
      if (wasLeader && fresh) {
        this.checker.fail(
          "leader append-only",
          `leader ${node.id} installed a snapshot at ${snap.metadata.index} past its applied ${node.sm.applied}`,
        );
      }
      this.#write(node, () => store.applySnapshot(snap, digest));
      this.checker.onSnapshot(node.id, {
        index: snap.metadata.index,
        term: snap.metadata.term,
        digest,
      });
      if (fresh) {
        node.sm = { applied: snap.metadata.index, digest };
        this.stats.snapshotsInstalled++;
        this.#trace(
          `node ${node.id} installs snapshot at ${snap.metadata.index}`,
        );
      }
    }
    this.#store(node, {
      entries: ready.entries,
      hardState: ready.hardState,
      leader: wasLeader,
    });
    this.#send(node, ready.messages);
    this.#apply(node, ready);
  }

  /** Writes entries and a hard state to a node's store, checked. */
  #store(
    node: SimNode,
    write: { entries: Entry[]; hardState: HardState | null; leader: boolean },
  ): void {
    const { store } = node;
    if (write.entries.length > 0) {
      if (write.leader && write.entries[0].index <= store.lastIndex) {
        this.checker.fail(
          "leader append-only",
          `leader ${node.id} of term ${node.term} overwrote its log from index ${
            write.entries[0].index
          } (last was ${store.lastIndex})`,
        );
      }
      const added = this.#write(node, () => store.append(write.entries));
      this.checker.onStored(node.id, added);
    }
    if (write.hardState !== null) {
      this.checker.onHardState(`${node.id}#${node.generation}`, {
        before: store.hardState,
        after: write.hardState,
      });
      store.hardState = { ...write.hardState };
    }
  }

  #send(node: SimNode, messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.from !== node.id) {
        this.checker.fail(
          "core error",
          `node ${node.id} sent a message from ${message.from}`,
        );
      }
      this.network.send(message, this.now);
    }
  }

  /** Applies a Ready's committed entries, checking each. */
  #apply(node: SimNode, ready: Ready): void {
    const { store } = node;
    for (const entry of ready.committedEntries) {
      if (entry.index !== node.sm.applied + 1) {
        this.checker.fail(
          "apply order",
          `node ${node.id} was asked to apply entry ${entry.index} after ${node.sm.applied}`,
        );
      }
      const digest = chainDigest(node.sm.digest, entry);
      const own = store.digestAt(entry.index);
      if (own !== undefined && own !== digest) {
        this.checker.fail(
          "state-machine safety",
          `node ${node.id} applied entry ${entry.index} that differs from its own log`,
        );
      }
      if (node.role === "leader" && !this.checker.isCommitted(entry.index)) {
        this.#checkMajority(node, { index: entry.index, digest });
      }
      node.sm = { applied: entry.index, digest };
      this.stats.applied++;
      this.checker.onApply({
        node: node.id,
        index: entry.index,
        term: entry.term,
        digest,
        nodeTerm: node.term,
      }, this.#leaderViews());
    }
  }

  /**
   * A leader commits only entries a majority of its voters have persisted,
   * each voter as the incarnation the leader's membership records (its store
   * then, even if that store was lost since: the loss made it a new voter).
   */
  #checkMajority(
    leader: SimNode,
    entry: { index: number; digest: number },
  ): void {
    const { voters, incarnations } =
      this.#guard(leader, "status()", (c) => c.status()).conf;
    const holders = voters.filter((id) => {
      const node = this.nodes.get(id);
      const store = node === undefined ? undefined : [
        node.store,
        ...node.lostStores,
      ].find((s) => s.incarnation === incarnations?.[id]);
      return store !== undefined &&
        (store.snapshotIndex >= entry.index ||
          store.digestAt(entry.index) === entry.digest);
    });
    if (holders.length * 2 <= voters.length) {
      this.checker.fail(
        "quorum commit",
        `leader ${leader.id} committed entry ${entry.index} stored only on [${holders}] of voters [${voters}]`,
      );
    }
  }

  #write<T>(node: SimNode, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      return this.checker.fail(
        "durable state",
        `node ${node.id} asked for an impossible write: ${error.message}`,
      );
    }
  }

  #maybeCompact(node: SimNode): void {
    if (this.compactEvery <= 0 || node.core === null) return;
    const { applied, digest } = node.sm;
    if (applied - node.store.snapshotIndex < this.compactEvery) return;
    this.stats.compactions++;
    this.#guard(
      node,
      "compact()",
      (c) => c.compact(applied, encodeDigest(digest)),
    );
  }

  /** Tries a client call on a node; an expected refusal returns `null`. */
  #client<T>(id: NodeId, what: string, fn: (core: SimCore) => T): T | null {
    const node = this.#node(id);
    if (node.core === null) return null;
    const core = node.core;
    let result: T;
    try {
      result = fn(core);
    } catch (error) {
      if (this.#options.isRefusal(error)) return null;
      return this.#guard(node, what, () => {
        throw error;
      });
    }
    this.#process(node);
    return result;
  }

  /** Proposes fresh application data on a node; returns the index or `null` when refused. */
  propose(id: NodeId): number | null {
    const data = new TextEncoder().encode(`p${++this.#proposalSeq}`);
    const index = this.#client(id, "propose()", (c) => c.propose(data));
    if (index !== null) {
      this.stats.proposals++;
      this.#trace(`node ${id} proposes p${this.#proposalSeq} at ${index}`);
    }
    return index;
  }

  /** Proposes a membership change on a node; `null` when refused. */
  proposeConfChange(id: NodeId, change: ConfChange): number | null {
    const index = this.#client(
      id,
      "proposeConfChange()",
      (c) => c.proposeConfChange(change),
    );
    if (index !== null) {
      this.stats.confChanges++;
      this.#trace(
        `node ${id} proposes ${change.type} ${change.nodeId} at ${index}`,
      );
    }
    return index;
  }

  /** Asks a node to hand leadership to `to`. */
  transfer(id: NodeId, to: NodeId): void {
    const done = this.#client(id, "transferLeadership()", (c) => {
      c.transferLeadership(to);
      return true;
    });
    if (done !== null) {
      this.stats.transfers++;
      this.#trace(`node ${id} transfers leadership to ${to}`);
    }
  }

  /** A live node's `leaseTicks()`, `null` when it does not lead or is down. */
  leaseTicks(id: NodeId): number | null {
    const node = this.#node(id);
    if (!node.live) return null;
    return this.#guard(node, "leaseTicks()", (c) => c.leaseTicks());
  }

  /** Makes a node start an election now (voiding current leases). */
  campaign(id: NodeId): void {
    const node = this.#node(id);
    if (node.live) {
      this.#leasesVoidUpTo = Math.max(this.#leasesVoidUpTo, node.term);
    }
    if (
      this.#client(id, "campaign()", (c) => {
        c.campaign();
        return true;
      }) !== null
    ) this.#trace(`node ${id} campaigns`);
  }
}
