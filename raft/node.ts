/**
 * The Raft runtime node: drives a {@linkcode RaftCore} with a monotonic
 * clock, persists every {@linkcode Ready} before sending its messages (but
 * for a leader's write, which lands behind its messages: Raft §10.2.1),
 * applies committed entries to a state machine, keeps the leader lease, and
 * reports role changes.
 *
 * @module
 */
import { RaftCore } from "./core.ts";
import type { CoreStatus } from "./core.ts";
import { NotLeaderError, RaftError } from "./errors.ts";
import type { StateMachine } from "./kv.ts";
import { replicatesEarly } from "./_ready.ts";
import { trace, tracedIndex, tracing } from "./_trace.ts";
import type { Storage } from "./storage.ts";
import type {
  ConfChange,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  Role,
} from "./types.ts";
import {
  type NodeReadiness,
  type NodeStatus,
  NodeStoppedError,
  type RaftNodeOptions,
  type RoleChange,
  type RoleSink,
  type StopOptions,
} from "./node_types.ts";

export * from "./node_types.ts";

interface Pending {
  term: number;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

interface Waiter {
  index: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * A running Raft member.
 *
 * Time: a timer fires every `tickMs`; the node counts how many ticks are due
 * on the monotonic clock (so a process that was paused catches up at once)
 * and, before ticking, checks the leader lease, so a leader resumed after a
 * pause demotes its guard before anything else runs.
 *
 * A node whose storage is new (a first start, a wiped volume, every start on
 * `MemoryStorage`) has a new incarnation, drawn from a cryptographic source:
 * it holds no log and counts towards no quorum until a leader has re-added
 * it (as a learner, promoted once caught up), or, when every member of the
 * bootstrap membership is new at once, until they bootstrap a new cluster
 * together (see `raft/README.md`).
 *
 * @example One node in memory: it elects itself and applies a write
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeKvCommand, KeyValueStore, MemoryStorage, RaftNode } from "@k8s-operator/k8s-operator/raft";
 * const store = new KeyValueStore();
 * const node = await RaftNode.start({
 *   id: 0,
 *   storage: new MemoryStorage(), // not durable: fine for a try, never in production
 *   bootstrap: { voters: [0], learners: [] },
 *   stateMachine: store,
 *   send: () => {}, // no peers
 *   tickMs: 5,
 * });
 * const elected = new Promise<void>((resolve) => {
 *   const off = node.onRoleChange(({ role }) => {
 *     if (role === "leader") {
 *       off();
 *       resolve();
 *     }
 *   });
 * });
 * if (!node.isLeader()) await elected;
 * const result = await node.propose(encodeKvCommand({ op: "put", key: "a", value: "1" }));
 * assert.deepEqual(result, { ok: true, previous: null });
 * assert.equal(store.get("a"), "1");
 * await node.stop();
 * ```
 *
 * @example Three nodes over HTTP
 * ```ts ignore
 * // Not run: one of three pods (a volume at /data/raft, a transport, a guard).
 * const store = new KeyValueStore();
 * const node = await RaftNode.start({
 *   id: 0,
 *   storage: await FileStorage.open("/data/raft"),
 *   bootstrap: { voters: [0, 1, 2], learners: [] },
 *   stateMachine: store,
 *   send: (messages) => transport.send(messages),
 *   election,
 * });
 * const kv = new ReplicatedKv(node, store);
 * ```
 */
export class RaftNode {
  /** This node's id. */
  readonly id: NodeId;
  readonly #core: RaftCore;
  readonly #storage: Storage;
  readonly #sm: StateMachine;
  readonly #send: (messages: Message[]) => void;
  readonly #clock: () => number;
  readonly #tickMs: number;
  readonly #electionTicks: number;
  readonly #leaseMs: number;
  readonly #election: RoleSink | undefined;
  readonly #snapshotEvery: number;
  readonly #inbox: (() => void)[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #waiters: Waiter[] = [];
  readonly #listeners = new Set<(change: RoleChange) => void>();
  readonly #tickTimes: number[];
  #tickCount = 0;
  #lastTickAt: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<void> | null = null;
  /** The writes handed to storage, in order (see `#write`). */
  #writes: Promise<void> = Promise.resolve();
  /** A leader's write queued behind another and not started yet. */
  #behind: { entries: Entry[]; hardState: HardState | null } | null = null;
  #stopped = false;
  #applied: number;
  #snapshotIndex: number;
  #role: Role = "follower";
  #term: number;
  #leader: NodeId | null = null;
  #termCommitted = false;
  #leaseUntil = -Infinity;
  #leaseFence = -1;
  /** The term and vote last written to storage. */
  #savedHard: HardState;
  #failure: Error | null = null;
  /** When the latest append, heartbeat or snapshot of the current term arrived. */
  #leaderHeardAt = -Infinity;

  private constructor(
    options: RaftNodeOptions,
    init: { core: RaftCore; savedHard: HardState },
  ) {
    const { core } = init;
    this.#savedHard = init.savedHard;
    this.id = options.id;
    this.#core = core;
    this.#storage = options.storage;
    this.#sm = options.stateMachine;
    this.#send = options.send;
    this.#clock = options.clock ?? (() => performance.now());
    this.#tickMs = options.tickMs ?? 50;
    this.#electionTicks = options.electionTicks ?? 6;
    this.#leaseMs = options.leaseMs ??
      (this.#electionTicks - 2) * this.#tickMs;
    this.#election = options.election;
    this.#snapshotEvery = options.snapshotEvery ?? 10_000;
    this.#tickTimes = new Array(4 * this.#electionTicks).fill(-Infinity);
    const now = this.#clock();
    this.#lastTickAt = now;
    this.#tickTimes[0] = now;
    const s = core.status();
    this.#applied = s.applied;
    this.#snapshotIndex = s.snapshotIndex;
    this.#term = s.term;
  }

  /**
   * Loads storage, restores the state machine from the snapshot, builds the
   * core and starts the clock. Committed entries after the snapshot are
   * applied again as the node catches up.
   *
   * @throws {LegacyStateError} when the storage holds state of k8s-operator
   * 0.1.0 (memberships without incarnations); `FileStorage.setAside` moves
   * it out of the way, and the node then joins as a new member.
   */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const electionTicks = options.electionTicks ?? 6;
    if (!Number.isSafeInteger(electionTicks) || electionTicks < 3) {
      throw new RaftError(
        `Expected electionTicks to be an integer of at least 3, found ${electionTicks}`,
      );
    }
    const state = await options.storage.load();
    // The core checks the state (a damaged or 0.1.0 one is refused) before
    // the state machine reads the snapshot.
    const core = new RaftCore({
      id: options.id,
      state,
      bootstrap: options.bootstrap,
      random: options.random ?? Math.random,
      incarnation: newIncarnation(),
      electionTicks,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      ...options.core,
    });
    if (state.snapshot !== null) {
      options.stateMachine.restore(state.snapshot.data);
    }
    const node = new RaftNode(options, {
      core,
      savedHard: state.hardState,
    });
    node.#election?.setRole("follower", node.#term, { leader: null });
    node.#schedule();
    return node;
  }

  /** Hands messages received from peers to the core. Never throws. */
  receive(messages: readonly Message[]): void {
    if (this.#stopped) return;
    this.#enqueue(() => {
      if (tracing()) {
        const index = tracedIndex(messages);
        if (index >= 0) {
          trace(this.id, "step", { index, peer: messages[0].from });
        }
      }
      for (const m of messages) {
        this.#core.step(m);
        if (
          (m.type === "append" || m.type === "heartbeat" ||
            m.type === "snapshot") && m.term >= this.#term
        ) this.#leaderHeardAt = this.#clock();
      }
    });
  }

  /**
   * Replicates `data` as a log entry; resolves with what the state machine's
   * `apply` returned once the entry is committed and applied here. Rejects
   * with `NotLeaderError` when this node is not the leader, or loses
   * leadership before the entry is applied (the entry may still commit).
   */
  propose(data: Uint8Array): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(
          new NodeStoppedError("Expected a running node, found it stopped"),
        );
        return;
      }
      const calledAt = tracing() ? performance.now() : 0;
      this.#enqueue(() => {
        try {
          const index = this.#core.propose(data);
          if (tracing()) {
            trace(this.id, "call", { index, at: calledAt });
            trace(this.id, "propose", { index });
          }
          this.#pending.set(index, { term: this.#term, resolve, reject });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
  }

  /**
   * Resolves once a read of the state machine on this node is linearizable:
   * this node leads under a valid lease, has committed an entry of its term,
   * and has applied everything committed when the read began. Rejects with
   * `NotLeaderError` otherwise.
   */
  async readBarrier(): Promise<void> {
    this.#assertLeaseholder();
    const s = this.#core.status();
    await this.#waitApplied(this.#termCommitted ? s.commit : s.lastIndex);
    this.#assertLeaseholder();
  }

  /** `true` while this node leads and its lease holds on the clock now. */
  isLeader(): boolean {
    return this.#clock() < this.#leaseExpiry();
  }

  /** Role, term, leader, commit and applied index, peers' progress, lease. */
  status(): NodeStatus {
    const s = this.#core.status();
    const now = this.#clock();
    const lease = this.#leaseExpiry();
    return {
      ...s,
      applied: this.#applied,
      leaseRemainingMs: s.role === "leader" ? Math.max(0, lease - now) : null,
    };
  }

  /**
   * Ready once this node has applied everything the leader of the current
   * term told it is committed (the leader: everything it committed), and
   * heard from that leader within the minimum election timeout; not ready
   * while no leader is known, before the first message from it in this
   * term, while it is rejoining after it lost its state (a learner until it
   * is a voter again: so a rolling restart on memory storage waits for it),
   * or after the node failed or stopped. Heartbeats carry the leader's
   * whole commit index, so a follower that lags (after a restart or a healed
   * partition) is not ready until it has caught up.
   */
  readiness(): NodeReadiness {
    if (this.#failure !== null) {
      return {
        ready: false,
        reason: `Raft node failed: ${this.#failure.message}`,
      };
    }
    if (this.#stopped) {
      return { ready: false, reason: "Raft node stopped" };
    }
    const s = this.#core.status();
    if (s.leader === null) {
      return { ready: false, reason: `No leader known in term ${s.term}` };
    }
    if (s.leaderCommit === null) {
      return {
        ready: false,
        reason: `No message from leader ${s.leader} yet in term ${s.term}`,
      };
    }
    const silentMs = this.#clock() - this.#leaderHeardAt;
    if (s.role !== "leader" && silentMs > this.#electionTicks * this.#tickMs) {
      return {
        ready: false,
        reason: `No message from leader ${s.leader} for ${
          Math.round(silentMs)
        } ms`,
      };
    }
    if (this.#applied < s.leaderCommit) {
      return {
        ready: false,
        reason:
          `Applied ${this.#applied} of the leader's commit ${s.leaderCommit}`,
      };
    }
    if (
      s.conf.learners.includes(this.id) &&
      s.conf.incarnations?.[this.id] === s.incarnation
    ) {
      return {
        ready: false,
        reason:
          "Rejoining after losing its state: a learner until the leader promotes it back",
      };
    }
    return {
      ready: true,
      reason:
        `Caught up: applied ${this.#applied}, leader ${s.leader}, term ${s.term}`,
    };
  }

  /** Calls `listener` on every change of role, term or leader; returns an unsubscribe. */
  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Proposes one membership change through the log; resolves once it is
   * applied here. Rejects with `NotLeaderError` off the leader and with
   * `ConfChangeError` while another change is pending.
   */
  changeMembership(change: ConfChange): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#enqueue(() => {
        try {
          const index = this.#core.proposeConfChange(change);
          this.#pending.set(index, {
            term: this.#term,
            resolve: () => resolve(),
            reject,
          });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
  }

  /**
   * Moves the membership, one server at a time, to exactly `voters`: new
   * members join as learners, are promoted once caught up (they acknowledged
   * the log and answered within the last election timeout: a pod that never
   * starts stays a learner and never counts towards a quorum), and members
   * not in `voters` are removed. Runs on the leader; resolves when done, and
   * rejects with a `RaftError` after `timeoutMs` (default 30 s) when the
   * membership could not get there, for example because a new pod never
   * answered.
   */
  async reconcileMembers(
    voters: readonly NodeId[],
    options: { timeoutMs?: number } = {},
  ): Promise<void> {
    const deadline = this.#clock() + (options.timeoutMs ?? 30_000);
    const want = new Set(voters);
    while (true) {
      if (this.#clock() > deadline) {
        throw new RaftError(
          `Expected the membership to reach ${
            JSON.stringify(voters)
          } in time, found ${JSON.stringify(this.#core.status().conf)}`,
        );
      }
      const s = this.#core.status();
      if (s.role !== "leader") throw new NotLeaderError(s.leader);
      const { conf, progress } = s;
      const change: ConfChange | null = (() => {
        for (const id of want) {
          if (!conf.voters.includes(id) && !conf.learners.includes(id)) {
            return { type: "addLearner", nodeId: id };
          }
        }
        for (const id of conf.learners) {
          if (want.has(id) && progress[id]?.caughtUp) {
            return { type: "promote", nodeId: id };
          }
        }
        for (const id of [...conf.voters, ...conf.learners]) {
          if (!want.has(id) && id !== this.id) {
            return { type: "remove", nodeId: id };
          }
        }
        if (!want.has(this.id) && conf.voters.includes(this.id)) {
          return { type: "remove", nodeId: this.id };
        }
        return null;
      })();
      if (change === null) {
        if (conf.learners.some((id) => want.has(id))) {
          await this.#waitApplied(this.#applied + 1, this.#tickMs);
          continue;
        }
        return;
      }
      try {
        await this.changeMembership(change);
      } catch (error) {
        if ((error as Error).name !== "ConfChangeError") throw error;
        await this.#waitApplied(this.#applied + 1, this.#tickMs);
      }
    }
  }

  /**
   * Hands leadership to `to` (default: the most caught-up other voter);
   * resolves with the new leader once this node has heard from it, or with
   * `null` when it was not the leader or the handover timed out.
   */
  async transferLeadership(
    to?: NodeId,
    options: { timeoutMs?: number } = {},
  ): Promise<NodeId | null> {
    const s = this.#core.status();
    if (s.role !== "leader") return null;
    const target = to ?? this.#bestTransferee(s);
    if (target === null) return null;
    const stepped = new Promise<NodeId | null>((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(null);
      }, options.timeoutMs ?? 4 * this.#electionTicks * this.#tickMs);
      const off = this.onRoleChange((c) => {
        if (c.role !== "leader" && c.leader !== null && c.leader !== this.id) {
          clearTimeout(timer);
          off();
          resolve(c.leader);
        }
      });
    });
    this.#enqueue(() => {
      try {
        this.#core.transferLeadership(target);
      } catch {
        // Leadership was lost meanwhile; the role change resolves the wait.
      }
    });
    return await stepped;
  }

  /**
   * Stops the node: a leader first hands leadership over (unless
   * `transfer: false`), then timers stop, waiting calls reject, and storage
   * closes. The transport is the caller's to close.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopped) return;
    if (options.transfer ?? true) {
      await this.transferLeadership(undefined, {
        timeoutMs: options.timeoutMs,
      });
    }
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    const error = new NodeStoppedError(
      "Expected a running node, found it stopped",
    );
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    for (const w of this.#waiters.splice(0)) w.reject(error);
    this.#setLease(-Infinity);
    this.#election?.setRole("follower", this.#term, { leader: null });
    await this.#writes;
    await this.#storage.close();
  }

  /** Leader: a heartbeat to every member now (`RaftCore.heartbeat`); else nothing. */
  heartbeat(): void {
    this.#enqueue(() => this.#core.heartbeat());
  }

  /**
   * Starts an election now instead of at this node's randomized election
   * timeout, but only if no leader was heard from within the minimum
   * election timeout: it never disturbs a leader that holds its lease (no
   * lease overlap). It shortens a failover once the leader has gone silent;
   * to hand leadership over from a live leader, call
   * {@linkcode RaftNode.transferLeadership} on the leader.
   */
  campaign(): void {
    this.#enqueue(() => this.#core.campaign({ respectLease: true }));
  }

  #bestTransferee(s: CoreStatus): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const id of s.conf.voters) {
      const match = s.progress[id]?.match ?? -1;
      if (id !== this.id && match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    return best;
  }

  #assertLeaseholder(): void {
    if (this.#stopped) {
      throw new NodeStoppedError("Expected a running node, found it stopped");
    }
    if (!this.isLeader()) {
      throw new NotLeaderError(
        this.#role === "leader" ? null : this.#leader,
        `Expected node ${this.id} to lead under a valid lease, found it ${this.#role} in term ${this.#term}`,
      );
    }
  }

  #waitApplied(index: number, timeoutMs?: number): Promise<void> {
    if (this.#applied >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = { index, resolve, reject };
      this.#waiters.push(w);
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve();
        }, timeoutMs);
      }
    });
  }

  // ------------------------------------------------------------ the clock

  #schedule(): void {
    if (this.#stopped) return;
    const delay = Math.max(0, this.#lastTickAt + this.#tickMs - this.#clock());
    this.#timer = setTimeout(() => this.#onTimer(), delay);
  }

  #onTimer(): void {
    this.#timer = null;
    const now = this.#clock();
    // A process resumed after a pause: the lease is checked before anything else.
    if (now >= this.#leaseUntil) this.#setLease(-Infinity);
    const due = Math.floor((now - this.#lastTickAt) / this.#tickMs);
    // Fired more than a tick late: the process was paused or starved.
    // Acknowledgements that waited in socket buffers meanwhile are stale, so
    // only those received after the next tick may extend the lease.
    const stalled = due > 1;
    if (due > 0) {
      this.#lastTickAt += due * this.#tickMs;
      const n = Math.min(due, this.#tickTimes.length - 1);
      this.#enqueue(() => {
        for (let i = 0; i < n; i++) {
          this.#tickCount++;
          this.#tickTimes[this.#tickCount % this.#tickTimes.length] = now;
          this.#core.tick();
        }
        if (stalled) this.#leaseFence = this.#tickCount;
      });
    }
    this.#schedule();
  }

  // ------------------------------------------------------------ the lease

  /**
   * When the lease ends on the clock: the send tick of the heartbeat a
   * quorum last answered, plus `leaseMs`; `-Infinity` when the core does not
   * lead or holds no lease. Read from the core, so it is current after every
   * action, before the loop hands anything to storage.
   */
  #leaseExpiry(): number {
    const ticks = this.#core.leaseTicks();
    if (ticks === null || ticks >= this.#electionTicks) return -Infinity;
    if (ticks >= this.#tickTimes.length) return -Infinity;
    if (this.#tickCount - ticks <= this.#leaseFence) return -Infinity;
    const at =
      this.#tickTimes[(this.#tickCount - ticks) % this.#tickTimes.length];
    return at + this.#leaseMs;
  }

  /**
   * Hands the core's lease to the guard exactly: longer, shorter or ended.
   * Called after every batch of actions (ticks, messages, proposals), so the
   * guard never trails the core by more than one batch, however long the
   * loop runs without draining.
   */
  #syncLease(): void {
    const expiry = this.#leaseExpiry();
    const until = expiry > this.#clock() ? expiry : -Infinity;
    if (until !== this.#leaseUntil) this.#setLease(until);
  }

  #setLease(until: number): void {
    const had = this.#leaseUntil > -Infinity;
    this.#leaseUntil = until;
    if (this.#election === undefined) return;
    // The sink counts from this reading: a pause before its own would lengthen the lease.
    const asOf = this.#clock();
    if (until > -Infinity) {
      this.#election.renewLease(Math.max(0, until - asOf), { asOf });
    } else if (had) {
      this.#election.renewLease(0, { asOf });
    }
  }

  // ------------------------------------------------------------ the loop

  #enqueue(action: () => void): void {
    this.#inbox.push(action);
    if (this.#running === null && !this.#stopped) {
      this.#running = this.#run().finally(() => {
        this.#running = null;
        if (this.#inbox.length > 0 && !this.#stopped) this.#enqueue(() => {});
      });
    }
  }

  async #run(): Promise<void> {
    // Let a burst of messages and proposals gather into one Ready.
    await Promise.resolve();
    while (!this.#stopped) {
      for (const action of this.#inbox.splice(0)) action();
      this.#syncLease();
      if (!this.#core.hasReady()) break;
      const rd = this.#core.ready();
      try {
        if (this.#writeBehind(rd)) {
          // The transport writes its frames in a microtask: let it, before
          // applying (which can take a while for a large batch).
          await Promise.resolve();
          this.#apply(rd);
          this.#core.advance({ persisted: false });
        } else {
          await this.#handle(rd);
          this.#core.advance();
        }
      } catch (error) {
        this.#fail(error as Error);
        return;
      }
      this.#maybeCompact();
      // Writers just answered usually propose again within a few turns of
      // the microtask queue: let them, so that what they propose joins the
      // next Ready (and carries the new commit index to the followers).
      if (rd.committedEntries.length > 0) await callersTurn();
    }
  }

  /**
   * Writes in order: each starts once the one before it is done, and none
   * after one failed.
   */
  #write(write: () => Promise<void> | void): Promise<void> {
    const done = this.#writes.then(() => {
      if (this.#failure !== null) throw this.#failure;
      return write();
    });
    this.#writes = done.catch(() => {});
    return done;
  }

  #traceReady(rd: Ready): number {
    if (!tracing()) return -1;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) trace(this.id, "ready", { index: last.index });
    if (rd.committedEntries.length > 0) {
      trace(this.id, "committed", {
        index: rd.committedEntries[rd.committedEntries.length - 1].index,
      });
    }
    return last?.index ?? -1;
  }

  /**
   * A leader's Ready whose messages depend on nothing its write adds
   * (`replicatesEarly`): it is sent (and its committed entries applied)
   * at once, and the loop goes on while the write completes behind it, so
   * what is proposed and acknowledged meanwhile is handled without waiting
   * for the disk. The core counts the written entries for the leader only
   * once the write is done (`markPersisted`), so nothing commits on the
   * strength of a copy that is not on disk. `false`: the Ready is handled
   * in order instead (persist, send, apply).
   */
  #writeBehind(rd: Ready): boolean {
    if (
      !replicatesEarly(rd, {
        leader: this.#role === "leader",
        saved: this.#savedHard,
      })
    ) return false;
    this.#traceReady(rd);
    this.#sendMessages(rd.messages);
    const { hardState, entries } = rd;
    if (this.#behind !== null) {
      // A write is queued and not started: this one joins it (group commit).
      this.#behind.entries.push(...entries);
      if (hardState !== null) this.#behind.hardState = hardState;
    } else if (entries.length > 0 || hardState !== null) {
      const batch = { entries: [...entries], hardState };
      this.#behind = batch;
      this.#write(() => {
        this.#behind = null;
        return this.#storage.save({ ...batch, snapshot: null });
      }).then(
        () => {
          if (batch.hardState !== null) this.#savedHard = batch.hardState;
          const last = batch.entries[batch.entries.length - 1];
          if (last === undefined) return;
          if (tracing()) trace(this.id, "saved", { index: last.index });
          this.#enqueue(() =>
            this.#core.markPersisted({ index: last.index, term: last.term })
          );
        },
        (error) => this.#fail(error as Error),
      );
    }
    return true;
  }

  async #handle(rd: Ready): Promise<void> {
    const traced = this.#traceReady(rd);
    const restore = rd.snapshot !== null &&
      rd.snapshot.metadata.index > this.#applied;
    if (rd.snapshot !== null && !restore) {
      const snapshot = rd.snapshot;
      await this.#write(() => this.#storage.compact(snapshot));
    }
    if (
      restore || rd.entries.length > 0 || rd.hardState !== null ||
      rd.incarnation !== undefined
    ) {
      const write = {
        ...(rd.incarnation === undefined
          ? {}
          : { incarnation: rd.incarnation }),
        hardState: rd.hardState,
        entries: rd.entries,
        snapshot: restore ? rd.snapshot : null,
      };
      await this.#write(() => this.#storage.save(write));
      if (traced >= 0) trace(this.id, "saved", { index: traced });
      if (rd.hardState !== null) this.#savedHard = rd.hardState;
    }
    this.#sendMessages(rd.messages);
    // The transport writes its frames in a microtask: let it, before
    // applying (which can take a while for a large batch).
    await Promise.resolve();
    if (restore) {
      this.#sm.restore(rd.snapshot!.data);
      this.#applied = rd.snapshot!.metadata.index;
      this.#snapshotIndex = this.#applied;
    }
    if (rd.softState !== null) this.#onSoftState(rd.softState);
    this.#apply(rd);
  }

  /** Applies the Ready's committed entries and answers who waited for them. */
  #apply(rd: Ready): void {
    for (const e of rd.committedEntries) {
      if (e.index <= this.#applied) continue;
      let result: unknown = undefined;
      if (e.type === "normal") {
        try {
          result = this.#sm.apply(e);
        } catch (error) {
          result = error;
        }
      }
      this.#applied = e.index;
      if (e.term === this.#term) this.#termCommitted = true;
      const p = this.#pending.get(e.index);
      if (p !== undefined) {
        this.#pending.delete(e.index);
        if (p.term === e.term) p.resolve(result);
        else p.reject(new NotLeaderError(this.#leader));
      }
    }
    if (tracing() && rd.committedEntries.length > 0) {
      trace(this.id, "applied", { index: this.#applied });
    }
    while (this.#waiters.length > 0) {
      const i = this.#waiters.findIndex((w) => w.index <= this.#applied);
      if (i < 0) break;
      this.#waiters.splice(i, 1)[0].resolve();
    }
  }

  #sendMessages(messages: Message[]): void {
    if (messages.length === 0) return;
    if (tracing()) trace(this.id, "send", { index: tracedIndex(messages) });
    this.#send(messages);
  }

  #onSoftState(
    soft: { role: Role; term: number; leader: NodeId | null },
  ): void {
    const wasLeader = this.#role === "leader";
    if (soft.term !== this.#term) this.#termCommitted = false;
    this.#role = soft.role;
    this.#term = soft.term;
    this.#leader = soft.leader;
    if (wasLeader && soft.role !== "leader") {
      this.#setLease(-Infinity);
      for (const p of this.#pending.values()) {
        p.reject(new NotLeaderError(soft.leader));
      }
      this.#pending.clear();
    }
    this.#election?.setRole(soft.role, soft.term, {
      leader: soft.role === "leader" ? this.id : soft.leader,
    });
    // A new role or term ended the guard's lease: hand it the current one.
    if (soft.role === "leader") this.#setLease(this.#leaseUntil);
    for (const l of this.#listeners) l({ ...soft });
  }

  #maybeCompact(): void {
    if (this.#applied - this.#snapshotIndex < this.#snapshotEvery) return;
    this.#core.compact(this.#applied, this.#sm.snapshot());
    this.#snapshotIndex = this.#applied;
  }

  /** A storage failure: the node can no longer keep its promises, so it stops. */
  #fail(error: Error): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    for (const w of this.#waiters.splice(0)) w.reject(error);
    this.#setLease(-Infinity);
    this.#election?.setRole("follower", this.#term, { leader: null });
  }

  /** The storage error that stopped this node, or `null`. */
  get failure(): Error | null {
    return this.#failure;
  }
}

/**
 * Waits a few turns of the microtask queue: as many as a caller awaiting
 * `propose()` through a `ReplicatedKv` call and a loop of its own takes to
 * propose again (no timer, so fake clocks see no difference).
 */
async function callersTurn(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
}

/** A positive 53-bit integer from the platform's cryptographic source. */
function newIncarnation(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1] || 1;
}
