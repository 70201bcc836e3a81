/**
 * The pure Raft core: a state machine driven by {@linkcode RaftCore.tick},
 * {@linkcode RaftCore.step} and {@linkcode RaftCore.propose}, that hands out
 * what to persist, send and apply through {@linkcode RaftCore.ready} and
 * {@linkcode RaftCore.advance}. It does no I/O, keeps no timers, reads no
 * clock and draws randomness only from the source it is given.
 *
 * @module
 */
import {
  applyConfChange,
  checkConfChange,
  confChangeProblem,
  copyConf,
  incarnationOf,
  isIncarnation,
} from "./_conf.ts";
import { RaftLog } from "./_log.ts";
import { Progress, type ProgressState } from "./_progress.ts";
import { quorumSize, quorumValue, voteResult } from "./_quorum.ts";
import {
  checkPersistedState,
  isConfState,
  isValidMessage,
} from "./_validate.ts";
import {
  decodeConfChange,
  decodeConfState,
  encodeConfChange,
  encodeConfState,
} from "./conf_change.ts";
import {
  ConfChangeError,
  LegacyStateError,
  NotLeaderError,
  RaftError,
} from "./errors.ts";
import type {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  PersistedState,
  Ready,
  Role,
  Snapshot,
  SoftState,
} from "./types.ts";

/**
 * How a {@linkcode RaftCore} is built.
 *
 * @example A node restarting from its storage
 * ```ts
 * import { MemoryStorage, type RaftCoreOptions } from "@k8s-operator/k8s-operator/raft";
 * const storage = new MemoryStorage();
 * const options: RaftCoreOptions = {
 *   id: 2,
 *   state: storage.load(),
 *   bootstrap: { voters: [0, 1, 2], learners: [] },
 *   random: () => 0.5, // use a seeded generator
 *   electionTicks: 10,
 * };
 * ```
 */
export interface RaftCoreOptions {
  /** This node's id. */
  id: NodeId;
  /** What `Storage.load()` returned: hard state, snapshot and entries. */
  state: PersistedState;
  /**
   * The initial membership, the same on every node (for a StatefulSet: the
   * ordinals). A node that holds no log takes no part in any election until
   * either a leader sends it the log, or every voter of this membership (and
   * every node it heard from) reports that it holds no log either: then they
   * hold a bootstrap election, which records each voter's incarnation in the
   * first entry of the new cluster's log.
   */
  bootstrap: ConfState;
  /** A seeded source of numbers in `[0, 1)`; the core's only randomness. */
  random: () => number;
  /**
   * The incarnation to take when the storage has none (a new or wiped
   * storage): a positive safe integer that no earlier storage of this node
   * had. Default: drawn from `random`. A runtime passes one from a
   * cryptographic source.
   */
  incarnation?: number;
  /**
   * The minimum election timeout in ticks (default 10). A follower's
   * randomized timeout is drawn from `[electionTicks, 2 * electionTicks)`.
   */
  electionTicks?: number;
  /** Ticks between leader heartbeats (default 1); below `electionTicks`. */
  heartbeatTicks?: number;
  /** Run a pre-vote round before a real election (default `true`). */
  preVote?: boolean;
  /** A leader steps down when a quorum stops answering (default `true`). */
  checkQuorum?: boolean;
  /** Unacknowledged appends in flight to one follower (default 64). */
  maxInflightAppends?: number;
  /** Entries in one append message (default 512). */
  maxEntriesPerAppend?: number;
  /**
   * The index the state machine has already applied (default: the
   * snapshot's index). Committed entries after it are handed out again.
   */
  applied?: number;
  /**
   * How close to the leader's last index a member's match must be for it to
   * count as `caughtUp` (default 16 entries); see
   * {@linkcode ProgressStatus.caughtUp} for the other conditions.
   */
  catchUpEntries?: number;
}

/**
 * Options of {@linkcode RaftCore.campaign}.
 *
 * @example A campaign that never disturbs a leader holding its lease
 * ```ts
 * import { type CampaignOptions, MemoryStorage, RaftCore } from "@k8s-operator/k8s-operator/raft";
 * const core = new RaftCore({
 *   id: 1,
 *   state: new MemoryStorage().load(),
 *   bootstrap: { voters: [1, 2, 3], learners: [] },
 *   random: Math.random,
 * });
 * const options: CampaignOptions = { respectLease: true };
 * core.campaign(options); // a no-op while this node still hears from a leader
 * ```
 */
export interface CampaignOptions {
  /**
   * Do nothing while this node heard from a leader within the minimum
   * election timeout, or restarted less than that ago (default `false`: a
   * forced campaign, which can end a leader's lease early).
   */
  respectLease?: boolean;
}

/**
 * What a leader knows about one member's replication.
 *
 * @example Deciding to promote a learner
 * ```ts
 * import type { ProgressStatus } from "@k8s-operator/k8s-operator/raft";
 * const shouldPromote = (p: ProgressStatus) => p.learner && p.caughtUp;
 * ```
 */
export interface ProgressStatus {
  /** The highest index known to match the leader's log. */
  match: number;
  /** The next index the leader will send. */
  next: number;
  /** `probe`, `replicate` or `snapshot` (how the leader sends). */
  state: ProgressState;
  /** Appends sent and not yet acknowledged. */
  inflight: number;
  /** `true` for a learner. */
  learner: boolean;
  /**
   * The incarnation the leader replicates to (and accepts answers from); 0
   * while it has heard none from a learner.
   */
  incarnation: number;
  /**
   * The member has acknowledged the leader's log up to at least the commit
   * index the leader had when the member was added (or when it took office),
   * answered within the last minimum election timeout, and its `match` is
   * within `catchUpEntries` of the leader's last index. A member that never
   * answered is never caught up. Only a caught-up learner may be promoted.
   */
  caughtUp: boolean;
  /** Ticks since this member last answered in this term, `null` if never. */
  ticksSinceAck: number | null;
}

/**
 * A snapshot of a core's state, for humans and runtimes.
 *
 * @example
 * ```ts
 * import type { CoreStatus } from "@k8s-operator/k8s-operator/raft";
 * const describe = (s: CoreStatus) => `${s.id} is ${s.role} in term ${s.term}`;
 * ```
 */
export interface CoreStatus {
  /** This node. */
  id: NodeId;
  /** The incarnation of its storage (see {@linkcode ConfState}). */
  incarnation: number;
  /**
   * `true` while it holds no log and no snapshot, so no membership: a new
   * node, or one that lost its storage. It waits to be sent the log (or to
   * bootstrap a new cluster with the other members, if all are pristine).
   */
  pristine: boolean;
  /** Its role. */
  role: Role;
  /** Its current term. */
  term: number;
  /** Whom it voted for in `term`. */
  vote: NodeId | null;
  /** The leader it knows of in `term`. */
  leader: NodeId | null;
  /** The commit index. */
  commit: number;
  /**
   * The commit index the leader of this term last announced to this node
   * (in an append, heartbeat or snapshot), or this node's own while it
   * leads; `null` when it has heard from no leader in this term. A node that
   * has applied at least this much has caught up with the leader.
   */
  leaderCommit: number | null;
  /** The index applied (acknowledged with `advance()`). */
  applied: number;
  /** The last index of its log. */
  lastIndex: number;
  /** The index its snapshot ends at (0 without one). */
  snapshotIndex: number;
  /** The membership in force (the latest in its log); empty while pristine. */
  conf: ConfState;
  /** Leader only: every member's replication, itself included. */
  progress: Record<NodeId, ProgressStatus>;
  /** See {@linkcode RaftCore.leaseTicks}. */
  leaseTicks: number | null;
  /** Leader only: the node leadership is being transferred to. */
  transferee: NodeId | null;
}

const LEADER_MESSAGES: ReadonlySet<MessageType> = new Set([
  "append",
  "heartbeat",
  "snapshot",
]);

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RaftError(
      `Expected ${name} to be a positive integer, found ${value}`,
    );
  }
  return value;
}

/**
 * One Raft member as a pure state machine, in the style of etcd-io/raft.
 *
 * Features: randomized election timeouts, pre-vote, check-quorum with
 * leader stickiness, log replication with fast backtracking and flow
 * control, commitment of current-term entries only, leadership transfer
 * (`timeoutNow`), a leader lease measure, snapshots and compaction,
 * single-server membership changes and learners.
 *
 * The driving loop: call `tick()` on a timer, `step()` for each message
 * received; whenever `hasReady()`, take `ready()`, persist its snapshot,
 * entries and hard state, send its messages, apply its committed entries,
 * then `advance()`.
 *
 * @example Three new cores bootstrap a cluster and commit an entry
 * ```ts
 * import { RaftCore, type Message } from "@k8s-operator/k8s-operator/raft";
 * import assert from "node:assert/strict";
 *
 * const empty = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };
 * const bootstrap = { voters: [1, 2, 3], learners: [] };
 * const cores = new Map([1, 2, 3].map((id) => [
 *   id,
 *   new RaftCore({ id, state: empty, bootstrap, random: () => id / 4 }),
 * ]));
 * const pump = () => {
 *   for (let moved = true; moved;) {
 *     moved = false;
 *     const sent: Message[] = [];
 *     for (const core of cores.values()) {
 *       if (!core.hasReady()) continue;
 *       sent.push(...core.ready().messages); // a real node persists first
 *       core.advance();
 *       moved = true;
 *     }
 *     for (const m of sent) cores.get(m.to)?.step(m);
 *   }
 * };
 * // All empty: they probe each other, then the first to time out wins a
 * // bootstrap election (every vote) and writes the membership at index 1.
 * const leader = () => [...cores.values()].find((c) => c.status().role === "leader");
 * for (let t = 0; t < 40 && leader() === undefined; t++) {
 *   for (const core of cores.values()) core.tick();
 *   pump();
 * }
 * const index = leader()!.propose(new TextEncoder().encode("hello"));
 * pump();
 * assert.ok([...cores.values()].every((c) => c.status().commit >= index));
 * ```
 */
export class RaftCore {
  /** This node's id. */
  readonly id: NodeId;

  readonly #electionTicks: number;
  readonly #heartbeatTicks: number;
  readonly #preVote: boolean;
  readonly #checkQuorum: boolean;
  readonly #maxInflight: number;
  readonly #maxEntries: number;
  readonly #catchUpEntries: number;
  readonly #random: () => number;
  readonly #bootstrap: ConfState;

  readonly #incarnation: number;
  /** A new incarnation not yet handed out to be saved. */
  #incarnationToSave: number | null;
  #term: number;
  #vote: NodeId | null;
  /** The incarnation of the candidate voted for in this run; `null` after a restart. */
  #voteIncarnation: number | null = null;
  #role: Role = "follower";
  #leader: NodeId | null = null;
  readonly #log: RaftLog;
  #snapshot: Snapshot | null;
  #pendingSnapshot: Snapshot | null = null;
  /** The membership in force; `null` while pristine (no log, no snapshot). */
  #conf: ConfState | null = null;
  #lastConfIndex = 0;
  #applied: number;
  #applying: number;

  #now = 0;
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedTimeout = 0;
  #votes = new Map<NodeId, boolean>();
  #progress = new Map<NodeId, Progress>();
  #electedAt = 0;
  #lastQuorumCheck = 0;
  #transferee: NodeId | null = null;
  /** Leader: the latest incarnation each node told this leader it has. */
  #heardIncarnations = new Map<NodeId, number>();
  /** Leader: members heard with a new incarnation, to re-add as learners. */
  #rejoinWanted = new Map<NodeId, number>();
  /** Pristine: every node heard from, asked too before a bootstrap. */
  #heard = new Set<NodeId>();
  /**
   * Pristine: the nodes whose latest answer said they hold a log. While one
   * does, this node takes part in no bootstrap (it starts none and ignores
   * bootstrap votes): a cluster with state exists. Its own answers to
   * probes say only whether it holds a log itself, so that a belief never
   * outlives the fact it came from.
   */
  #holdersSeen = new Set<NodeId>();
  /** Pristine: the latest probe sent (its `index`). */
  #probeRound = 0;
  /**
   * Pristine: the latest answer of each node that said it is pristine too,
   * to this probe or the one before (an answer that it holds a log removes
   * it). A stale one is harmless: a bootstrap vote asked of an incarnation
   * that is gone, or of a node that holds a log by then, is never granted,
   * and winning takes every vote.
   */
  #probeAnswers = new Map<
    NodeId,
    { incarnation: number; term: number; round: number }
  >();
  /**
   * Pristine: the first probe round whose answers count. Raised past every
   * round sent when this node grants a vote or hears from a leader: answers
   * gathered before then are stale for liveness (a bootstrap started on
   * them would only disrupt the election it just took part in).
   */
  #probeFloor = 0;
  /** Bootstrap leader: its peers voted pristine, so their logs are empty. */
  #peersEmpty = false;
  /** A leader owes its followers the entries proposed since the last Ready. */
  #appendsDue = false;
  /**
   * This node's log is on its disk up to this index: what a leader counts
   * for itself towards a quorum (see {@linkcode RaftCore.markPersisted}).
   */
  #persisted = 0;
  /** The last entry the latest Ready handed out, if it handed out any. */
  #handedOut: { index: number; term: number } | null = null;
  /** A leader owes its followers a commit index that moved. */
  #commitDue = false;
  /** That commit index already waited one Ready for entries to ride with. */
  #commitHeld = false;
  /** Bootstrap candidate: the incarnations it asked for votes, by node. */
  #bootstrapPeers: Map<NodeId, number> | null = null;
  /**
   * Follower: the last index an append or snapshot of this term's leader
   * proved this log shares with the leader's. Heartbeats carry the leader's
   * whole commit index; a follower commits only up to here.
   */
  #verified = 0;
  /** Follower: the highest commit index this term's leader announced. */
  #leaderCommit: number | null = null;
  /**
   * Leader: heartbeats sent at this tick or later count towards the lease;
   * `Infinity` while a `timeoutNow` may still make its target win.
   */
  #leaseFrom = 0;
  /** Leader: the tick the latest `timeoutNow` was sent at. */
  #timeoutNowAt = -Infinity;
  /** Until this tick a restarted node ignores vote requests (0: not restarted). */
  #quietUntil: number;

  #messages: Message[] = [];
  #prevSoft: SoftState;
  #prevHard: HardState;

  /**
   * Builds a core from what storage loaded. A restarted core honours the
   * persisted term, vote, log, snapshot and commit index.
   *
   * @throws {RaftError} when an option is out of range or the persisted
   * state is inconsistent (entries with a gap, commit beyond the log...).
   * @throws {LegacyStateError} when the persisted state was written by
   * k8s-operator 0.1.0 (memberships without incarnations).
   */
  constructor(options: RaftCoreOptions) {
    if (!Number.isSafeInteger(options.id) || options.id < 0) {
      throw new RaftError(
        `Expected the node id to be a non-negative safe integer, found ${options.id}`,
      );
    }
    if (typeof options.random !== "function") {
      throw new RaftError("Expected a random source function, found none");
    }
    if (
      !isConfState(options.bootstrap) || options.bootstrap.voters.length === 0
    ) {
      throw new RaftError(
        "Expected a bootstrap membership with at least one voter and no duplicate ids",
      );
    }
    checkPersistedState(options.state);
    this.id = options.id;
    this.#random = options.random;
    this.#bootstrap = copyConf(options.bootstrap);
    this.#electionTicks = positiveInt(
      "electionTicks",
      options.electionTicks ?? 10,
    );
    this.#heartbeatTicks = positiveInt(
      "heartbeatTicks",
      options.heartbeatTicks ?? 1,
    );
    if (this.#heartbeatTicks >= this.#electionTicks) {
      throw new RaftError(
        `Expected heartbeatTicks below electionTicks ${this.#electionTicks}, found ${this.#heartbeatTicks}`,
      );
    }
    this.#preVote = options.preVote ?? true;
    this.#checkQuorum = options.checkQuorum ?? true;
    this.#maxInflight = positiveInt(
      "maxInflightAppends",
      options.maxInflightAppends ?? 64,
    );
    this.#maxEntries = positiveInt(
      "maxEntriesPerAppend",
      options.maxEntriesPerAppend ?? 512,
    );
    this.#catchUpEntries = options.catchUpEntries ?? 16;

    const { hardState, snapshot, entries, incarnation } = options.state;
    if (incarnation !== undefined) {
      this.#incarnation = incarnation;
      this.#incarnationToSave = null;
    } else {
      const fresh = options.incarnation ?? drawIncarnation(this.#random);
      if (!isIncarnation(fresh)) {
        throw new RaftError(
          `Expected the incarnation to be a positive safe integer, found ${fresh}`,
        );
      }
      this.#incarnation = fresh;
      this.#incarnationToSave = fresh;
    }
    this.#snapshot = snapshot;
    this.#log = new RaftLog(
      {
        index: snapshot?.metadata.index ?? 0,
        term: snapshot?.metadata.term ?? 0,
      },
      entries,
    );
    this.#log.commitTo(hardState.commit);
    this.#persisted = this.#log.lastIndex();
    this.#term = hardState.term;
    this.#vote = hardState.vote;
    const applied = options.applied ?? this.#log.snapshotIndex;
    if (
      !Number.isSafeInteger(applied) || applied < this.#log.snapshotIndex ||
      applied > this.#log.committed
    ) {
      throw new RaftError(
        `Expected applied between the snapshot index ${this.#log.snapshotIndex} and the commit index ${this.#log.committed}, found ${applied}`,
      );
    }
    this.#applied = applied;
    this.#applying = applied;
    this.#recomputeConf();
    if (this.#conf === null && entries.length > 0) {
      throw new LegacyStateError("a log without the cluster's membership");
    }
    this.#resetRandomizedTimeout();
    this.#prevSoft = this.#softState();
    this.#prevHard = this.#hardState();
    this.#quietUntil = hardState.term > 0 ? this.#electionTicks : 0;
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick: elections, heartbeats, check-quorum. */
  tick(): void {
    this.#now++;
    if (this.#role === "leader") this.#tickLeader();
    else this.#tickElection();
  }

  /**
   * Handles one message from a peer. A message that is malformed, not
   * addressed to this node, from itself, or stale is dropped: `step` never
   * throws on network input.
   */
  step(message: Message): void {
    let valid = false;
    try {
      valid = isValidMessage(message);
    } catch {
      // An object whose fields throw when read is as malformed as any.
    }
    if (!valid) return;
    const m = message;
    if (m.to !== this.id || m.from === this.id) return;
    if (this.#conf === null) this.#hearFrom(m.from);
    if (m.type === "probe") {
      this.#handleProbe(m);
      return;
    }
    if (!this.incarnationMatches(this.#incarnation, m.toIncarnation ?? 0)) {
      // Meant for an earlier incarnation of this node (or one the sender
      // has not learnt yet): a leader is told which one this is.
      if (LEADER_MESSAGES.has(m.type) || m.type === "timeoutNow") {
        this.#reply(m, { type: "probeResp", reject: this.#conf !== null });
      }
      return;
    }
    if (m.type === "probeResp") {
      this.#handleProbeResp(m);
      return;
    }
    // A node that holds a log, or knows of one that does, takes no part in
    // a bootstrap election, and its term does not move for one.
    if (m.bootstrap === true && m.type === "vote" && this.#knowsOfALog()) {
      return;
    }

    if (m.term > this.#term) {
      if (m.type === "vote" || m.type === "preVote") {
        if (!m.transfer && this.#inLease()) return;
      }
      // A pre-vote (or a granted pre-vote) is about a future term: it changes nothing here.
      const future = m.type === "preVote" ||
        (m.type === "preVoteResp" && !m.reject);
      if (!future) {
        const elapsed = this.#electionElapsed;
        this.#becomeFollower(
          m.term,
          LEADER_MESSAGES.has(m.type) ? m.from : null,
        );
        // A vote request restarts the election timer only if it is granted
        // (Raft §5.2): a candidate that keeps campaigning with a log behind
        // this node's must not keep this node from campaigning itself.
        if (m.type === "vote") this.#electionElapsed = elapsed;
      }
    } else if (m.term < this.#term) {
      if (
        (this.#checkQuorum || this.#preVote || this.#conf === null) &&
        (m.type === "append" || m.type === "heartbeat")
      ) {
        // Tell a stale leader about the newer term so it steps down. A
        // pristine node always does: it never campaigns, so no election of
        // its own would ever tell the leader.
        this.#reply(m, { type: "appendResp" });
      } else if (m.type === "preVote") {
        this.#reply(m, { type: "preVoteResp", reject: true });
      } else if (m.type === "vote") {
        // Tell a stale candidate the newer term too. Its configuration may
        // be behind, so that it never asks this node's own candidates for
        // votes: without this it could keep campaigning below every term
        // they reach and refuse each of them, and no one would ever win.
        this.#reply(m, { type: "voteResp", reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.#role) {
      case "follower":
        this.#stepFollower(m);
        break;
      case "preCandidate":
      case "candidate":
        this.#stepCandidate(m);
        break;
      case "leader":
        this.#stepLeader(m);
        break;
    }
  }

  /**
   * Appends `data` to the leader's log and starts replicating it.
   *
   * @returns the index of the new entry.
   * @throws {RaftError} when `data` is not a `Uint8Array`.
   * @throws {NotLeaderError} when this node is not the leader, or while a
   * leadership transfer is in progress (the hint is then the transferee).
   */
  propose(data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) {
      throw new RaftError(
        `Expected the proposal data to be a Uint8Array, found ${typeof data}`,
      );
    }
    this.#assertLeader();
    return this.#appendEntry("normal", data.slice());
  }

  /**
   * Proposes a single-server membership change.
   *
   * @returns the index of the `confChange` entry.
   * @throws {NotLeaderError} when not the leader (or transferring).
   * @throws {ConfChangeError} when the change is malformed or does not apply
   * to the current membership, when another change is not committed yet,
   * when no entry of the leader's term is committed yet, or when a learner
   * to promote (by `promote`, or by `addVoter` of a learner) has not caught
   * up ({@linkcode ProgressStatus.caughtUp}).
   */
  proposeConfChange(change: ConfChange): number {
    this.#assertLeader();
    const checked = checkConfChange(change);
    if (this.#log.term(this.#log.committed) !== this.#term) {
      throw new ConfChangeError(
        `Expected the leader to have committed an entry of its term ${this.#term} before a membership change, found commit index ${this.#log.committed} of term ${
          this.#log.term(this.#log.committed)
        }`,
      );
    }
    if (this.#lastConfIndex > this.#log.committed) {
      throw new ConfChangeError(
        `Expected no uncommitted membership change, found one at index ${this.#lastConfIndex}`,
      );
    }
    const conf = this.#conf!;
    // An addVoter of a learner promotes it: the same catch-up rule holds.
    const promoting = checked.type === "promote" ||
      (checked.type === "addVoter" && conf.learners.includes(checked.nodeId));
    if (checked.type === "promote" || checked.type === "addVoter") {
      const known = promoting
        ? this.#progress.get(checked.nodeId)?.incarnation
        : this.#heardIncarnations.get(checked.nodeId);
      checked.incarnation ??= known || undefined;
      if (checked.incarnation === undefined) {
        throw new ConfChangeError(
          `Expected node ${checked.nodeId} to have answered this leader with its incarnation before it becomes a voter, found none heard`,
        );
      }
    }
    const problem = confChangeProblem(conf, checked);
    if (problem !== null) throw new ConfChangeError(problem);
    if (promoting) {
      const pr = this.#progress.get(checked.nodeId);
      if (
        pr === undefined || pr.incarnation !== checked.incarnation ||
        !this.#caughtUp(pr)
      ) {
        throw new ConfChangeError(
          `Expected learner ${checked.nodeId} to have caught up before its promotion (acknowledged the log up to the commit index ${
            pr?.addedCommit ?? this.#log.committed
          } within the last ${this.#electionTicks} ticks), found match ${
            pr?.match ?? 0
          }, ${
            pr?.lastAck == null
              ? "never answered"
              : `last answered ${this.#now - pr.lastAck} ticks ago`
          }`,
        );
      }
    }
    return this.#appendEntry("confChange", encodeConfChange(checked));
  }

  /**
   * Hands leadership to the voter `to`: once its log matches the leader's,
   * it is sent `timeoutNow` and campaigns at once. Proposals are refused
   * meanwhile; the transfer is abandoned after `electionTicks` ticks.
   * Transferring to itself does nothing.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {RaftError} when `to` is not a voter.
   */
  transferLeadership(to: NodeId): void {
    if (this.#role !== "leader") throw new NotLeaderError(this.#leader);
    if (to === this.id) return;
    const voters = this.#conf!.voters;
    if (!voters.includes(to)) {
      throw new RaftError(
        `Expected the transfer target to be a voter of ${
          JSON.stringify(voters)
        }, found node ${to}`,
      );
    }
    if (this.#transferee === to) return;
    this.#transferee = to;
    this.#electionElapsed = 0;
    const pr = this.#progress.get(to);
    if (pr !== undefined && pr.match === this.#log.lastIndex()) {
      this.#sendTimeoutNow(to);
    } else {
      this.#sendAppend(to, true);
    }
  }

  /**
   * Leader: sends a heartbeat to every member now, as a heartbeat tick does,
   * without moving the heartbeat timer (etcd-io/raft's `MsgBeat`). It
   * carries the current tick, so the lease counts its answers from that
   * tick's start, never later than the heartbeat left. Does nothing off
   * the leader. The sharding runtime calls it so that a grant, or a
   * request for one, travels at once rather than at the next tick.
   */
  heartbeat(): void {
    if (this.#role === "leader") this.#broadcastHeartbeat();
  }

  /**
   * Starts an election now (with a pre-vote round when enabled). Does
   * nothing on a leader, a learner or a node that is not a voter. A pristine
   * voter of the bootstrap membership probes the other members at once
   * instead, and starts a bootstrap election if all of them are pristine.
   *
   * By default this node campaigns even if it still hears from a leader: it
   * stops refusing other candidates (it is no longer sticky), and without
   * pre-vote its higher term deposes the leader. So a forced campaign on a
   * follower can end a leader's lease early (see
   * {@linkcode RaftCore.leaseTicks}); elections started by ticks never do.
   * With `respectLease: true` it does nothing while this node heard from a
   * leader within the minimum election timeout (or restarted less than that
   * ago), the same stickiness with which it refuses other candidates, so a
   * leader that holds its lease is never disturbed.
   */
  campaign(options: CampaignOptions = {}): void {
    if (this.#role === "leader") return;
    if (this.#conf === null) {
      if (this.#bootstrap.voters.includes(this.id)) this.#startProbe();
      return;
    }
    if (options.respectLease && this.#inLease()) return;
    this.#startCampaign(this.#preVote ? "preVote" : "election");
  }

  /**
   * Takes a snapshot at the applied index `index`, with the state machine's
   * serialized `data`, and drops the log up to it. The snapshot appears in the
   * next {@linkcode Ready} so that storage compacts too; its index is not above
   * the applied index, so the runtime does not restore from it.
   *
   * @throws {RaftError} when `index` is not above the current snapshot or
   * not yet applied.
   */
  compact(index: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new RaftError(
        `Expected the snapshot data to be a Uint8Array, found ${typeof data}`,
      );
    }
    if (
      !Number.isSafeInteger(index) || index <= this.#log.snapshotIndex ||
      index > this.#applied
    ) {
      throw new RaftError(
        `Expected a compaction index above the snapshot index ${this.#log.snapshotIndex} and at most the applied index ${this.#applied}, found ${index}`,
      );
    }
    const term = this.#log.term(index) ?? 0;
    const conf = this.#confAt(index);
    if (conf === null) {
      throw new RaftError(
        `Expected a membership in the log up to index ${index}, found none`,
      );
    }
    const snapshot: Snapshot = {
      metadata: { index, term, conf },
      data: data.slice(),
    };
    this.#log.compact(index);
    this.#snapshot = snapshot;
    this.#pendingSnapshot = snapshot;
  }

  // ---------------------------------------------------------------- outputs

  /** `true` when {@linkcode RaftCore.ready} has something to hand out. */
  hasReady(): boolean {
    return this.#incarnationToSave !== null || this.#messages.length > 0 ||
      this.#appendsDue || this.#commitDue ||
      this.#log.hasUnstable() ||
      this.#pendingSnapshot !== null || this.#log.committed > this.#applying ||
      !sameSoft(this.#softState(), this.#prevSoft) ||
      !sameHard(this.#hardState(), this.#prevHard);
  }

  /**
   * Hands out what to persist, send and apply since the last call (see
   * {@linkcode Ready} for the order). Call {@linkcode RaftCore.advance} when
   * done with it.
   *
   * A `snapshot` whose index is above the runtime's applied index came from
   * the leader: the runtime persists it (it replaces the whole log) and
   * restores its state machine from it. A snapshot at or below the applied
   * index comes from {@linkcode RaftCore.compact}: the runtime only persists
   * it (storage drops the entries it covers).
   */
  ready(): Ready {
    this.#flushReplication({ holdCommit: true });
    const soft = this.#softState();
    const hard = this.#hardState();
    const snapshot = this.#pendingSnapshot;
    const from = Math.max(this.#applying, snapshot?.metadata.index ?? 0) + 1;
    const committedEntries = this.#log.slice(from, this.#log.committed + 1);
    const ready: Ready = {
      ...(this.#incarnationToSave === null
        ? {}
        : { incarnation: this.#incarnationToSave }),
      softState: sameSoft(soft, this.#prevSoft) ? null : soft,
      hardState: sameHard(hard, this.#prevHard) ? null : hard,
      entries: this.#log.takeUnstable(),
      snapshot,
      messages: this.#messages,
      committedEntries,
    };
    const last = ready.entries[ready.entries.length - 1];
    this.#handedOut = last === undefined
      ? (snapshot === null ? this.#handedOut : {
        index: snapshot.metadata.index,
        term: snapshot.metadata.term,
      })
      : { index: last.index, term: last.term };
    this.#prevSoft = soft;
    this.#prevHard = hard;
    this.#incarnationToSave = null;
    this.#pendingSnapshot = null;
    this.#messages = [];
    this.#applying = Math.max(this.#applying, this.#log.committed);
    return ready;
  }

  /**
   * Acknowledges the last {@linkcode Ready}: its committed entries are
   * applied, and (unless `persisted: false`) its write is on disk.
   *
   * A runtime may instead go on before the write is done (a leader's
   * `Ready` whose messages do not depend on it, Raft §10.2.1): it calls
   * `advance({ persisted: false })`, and {@linkcode RaftCore.markPersisted}
   * once the write is on disk. Until then the leader does not count those
   * entries for itself towards a quorum.
   */
  advance(options: { persisted?: boolean } = {}): void {
    this.#applied = this.#applying;
    const written = this.#handedOut;
    if ((options.persisted ?? true) && written !== null) {
      this.markPersisted(written);
    }
  }

  /**
   * Tells the core that its log is on disk up to entry `at` (the last entry
   * of a `Ready` it handed out, written since). Ignored when the log no
   * longer holds that entry (it was overwritten meanwhile). A leader counts
   * its own log towards a quorum only up to here.
   */
  markPersisted(at: { index: number; term: number }): void {
    if (
      at.index <= this.#persisted || !this.#log.matchTerm(at.index, at.term)
    ) {
      return;
    }
    this.#persisted = at.index;
    if (this.#role === "leader" && this.#maybeCommit()) {
      this.#commitDue = true;
      this.#stepDownIfRemoved();
    }
  }

  /** The current state of this core. */
  status(): CoreStatus {
    const progress: Record<NodeId, ProgressStatus> = {};
    if (this.#role === "leader") {
      const last = this.#log.lastIndex();
      for (const [id, pr] of this.#progress) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          inflight: pr.inflights.length,
          learner: pr.learner,
          incarnation: pr.incarnation,
          caughtUp: this.#caughtUp(pr),
          ticksSinceAck: pr.lastAck === null ? null : this.#now - pr.lastAck,
        };
      }
      progress[this.id] = {
        match: last,
        next: last + 1,
        state: "replicate",
        inflight: 0,
        learner: this.#conf!.learners.includes(this.id),
        incarnation: this.#incarnation,
        caughtUp: true,
        ticksSinceAck: 0,
      };
    }
    return {
      id: this.id,
      incarnation: this.#incarnation,
      pristine: this.#conf === null,
      role: this.#role,
      term: this.#term,
      vote: this.#vote,
      leader: this.#leader,
      commit: this.#log.committed,
      leaderCommit: this.#role === "leader"
        ? this.#log.committed
        : this.#leaderCommit,
      applied: this.#applied,
      lastIndex: this.#log.lastIndex(),
      snapshotIndex: this.#log.snapshotIndex,
      conf: copyConf(this.#conf ?? { voters: [], learners: [] }),
      progress,
      leaseTicks: this.leaseTicks(),
      transferee: this.#transferee,
    };
  }

  /**
   * The leader lease measure: ticks since this leader sent the latest
   * heartbeat that a quorum of voters (this leader counting as "now") has
   * answered in this term; `null` when not the leader. Each heartbeat
   * carries the tick it was sent at and its response echoes it, so a
   * response that waited in a queue (a paused leader, a slow transport)
   * renews the lease only from when it was asked for, never from when it
   * arrived: the follower heard from the leader no earlier than that.
   *
   * How a runtime uses it: the leader may act as the only leader (serve
   * reads, reconcile) while `leaseTicks() < electionTicks - margin`. This
   * holds because, with check-quorum, a follower that heard from its leader
   * less than `electionTicks` ticks ago ignores vote and pre-vote requests
   * (leader stickiness), so no other node can win an election before the
   * lease runs out. `margin` must cover the drift between the nodes' tick
   * clocks (a follower's first tick after a heartbeat may come at once).
   *
   * A restarted node (persisted term above 0) also ignores vote requests for
   * `electionTicks` ticks, since it may have acknowledged a leader just before
   * it stopped. With `checkQuorum` off there is no stickiness and the value
   * guarantees nothing.
   *
   * The value is never below `electionTicks` (no lease) until a quorum has
   * answered in this term, nor while a leadership transfer that sent
   * `timeoutNow` is under way: the transferee may then win at any moment. If
   * the transfer is abandoned (after an election timeout), the lease counts
   * again from the heartbeats sent an election timeout after that
   * `timeoutNow`, so a leader whose quorum still answers holds a lease again
   * at most a few ticks later.
   *
   * @example Acting only under the lease
   * ```ts
   * import type { RaftCore } from "@k8s-operator/k8s-operator/raft";
   * async function underLease(core: RaftCore, electionTicks: number, reconcile: () => Promise<void>) {
   *   const lease = core.leaseTicks();
   *   if (lease !== null && lease < electionTicks - 2) await reconcile();
   * }
   * ```
   */
  leaseTicks(): number | null {
    if (this.#role !== "leader") return null;
    const unacked = this.#electedAt - this.#electionTicks;
    const oldest = quorumValue(this.#conf!.voters, (id) => {
      if (id === this.id) return this.#now;
      const ack = this.#progress.get(id)?.leaseAck ?? null;
      return ack !== null && ack >= this.#leaseFrom ? ack : unacked;
    });
    const ticks = oldest === -Infinity
      ? this.#electionTicks
      : this.#now - oldest;
    return this.#leaseFrom === Infinity
      ? Math.max(ticks, this.#electionTicks)
      : ticks;
  }

  // ---------------------------------------------------- hooks for tests only

  /**
   * The §5.4.1 election restriction: is a candidate's log ending at
   * (`lastTerm`, `lastIndex`) at least as up to date as ours? Overridden
   * only by tests that build deliberately broken cores.
   */
  protected logIsUpToDate(lastTerm: number, lastIndex: number): boolean {
    return this.#log.isUpToDate(lastTerm, lastIndex);
  }

  /**
   * The §5.4.2 commitment rule: a leader commits by counting replicas only
   * entries of its own term. Overridden only by tests that build deliberately
   * broken cores.
   */
  protected mayCommitTerm(entryTerm: number): boolean {
    return entryTerm === this.#term;
  }

  /**
   * Is `found` the incarnation `expected`? Votes and acknowledgements count
   * only from the voter incarnations the membership records, and a node
   * handles only messages meant for its own. Overridden only by tests that
   * build deliberately broken cores.
   */
  protected incarnationMatches(expected: number, found: number): boolean {
    return expected === found;
  }

  // ---------------------------------------------------------------- roles

  #softState(): SoftState {
    return { role: this.#role, leader: this.#leader, term: this.#term };
  }

  #hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  /** A voter of its own membership, as the incarnation it is now. */
  #promotable(): boolean {
    const conf = this.#conf;
    return conf !== null && conf.voters.includes(this.id) &&
      this.incarnationMatches(incarnationOf(conf, this.id), this.#incarnation);
  }

  /**
   * Leader stickiness: a leader is known and was heard from within the
   * minimum election timeout, or this node restarted less than that ago (it
   * may have acknowledged a leader just before it stopped).
   */
  #inLease(): boolean {
    return this.#checkQuorum &&
      ((this.#leader !== null &&
        this.#electionElapsed < this.#electionTicks) ||
        this.#now < this.#quietUntil);
  }

  #resetRandomizedTimeout(): void {
    const r = this.#random();
    const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.999999) : 0;
    this.#randomizedTimeout = this.#electionTicks +
      Math.floor(unit * this.#electionTicks);
  }

  #reset(term: number): void {
    if (term !== this.#term) {
      this.#term = term;
      this.#vote = null;
      this.#voteIncarnation = null;
    }
    this.#leader = null;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#resetRandomizedTimeout();
    this.#votes = new Map();
    this.#bootstrapPeers = null;
    this.#progress = new Map();
    this.#heardIncarnations = new Map();
    this.#rejoinWanted = new Map();
    this.#transferee = null;
    this.#leaseFrom = 0;
    this.#timeoutNowAt = -Infinity;
    this.#verified = 0;
    this.#leaderCommit = null;
    this.#quietUntil = 0;
  }

  #becomeFollower(term: number, leader: NodeId | null): void {
    this.#flushReplication({ holdCommit: false });
    this.#reset(term);
    this.#role = "follower";
    this.#leader = leader;
  }

  #becomeLeader(): void {
    const bootstrapPeers = this.#bootstrapPeers;
    this.#reset(this.#term);
    this.#role = "leader";
    this.#leader = this.id;
    this.#electedAt = this.#now;
    this.#leaseFrom = this.#now;
    this.#lastQuorumCheck = this.#now;
    if (bootstrapPeers !== null) {
      // The first entry of a new cluster: the bootstrap membership, with the
      // incarnation every voter voted with.
      const incarnations: Record<NodeId, number> = {
        [this.id]: this.#incarnation,
      };
      for (const [id, n] of bootstrapPeers) incarnations[id] = n;
      // Every peer voted as a pristine node, with an empty log: the first
      // append carries the membership, with no probing back from its end
      // (which would leave the followers without it a round trip longer).
      this.#peersEmpty = true;
      this.#appendEntry(
        "bootstrap",
        encodeConfState({
          voters: this.#bootstrap.voters.slice(),
          learners: this.#bootstrap.learners.slice(),
          incarnations,
        }),
      );
      this.#peersEmpty = false;
      return;
    }
    this.#syncProgress();
    this.#appendEntry("empty", new Uint8Array());
    // The lease is counted from a heartbeat a quorum answered in this term:
    // one now, with the first append, instead of at the next heartbeat
    // tick (up to a tick later), so the guard says "leader" a round trip
    // after the election. Stamped with this tick, as a tick's would be.
    this.#broadcastHeartbeat();
  }

  /**
   * Starts a pre-vote round, an election, or an election asked for by the
   * leader (`transfer`, which followers do not refuse out of stickiness).
   */
  #startCampaign(kind: "preVote" | "election" | "transfer"): void {
    if (!this.#promotable()) return;
    const pre = kind === "preVote";
    if (pre) {
      this.#role = "preCandidate";
      this.#leader = null;
      this.#votes = new Map();
      this.#electionElapsed = 0;
      this.#resetRandomizedTimeout();
    } else {
      this.#reset(this.#term + 1);
      this.#role = "candidate";
      this.#vote = this.id;
      this.#voteIncarnation = this.#incarnation;
    }
    this.#votes.set(this.id, true);
    if (this.#tallyVotes()) return;
    const conf = this.#conf!;
    for (const to of conf.voters) {
      if (to === this.id) continue;
      this.#send({
        type: pre ? "preVote" : "vote",
        to,
        toIncarnation: incarnationOf(conf, to),
        term: pre ? this.#term + 1 : this.#term,
        logTerm: this.#log.lastTerm(),
        index: this.#log.lastIndex(),
        ...(kind === "transfer" ? { transfer: true } : {}),
      });
    }
  }

  /** Acts on the votes so far; `true` when the round ended. */
  #tallyVotes(): boolean {
    let result: "won" | "lost" | "pending";
    const peers = this.#bootstrapPeers;
    if (peers !== null) {
      // A bootstrap needs every member: any refusal ends the round.
      const votes = [...peers.keys()].map((id) => this.#votes.get(id));
      result = votes.includes(false)
        ? "lost"
        : votes.every((v) => v === true)
        ? "won"
        : "pending";
    } else {
      result = voteResult(this.#conf!.voters, this.#votes);
    }
    if (result === "won") {
      if (this.#role === "preCandidate") this.#startCampaign("election");
      else this.#becomeLeader();
      return true;
    }
    if (result === "lost") {
      this.#becomeFollower(this.#term, null);
      return true;
    }
    return false;
  }

  // ----------------------------------------------------- bootstrap (pristine)

  /** This node holds a log, or heard from a node that does. */
  #knowsOfALog(): boolean {
    return this.#conf !== null || this.#holdersSeen.size > 0;
  }

  /**
   * Pristine: this node granted a vote or heard from a leader; the probe
   * answers it holds no longer start a bootstrap (a new probe round, an
   * election timeout from now, asks again).
   */
  #staleProbes(): void {
    if (this.#conf !== null) return;
    this.#probeAnswers.clear();
    this.#probeFloor = this.#probeRound + 1;
  }

  /** Pristine: a node heard from must be pristine too before a bootstrap. */
  #hearFrom(id: NodeId): void {
    if (this.#heard.has(id) || this.#bootstrap.voters.includes(id)) return;
    this.#heard.add(id);
    if (this.#probeRound > 0) this.#sendProbe(id);
  }

  /**
   * Pristine, and a voter of the bootstrap membership: asks every other
   * voter of it, and every node heard from, whether it holds a log.
   */
  #startProbe(): void {
    if (this.#role !== "follower") this.#becomeFollower(this.#term, null);
    this.#leader = null; // the leader it heard from has been silent a timeout
    this.#electionElapsed = 0;
    this.#resetRandomizedTimeout();
    this.#probeRound++;
    for (const to of this.#askedBeforeBootstrap()) this.#sendProbe(to);
    this.#maybeStartBootstrap();
  }

  #askedBeforeBootstrap(): NodeId[] {
    return [...new Set([...this.#bootstrap.voters, ...this.#heard])]
      .filter((id) => id !== this.id);
  }

  #sendProbe(to: NodeId): void {
    this.#send({
      type: "probe",
      to,
      toIncarnation: 0,
      index: this.#probeRound,
    });
  }

  /** Any node: answers whether it holds a log; a leader notes who asked. */
  #handleProbe(m: Message): void {
    this.#reply(m, {
      type: "probeResp",
      index: m.index,
      reject: this.#conf !== null,
    });
    if (this.#role === "leader") this.#noteIncarnation(m.from, m.incarnation);
  }

  /**
   * A leader learns a node's incarnation; a pristine prober counts a
   * pristine answer to its current round, and bootstraps once every node it
   * asked answered so.
   */
  #handleProbeResp(m: Message): void {
    if (this.#role === "leader") {
      this.#noteIncarnation(m.from, m.incarnation);
      return;
    }
    if (this.#conf !== null) return;
    if (m.reject) {
      // It holds a log (or knows of one): no fresh cluster.
      this.#probeAnswers.delete(m.from);
      this.#holdersSeen.add(m.from);
      return;
    }
    if (m.index < this.#probeFloor) return;
    this.#holdersSeen.delete(m.from);
    this.#probeAnswers.set(m.from, {
      incarnation: m.incarnation ?? 0,
      term: m.term,
      round: m.index,
    });
    if (this.#role === "follower") this.#maybeStartBootstrap();
  }

  /**
   * Starts a bootstrap election once every node asked answered pristine to
   * this probe or the one before, and not before two election timeouts
   * after this core started: a member that kept its log campaigns within
   * that time when it has no leader, so it is heard from (and asked) first.
   */
  #maybeStartBootstrap(): void {
    if (this.#now < 2 * this.#electionTicks || this.#knowsOfALog()) return;
    const answers = this.#probeAnswers;
    if (
      this.#askedBeforeBootstrap().every((id) =>
        (answers.get(id)?.round ?? -Infinity) >=
          Math.max(this.#probeRound - 1, this.#probeFloor)
      )
    ) this.#startBootstrapElection();
  }

  /**
   * Every node asked is pristine: campaign in a term above all of theirs,
   * asking each voter of the bootstrap membership for its vote, as the
   * incarnation it answered with. Winning takes every vote.
   */
  #startBootstrapElection(): void {
    const answers = this.#probeAnswers;
    const terms = [...answers.values()].map((a) => a.term);
    this.#reset(Math.max(this.#term, ...terms) + 1);
    this.#role = "candidate";
    this.#vote = this.id;
    this.#voteIncarnation = this.#incarnation;
    const peers = new Map<NodeId, number>();
    for (const id of this.#bootstrap.voters) {
      if (id !== this.id) peers.set(id, answers.get(id)!.incarnation);
    }
    this.#bootstrapPeers = peers;
    if (this.#tallyVotes()) return;
    this.#askBootstrapVotes();
  }

  /**
   * Asks for the bootstrap votes not yet answered: at the start of the
   * election and at every tick of it (asking again is harmless: a node
   * grants the same candidate incarnation again), since one lost answer
   * would cost the whole round.
   */
  #askBootstrapVotes(): void {
    for (const [to, incarnation] of this.#bootstrapPeers ?? []) {
      if (this.#votes.has(to)) continue;
      this.#send({
        type: "vote",
        to,
        toIncarnation: incarnation,
        bootstrap: true,
      });
    }
  }

  // ------------------------------------------------------------- ticking

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#electionElapsed < this.#randomizedTimeout) {
      if (this.#bootstrapPeers !== null) this.#askBootstrapVotes();
      return;
    }
    if (this.#conf === null) {
      if (this.#bootstrap.voters.includes(this.id)) this.#startProbe();
      else this.#electionElapsed = 0;
      return;
    }
    if (this.#promotable()) {
      this.#electionElapsed = 0;
      this.#startCampaign(this.#preVote ? "preVote" : "election");
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#electionTicks) {
      this.#electionElapsed = 0;
      if (this.#checkQuorum && !this.#quorumRecentlyActive()) {
        this.#becomeFollower(this.#term, null);
        return;
      }
      if (this.#transferee !== null) this.#abandonTransfer();
    }
    for (const [id, pr] of this.#progress) {
      if (
        pr.state === "snapshot" &&
        this.#now - pr.snapshotSentAt >= this.#electionTicks
      ) {
        pr.becomeProbe();
        this.#sendAppend(id, true);
      }
    }
    if (this.#heartbeatElapsed >= this.#heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#broadcastHeartbeat();
    }
    this.#maintainMembership();
  }

  #broadcastHeartbeat(): void {
    for (const [to, pr] of this.#progress) {
      this.#send({
        type: "heartbeat",
        to,
        toIncarnation: pr.incarnation,
        index: this.#now,
        commit: this.#log.committed,
      });
    }
  }

  /** See {@linkcode ProgressStatus.caughtUp}. */
  #caughtUp(pr: Progress): boolean {
    return pr.lastAck !== null &&
      this.#now - pr.lastAck < this.#electionTicks &&
      pr.match >= pr.addedCommit &&
      pr.match + this.#catchUpEntries >= this.#log.lastIndex();
  }

  /** Check-quorum: did a quorum of voters answer since the last check? */
  #quorumRecentlyActive(): boolean {
    const since = this.#lastQuorumCheck;
    this.#lastQuorumCheck = this.#now;
    const voters = this.#conf!.voters;
    let active = 0;
    for (const id of voters) {
      const ack = id === this.id
        ? this.#now
        : this.#progress.get(id)?.lastAck ?? null;
      if (ack !== null && ack >= since) active++;
    }
    return active >= quorumSize(voters.length);
  }

  // ----------------------------------------------------- message handlers

  /**
   * A learner in its own configuration votes too: it may already be a voter
   * in the candidate's newer configuration, and refusing can leave a cluster
   * without a quorum forever (Raft dissertation §4.1; etcd PR 10998). Only
   * voters of the candidate's configuration, as the incarnations it records,
   * are counted. A vote goes to one candidate incarnation per term: after a
   * restart, when it no longer knows which incarnation it voted for, a node
   * grants nobody else in that term.
   */
  #handleVoteRequest(m: Message): void {
    const canVote = (this.#vote === m.from &&
      this.#voteIncarnation === (m.incarnation ?? 0)) ||
      (this.#vote === null && this.#leader === null) ||
      (m.type === "preVote" && m.term > this.#term);
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    if (
      canVote && this.logIsUpToDate(m.logTerm, m.index)
    ) {
      this.#reply(m, { type: respType, term: m.term });
      if (m.type === "vote") {
        this.#electionElapsed = 0;
        this.#vote = m.from;
        this.#voteIncarnation = m.incarnation ?? 0;
        this.#staleProbes();
      }
    } else {
      this.#reply(m, { type: respType, reject: true });
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.#electionElapsed = 0;
        this.#leader = m.from;
        this.#staleProbes();
        this.#handleAppend(m);
        break;
      case "heartbeat":
        this.#electionElapsed = 0;
        this.#leader = m.from;
        this.#staleProbes();
        this.#noteLeaderCommit(m.commit);
        this.#log.commitTo(
          Math.min(m.commit, this.#verified, this.#log.lastIndex()),
        );
        this.#reply(m, { type: "heartbeatResp", index: m.index });
        break;
      case "snapshot":
        this.#electionElapsed = 0;
        this.#leader = m.from;
        this.#staleProbes();
        this.#handleSnapshot(m);
        break;
      case "timeoutNow":
        if (m.from === this.#leader) this.#startCampaign("transfer");
        break;
      default:
        break;
    }
  }

  /** Follower: the leader of this term announced commit index `commit`. */
  #noteLeaderCommit(commit: number): void {
    this.#leaderCommit = Math.max(this.#leaderCommit ?? 0, commit);
  }

  #stepCandidate(m: Message): void {
    if (LEADER_MESSAGES.has(m.type)) {
      this.#becomeFollower(this.#term, m.from);
      this.#stepFollower(m);
      return;
    }
    if (!this.#countsVoteOf(m)) return;
    if (this.#role === "preCandidate" && m.type === "preVoteResp") {
      const counts = m.reject
        ? m.term === this.#term
        : m.term === this.#term + 1;
      if (!counts || this.#votes.has(m.from)) return;
      this.#votes.set(m.from, !m.reject);
      this.#tallyVotes();
    } else if (this.#role === "candidate" && m.type === "voteResp") {
      if (this.#votes.has(m.from)) return;
      this.#votes.set(m.from, !m.reject);
      this.#tallyVotes();
    }
  }

  /**
   * A vote counts from a voter of this candidate's membership as the
   * incarnation it records; in a bootstrap election, from each member as
   * the incarnation it answered the probe with.
   */
  #countsVoteOf(m: Message): boolean {
    const expected = this.#bootstrapPeers !== null
      ? this.#bootstrapPeers.get(m.from)
      : this.#conf?.voters.includes(m.from)
      ? incarnationOf(this.#conf, m.from)
      : undefined;
    return expected !== undefined &&
      this.incarnationMatches(expected, m.incarnation ?? 0);
  }

  #stepLeader(m: Message): void {
    const pr = this.#progress.get(m.from);
    if (pr === undefined) return;
    // An answer from another incarnation than the one replicated to is
    // stale: it counts towards nothing.
    if (!this.incarnationMatches(pr.incarnation, m.incarnation ?? 0)) return;
    if (m.type === "appendResp") this.#handleAppendResp(m, pr);
    else if (m.type === "heartbeatResp") this.#handleHeartbeatResp(m, pr);
  }

  #handleAppend(m: Message): void {
    if (m.index < this.#log.committed) {
      this.#reply(m, { type: "appendResp", index: this.#log.committed });
      return;
    }
    if (this.#log.matchTerm(m.index, m.logTerm)) {
      const lastNew = m.index + m.entries.length;
      const conflict = this.#log.findConflict(m.entries);
      if (conflict !== undefined) {
        const fresh = m.entries.slice(conflict.index - m.index - 1).map((
          e,
        ) => ({
          term: e.term,
          index: e.index,
          type: e.type,
          data: e.data,
        }));
        const truncates = conflict.index <= this.#log.lastIndex();
        this.#log.truncateAndAppend(fresh);
        this.#persisted = Math.min(this.#persisted, conflict.index - 1);
        if (truncates || fresh.some((e) => e.type !== "normal")) {
          this.#recomputeConf();
        }
      }
      this.#verified = Math.max(this.#verified, lastNew);
      this.#noteLeaderCommit(m.commit);
      this.#log.commitTo(Math.min(m.commit, lastNew));
      this.#reply(m, { type: "appendResp", index: lastNew });
      return;
    }
    const hint = this.#log.findConflictByTerm(
      Math.min(m.index, this.#log.lastIndex()),
      m.logTerm,
    );
    this.#reply(m, {
      type: "appendResp",
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  #handleSnapshot(m: Message): void {
    const s = m.snapshot as Snapshot;
    const { index, term } = s.metadata;
    if (index <= this.#log.committed) {
      this.#reply(m, { type: "appendResp", index: this.#log.committed });
      return;
    }
    this.#verified = Math.max(this.#verified, index);
    this.#noteLeaderCommit(m.commit);
    if (this.#log.matchTerm(index, term)) {
      this.#log.commitTo(index);
      this.#reply(m, { type: "appendResp", index: this.#log.committed });
      return;
    }
    const snapshot: Snapshot = {
      metadata: { index, term, conf: copyConf(s.metadata.conf) },
      data: s.data,
    };
    this.#log.restore({ index, term });
    this.#persisted = Math.min(this.#persisted, index);
    this.#snapshot = snapshot;
    this.#pendingSnapshot = snapshot;
    this.#recomputeConf();
    this.#reply(m, { type: "appendResp", index });
  }

  #handleAppendResp(m: Message, pr: Progress): void {
    if (m.index > this.#log.lastIndex()) return;
    pr.lastAck = this.#now;
    if (m.reject) {
      const hint = m.logTerm > 0
        ? this.#log.findConflictByTerm(m.rejectHint, m.logTerm).index
        : m.rejectHint;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.#sendAppend(m.from, true);
      }
      return;
    }
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") {
      pr.freeTo(m.index);
    }
    if (this.#maybeCommit()) {
      this.#commitDue = true;
      this.#stepDownIfRemoved();
      if (this.#role !== "leader") return;
    } else {
      while (this.#sendAppend(m.from, false));
    }
    if (m.from === this.#transferee && pr.match === this.#log.lastIndex()) {
      this.#sendTimeoutNow(m.from);
    }
  }

  #handleHeartbeatResp(m: Message, pr: Progress): void {
    pr.lastAck = this.#now;
    if (m.index >= this.#electedAt && m.index <= this.#now) {
      pr.leaseAck = Math.max(pr.leaseAck ?? m.index, m.index);
    }
    pr.probeSent = false;
    if (pr.state === "replicate" && pr.isPaused()) pr.freeFirst();
    if (pr.match < this.#log.lastIndex()) this.#sendAppend(m.from, true);
  }

  // ------------------------------------------------------------ leader work

  #assertLeader(): void {
    if (this.#role !== "leader") throw new NotLeaderError(this.#leader);
    if (this.#transferee !== null) {
      throw new NotLeaderError(
        this.#transferee,
        `Expected a leader accepting proposals, found leadership being transferred to node ${this.#transferee}`,
      );
    }
  }

  #appendEntry(type: EntryType, data: Uint8Array): number {
    const index = this.#log.lastIndex() + 1;
    const entry: Entry = { term: this.#term, index, type, data };
    this.#log.truncateAndAppend([entry]);
    if (type === "confChange" || type === "bootstrap") this.#recomputeConf();
    if (this.#maybeCommit()) this.#stepDownIfRemoved();
    if (this.#role !== "leader") return index;
    // Proposals wait for the next Ready, so that those made meanwhile go
    // out in one append per follower (and are acknowledged once).
    if (type === "normal") this.#appendsDue = true;
    else this.#broadcastAppend();
    return index;
  }

  /**
   * Sends what a leader deferred to the next Ready: the entries proposed
   * since the last one, and a commit index that moved.
   */
  #flushReplication(options: { holdCommit: boolean }): void {
    const commit = this.#commitDue;
    if (!this.#appendsDue && !commit) return;
    if (!this.#appendsDue && options.holdCommit && !this.#commitHeld) {
      // Only the commit index moved: it waits one Ready for new entries
      // to ride with. A writer answered by this commit usually proposes
      // again before the next Ready, and an empty append per commit
      // doubled a write's messages (`hasReady()` stays true, so a runtime
      // that finds nothing new sends it in the next Ready).
      this.#commitHeld = true;
      return;
    }
    this.#appendsDue = false;
    this.#commitDue = false;
    this.#commitHeld = false;
    if (this.#role !== "leader") return;
    for (const id of this.#progress.keys()) {
      // Up to the follower's window of appends in flight; an empty one
      // only to carry the commit index.
      if (this.#sendAppend(id, false)) {
        while (this.#sendAppend(id, false));
      } else if (commit) this.#sendAppend(id, true);
    }
  }

  #maybeCommit(): boolean {
    const own = Math.min(this.#persisted, this.#log.lastIndex());
    const index = quorumValue(
      this.#conf!.voters,
      (id) => id === this.id ? own : this.#progress.get(id)?.match ?? 0,
    );
    if (index <= this.#log.committed) return false;
    const term = this.#log.term(index);
    if (term === undefined || !this.mayCommitTerm(term)) return false;
    const pendingConf = this.#lastConfIndex > this.#log.committed;
    this.#log.commitTo(index);
    if (pendingConf && this.#lastConfIndex <= index) this.#syncProgress();
    return true;
  }

  /** A leader whose removal is committed steps down (dissertation §4.2.2). */
  #stepDownIfRemoved(): void {
    if (!this.#promotable() && this.#lastConfIndex <= this.#log.committed) {
      this.#becomeFollower(this.#term, null);
    }
  }

  #broadcastAppend(): void {
    for (const id of this.#progress.keys()) this.#sendAppend(id, true);
  }

  /** Sends `to` what it lacks; `false` when nothing was sent. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.#progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.#log.term(prevIndex);
    if (prevTerm === undefined) return this.#sendSnapshot(to, pr);
    const last = Math.min(this.#log.lastIndex(), prevIndex + this.#maxEntries);
    const entries = this.#log.slice(pr.next, last + 1);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.#send({
      type: "append",
      to,
      toIncarnation: pr.incarnation,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.#log.committed,
    });
    pr.sent(prevIndex + entries.length, entries.length);
    return true;
  }

  #sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (this.#snapshot === null) return false;
    this.#send({
      type: "snapshot",
      to,
      toIncarnation: pr.incarnation,
      snapshot: this.#snapshot,
      commit: this.#log.committed,
    });
    pr.becomeSnapshot(this.#snapshot.metadata.index, this.#now);
    return true;
  }

  #sendTimeoutNow(to: NodeId): void {
    this.#leaseFrom = Infinity;
    this.#timeoutNowAt = this.#now;
    this.#send({
      type: "timeoutNow",
      to,
      toIncarnation: this.#progress.get(to)?.incarnation ?? 0,
    });
  }

  /**
   * Gives up a leadership transfer. A `timeoutNow` already sent may still
   * make its target campaign (without pre-vote, past stickiness) for up to
   * an election timeout, so the lease resumes only with heartbeats sent that
   * long after it: then a quorum that answers them has not voted for the
   * target.
   */
  #abandonTransfer(): void {
    this.#transferee = null;
    if (this.#leaseFrom === Infinity) {
      this.#leaseFrom = Math.max(
        this.#now,
        this.#timeoutNowAt + this.#electionTicks,
      );
    }
  }

  // ------------------------------------------------------------ membership

  /**
   * Leader: node `id` told this leader its incarnation (a probe, or the
   * answer to a message meant for another incarnation). A member whose
   * recorded incarnation differs lost its state: it is re-added as a learner
   * (`rejoin`). A learner without a recorded incarnation is replicated to as
   * the one heard.
   */
  #noteIncarnation(id: NodeId, incarnation: number | undefined): void {
    if (!isIncarnation(incarnation)) return;
    this.#heardIncarnations.set(id, incarnation);
    const conf = this.#conf!;
    if (!conf.voters.includes(id) && !conf.learners.includes(id)) return;
    const recorded = incarnationOf(conf, id);
    if (recorded !== 0) {
      if (!this.incarnationMatches(recorded, incarnation)) {
        this.#rejoinWanted.set(id, incarnation);
      }
      return;
    }
    const pr = this.#progress.get(id);
    if (pr !== undefined && pr.incarnation !== incarnation) {
      this.#progress.set(id, this.#newProgress(pr.learner, incarnation));
    }
  }

  /**
   * Leader, every tick: proposes the membership changes it owes, one at a
   * time and only once an entry of its term is committed and no other
   * change is pending: re-add a member that came back with a new
   * incarnation as a learner, and promote a rejoining learner (one with a
   * recorded incarnation) back to voter once it has caught up.
   */
  #maintainMembership(): void {
    if (this.#role !== "leader" || this.#transferee !== null) return;
    if (this.#log.term(this.#log.committed) !== this.#term) return;
    if (this.#lastConfIndex > this.#log.committed) return;
    const conf = this.#conf!;
    for (const [id, incarnation] of this.#rejoinWanted) {
      this.#rejoinWanted.delete(id);
      const change: ConfChange = { type: "rejoin", nodeId: id, incarnation };
      if (incarnationOf(conf, id) === incarnation) continue;
      if (confChangeProblem(conf, change) !== null) continue;
      this.#appendEntry("confChange", encodeConfChange(change));
      return;
    }
    for (const id of conf.learners) {
      const incarnation = incarnationOf(conf, id);
      const pr = this.#progress.get(id);
      if (
        incarnation === 0 || pr === undefined ||
        pr.incarnation !== incarnation || !this.#caughtUp(pr)
      ) continue;
      this.#appendEntry(
        "confChange",
        encodeConfChange({ type: "promote", nodeId: id, incarnation }),
      );
      return;
    }
  }

  /**
   * The membership as of `index`: the snapshot's, or the log's bootstrap
   * entry, then the log's changes; `null` when neither holds one.
   */
  #confAt(index: number): ConfState | null {
    let conf: ConfState | null = this.#snapshot?.metadata.conf ?? null;
    for (const e of this.#log.slice(this.#log.firstIndex(), index + 1)) {
      try {
        if (e.type === "bootstrap") conf = decodeConfState(e.data);
        else if (e.type === "confChange" && conf !== null) {
          conf = applyConfChange(conf, decodeConfChange(e.data));
        }
      } catch {
        // A malformed change in the log applies as a no-op on every node.
      }
    }
    return conf === null ? null : copyConf(conf);
  }

  #recomputeConf(): void {
    const last = this.#log.lastIndex();
    const wasPristine = this.#conf === null;
    this.#conf = this.#confAt(last);
    if (wasPristine && this.#conf !== null) {
      this.#heard.clear();
      this.#holdersSeen.clear();
      this.#probeAnswers.clear();
      this.#probeRound = 0;
      this.#probeFloor = 0;
    }
    this.#lastConfIndex = 0;
    for (let i = last; i >= this.#log.firstIndex(); i--) {
      const type = this.#log.entry(i)?.type;
      if (type === "confChange" || type === "bootstrap") {
        this.#lastConfIndex = i;
        break;
      }
    }
    if (this.#role === "leader") this.#syncProgress();
  }

  #newProgress(learner: boolean, incarnation: number): Progress {
    return new Progress({
      next: this.#peersEmpty ? 1 : this.#log.lastIndex() + 1,
      learner,
      maxInflight: this.#maxInflight,
      addedCommit: this.#log.committed,
      incarnation,
    });
  }

  /**
   * Makes the leader's progress map match the membership: a member is
   * replicated to as the incarnation the membership records, or (a learner
   * without one) as the one last heard; a member whose incarnation changed
   * starts over.
   */
  #syncProgress(): void {
    const conf = this.#conf!;
    const members = [...conf.voters, ...conf.learners];
    const recordedBy = new Map<NodeId, number>();
    for (const id of members) recordedBy.set(id, incarnationOf(conf, id));
    if (this.#lastConfIndex > this.#log.committed) {
      // A member being removed keeps receiving the log until its removal
      // is committed, so that it learns it and stops campaigning.
      const before = this.#confAt(this.#lastConfIndex - 1);
      for (const id of [...before?.voters ?? [], ...before?.learners ?? []]) {
        if (members.includes(id)) continue;
        members.push(id);
        recordedBy.set(id, incarnationOf(before!, id));
      }
    }
    for (const id of [...this.#progress.keys()]) {
      if (!members.includes(id)) this.#progress.delete(id);
    }
    for (const id of members) {
      if (id === this.id) continue;
      const learner = !conf.voters.includes(id);
      const pr = this.#progress.get(id);
      const incarnation = recordedBy.get(id) ||
        pr?.incarnation || this.#heardIncarnations.get(id) || 0;
      if (pr !== undefined && pr.incarnation === incarnation) {
        pr.learner = learner;
        continue;
      }
      this.#progress.set(id, this.#newProgress(learner, incarnation));
    }
    if (
      this.#transferee !== null && !conf.voters.includes(this.#transferee)
    ) {
      this.#abandonTransfer();
    }
  }

  // ---------------------------------------------------------------- sending

  /** Answers `m`, addressed to the incarnation that sent it. */
  #reply(
    m: Message,
    partial: Partial<Message> & { type: MessageType },
  ): void {
    this.#send({ to: m.from, toIncarnation: m.incarnation ?? 0, ...partial });
  }

  #send(
    partial: Partial<Message> & { type: MessageType; to: NodeId },
  ): void {
    this.#messages.push({
      from: this.id,
      term: this.#term,
      logTerm: 0,
      index: 0,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: null,
      incarnation: this.#incarnation,
      toIncarnation: 0,
      ...partial,
    });
  }
}

/** A positive safe integer drawn from `random`: a new storage's incarnation. */
function drawIncarnation(random: () => number): number {
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return 1 + Math.floor(unit * (Number.MAX_SAFE_INTEGER - 1));
}
