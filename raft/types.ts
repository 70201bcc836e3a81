/**
 * The data types of the Raft core: log entries, messages, persisted state,
 * snapshots, membership and the {@linkcode Ready} hand-off.
 *
 * These types are shared by the pure core (`core.ts`), its storages and the
 * HTTP transport. They are plain data: every field is a number, a string, a
 * boolean, a `Uint8Array` or an array or object of those, so a message can be
 * checked field by field when it arrives from the network.
 *
 * @module
 */

import type { NodeId, Role } from "../common/leadership.ts";

export type { NodeId, Role } from "../common/leadership.ts";

/**
 * The kind of a log entry.
 *
 * - `normal`: application data (for example a key-value command).
 * - `confChange`: a membership change; `data` holds a {@linkcode ConfChange}
 *   encoded with `encodeConfChange`.
 * - `empty`: the no-op entry a new leader appends to commit its term.
 * - `bootstrap`: the first entry of a cluster's log, written by the node
 *   that won its bootstrap election; `data` holds the initial
 *   {@linkcode ConfState} (every voter with its incarnation), encoded with
 *   `encodeConfState`.
 *
 * @example
 * ```ts
 * import type { EntryType } from "@k8s-operator/k8s-operator/raft";
 * const meaning: Record<EntryType, string> = {
 *   normal: "application data for the state machine",
 *   confChange: "a membership change",
 *   empty: "a new leader's no-op, which commits its term",
 *   bootstrap: "the membership a new cluster starts with",
 * };
 * ```
 */
export type EntryType = "normal" | "confChange" | "empty" | "bootstrap";

/**
 * One entry of the replicated log.
 *
 * @example A membership change at index 8
 * ```ts
 * import { type Entry, encodeConfChange } from "@k8s-operator/k8s-operator/raft";
 * const entry: Entry = {
 *   term: 2,
 *   index: 8,
 *   type: "confChange",
 *   data: encodeConfChange({ type: "addLearner", nodeId: 3 }),
 * };
 * ```
 */
export interface Entry {
  /** The term of the leader that created the entry. */
  term: number;
  /** The position of the entry in the log; the first entry is index 1. */
  index: number;
  /** What the entry holds. */
  type: EntryType;
  /** The entry's payload; empty for `empty` entries. */
  data: Uint8Array;
}

/**
 * Membership: who votes and who only receives the log.
 *
 * Changes are made one server at a time ({@linkcode ConfChange}); a node's
 * configuration is the latest one in its log, committed or not (Raft
 * dissertation §4.1).
 *
 * A member is a node id together with an **incarnation**: a random number
 * that a node's storage gets when it is created, and that a node which lost
 * its storage (a wiped volume, a restart on memory storage) no longer has.
 * Every voter has one; a vote or an acknowledgement counts only from a voter
 * whose current incarnation is the one recorded here, so a node that forgot
 * its votes and its log is a new server until a leader adds it again.
 *
 * @example
 * ```ts
 * import type { ConfState } from "@k8s-operator/k8s-operator/raft";
 * // Nodes 0, 1 and 2 vote (a quorum is 2); node 3 is catching up as a learner.
 * const conf: ConfState = {
 *   voters: [0, 1, 2],
 *   learners: [3],
 *   incarnations: { 0: 81723, 1: 90211, 2: 5512 },
 * };
 * ```
 */
export interface ConfState {
  /** Members whose votes and acknowledgements count towards a quorum. */
  voters: NodeId[];
  /** Members that receive the log but do not vote. */
  learners: NodeId[];
  /**
   * The incarnation of each voter (a positive integer), and of each learner
   * that is rejoining after it lost its state (it is promoted back to voter
   * once caught up). Absent in a bootstrap option: the bootstrap election
   * fills it in.
   */
  incarnations?: Record<NodeId, number>;
}

/**
 * A single-server membership change, carried by a `confChange` entry.
 *
 * @example Growing a cluster by one node
 * ```ts
 * import type { ConfChange, RaftNode } from "@k8s-operator/k8s-operator/raft";
 * async function grow(leader: RaftNode, caughtUp: Promise<void>): Promise<void> {
 *   const add: ConfChange = { type: "addLearner", nodeId: 3 };
 *   await leader.changeMembership(add); // node 3 replicates, does not vote yet
 *   await caughtUp; // leader.status().progress[3].caughtUp (reconcileMembers automates this)
 *   await leader.changeMembership({ type: "promote", nodeId: 3 });
 * }
 * ```
 */
export interface ConfChange {
  /**
   * - `addLearner`: a new member that replicates but does not vote.
   * - `promote`: a learner becomes a voter.
   * - `addVoter`: a new member that votes at once (prefer learner + promote);
   *   of a learner, a promotion, refused as `promote` is until it caught up.
   * - `remove`: a voter or learner leaves.
   * - `rejoin`: a member that lost its state comes back with a new
   *   incarnation: it becomes a learner (its old incarnation's votes and
   *   acknowledgements no longer count) and is promoted back once caught up.
   *   The leader proposes it by itself when it hears a member's new
   *   incarnation.
   */
  type: "addLearner" | "promote" | "addVoter" | "remove" | "rejoin";
  /** The member the change is about. */
  nodeId: NodeId;
  /**
   * The member's incarnation. Required for `rejoin`; a leader fills it in
   * for `promote` and `addVoter` from the node's answers (and refuses when
   * it has heard none). Ignored for `addLearner` and `remove`.
   */
  incarnation?: number;
}

/**
 * The state that must be on stable storage before messages are sent.
 *
 * @example
 * ```ts
 * import type { HardState } from "@k8s-operator/k8s-operator/raft";
 * // In term 5 this node voted for node 2, and entries up to 41 are committed.
 * const hs: HardState = { term: 5, vote: 2, commit: 41 };
 * // A new node: term 0, no vote, nothing committed.
 * const fresh: HardState = { term: 0, vote: null, commit: 0 };
 * ```
 */
export interface HardState {
  /** The latest term this node has seen. */
  term: number;
  /** Whom this node voted for in `term`, or `null`. */
  vote: NodeId | null;
  /** The highest log index known to be committed. */
  commit: number;
}

/**
 * Where a snapshot ends and the membership at that point.
 *
 * @example
 * ```ts
 * import type { SnapshotMetadata } from "@k8s-operator/k8s-operator/raft";
 * // The snapshot covers entries 1..1000; entry 1000 was written in term 4.
 * const metadata: SnapshotMetadata = {
 *   index: 1000,
 *   term: 4,
 *   conf: { voters: [0, 1, 2], learners: [] },
 * };
 * ```
 */
export interface SnapshotMetadata {
  /** The index of the last entry the snapshot covers. */
  index: number;
  /** The term of that entry. */
  term: number;
  /** The membership as of `index`. */
  conf: ConfState;
}

/**
 * A state-machine snapshot that replaces the log up to `metadata.index`.
 *
 * @example A key-value store's snapshot
 * ```ts
 * import { KeyValueStore, type Snapshot } from "@k8s-operator/k8s-operator/raft";
 * const store = new KeyValueStore();
 * const snapshot: Snapshot = {
 *   metadata: { index: 1000, term: 4, conf: { voters: [0, 1, 2], learners: [] } },
 *   data: store.snapshot(),
 * };
 * new KeyValueStore().restore(snapshot.data); // what a follower does on install
 * ```
 */
export interface Snapshot {
  /** Where the snapshot ends. */
  metadata: SnapshotMetadata;
  /** The state machine's serialized state. */
  data: Uint8Array;
}

/**
 * Everything a node has persisted, as loaded at start.
 *
 * `entries` follow the snapshot without a gap: the first has index
 * `snapshot.metadata.index + 1` (or 1 without a snapshot).
 *
 * @example
 * ```ts
 * import type { PersistedState } from "@k8s-operator/k8s-operator/raft";
 * // After a snapshot at index 1000, the log resumes at index 1001.
 * const state: PersistedState = {
 *   hardState: { term: 4, vote: 1, commit: 1001 },
 *   snapshot: {
 *     metadata: { index: 1000, term: 4, conf: { voters: [0, 1, 2], learners: [] } },
 *     data: new Uint8Array(),
 *   },
 *   entries: [{ term: 4, index: 1001, type: "normal", data: new Uint8Array([1]) }],
 * };
 * ```
 */
export interface PersistedState {
  /**
   * The storage's incarnation, absent for a new storage: the core then takes
   * a new one and hands it out in its first {@linkcode Ready} to be saved.
   */
  incarnation?: number;
  /** Term, vote and commit. */
  hardState: HardState;
  /** The latest snapshot, if one was taken or received. */
  snapshot: Snapshot | null;
  /** The log after the snapshot. */
  entries: Entry[];
}

/**
 * The kinds of message two cores exchange. `probe` is sent by a node that
 * holds no log to the members of the initial membership (and every node it
 * has heard from); `probeResp` answers it, with `reject: true` when the
 * answering node holds a log, and also tells a leader that sent a message to
 * an earlier incarnation of the node which incarnation it has now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MessageType } from "@k8s-operator/k8s-operator/raft";
 * const isResponse = (type: MessageType) => type.endsWith("Resp");
 * assert.equal(isResponse("appendResp"), true);
 * assert.equal(isResponse("timeoutNow"), false);
 * ```
 */
export type MessageType =
  | "preVote"
  | "preVoteResp"
  | "vote"
  | "voteResp"
  | "append"
  | "appendResp"
  | "heartbeat"
  | "heartbeatResp"
  | "snapshot"
  | "timeoutNow"
  | "probe"
  | "probeResp";

/**
 * A message between two cores. Flat, as in etcd-io/raft: the fields a type
 * does not use are zero, `false` or empty.
 *
 * @example A heartbeat from the leader
 * ```ts
 * import type { Message } from "@k8s-operator/k8s-operator/raft";
 * // Node 0 leads term 3; it tells node 2 that entries up to 41 are committed.
 * const heartbeat: Message = {
 *   type: "heartbeat", from: 0, to: 2, term: 3,
 *   logTerm: 0, index: 120, // index: the leader's tick when it sent this
 *   commit: 41, entries: [], reject: false, rejectHint: 0, snapshot: null,
 * };
 * ```
 */
export interface Message {
  /** What the message is. */
  type: MessageType;
  /** The sender. */
  from: NodeId;
  /** The receiver. */
  to: NodeId;
  /** The sender's term (for `preVote`, the term it would campaign in). */
  term: number;
  /**
   * `append`: the term of the entry before `entries`.
   * `vote`/`preVote`: the term of the candidate's last entry.
   * `appendResp` with `reject`: the term of the follower's entry at
   * `rejectHint` (for fast backtracking).
   */
  logTerm: number;
  /**
   * `append`: the index of the entry before `entries`.
   * `vote`/`preVote`: the candidate's last index.
   * `appendResp`: the highest index the follower now matches; with
   * `reject`, the `index` of the append it refused.
   * `heartbeat`: the leader's tick when it sent the heartbeat;
   * `heartbeatResp`: that tick, echoed (the leader lease counts from it).
   */
  index: number;
  /**
   * `append`/`heartbeat`/`snapshot`: the leader's commit index. A follower
   * commits from a heartbeat only what an append (or snapshot) of the same
   * term proved it shares with the leader.
   */
  commit: number;
  /** `append`: the entries to append after `index`. */
  entries: Entry[];
  /** Responses: `true` when the request was refused. */
  reject: boolean;
  /** `appendResp` with `reject`: where the leader should probe next. */
  rejectHint: number;
  /** `snapshot`: the snapshot to install. */
  snapshot: Snapshot | null;
  /**
   * `vote`/`preVote`: `true` when the campaign was started by a `timeoutNow`
   * (leadership transfer). Such requests are not refused by a follower that
   * still hears from its leader (leader stickiness). Absent means `false`.
   */
  transfer?: boolean;
  /** The sender's incarnation (see {@linkcode ConfState}). Absent means 0. */
  incarnation?: number;
  /**
   * The receiver's incarnation as the sender knows it, 0 (or absent) when it
   * does not. A node handles a message only when it names its own
   * incarnation; `probe` alone names none. A leader's message for an earlier
   * incarnation is answered with a `probeResp` that tells the new one.
   */
  toIncarnation?: number;
  /**
   * `vote`/`voteResp`: part of a bootstrap election, in which a node that
   * holds no log asks every member of the initial membership, all as empty
   * as itself, for their votes and their incarnations. Absent means `false`.
   */
  bootstrap?: boolean;
  /**
   * `heartbeatResp`/`appendResp`: the sender's application reports itself
   * healthy (the Operator: it reaches the Kubernetes API server), so a
   * leader that is not may hand leadership to it. The core neither sets nor
   * reads it; the runtime's owner does, on the way to and from the
   * transport. Absent means `false`.
   */
  healthy?: boolean;
  /**
   * `heartbeat`/`heartbeatResp`: opaque bytes of the sharding layer (a
   * shard grant on a heartbeat, a renewal request on its answer), versioned
   * by their own first byte. The core neither sets nor reads them; the
   * runtime's owner does, on the way to and from the transport. Absent when
   * sharding is off, and then the message's bytes are those of a node
   * without sharding.
   */
  shard?: Uint8Array;
}

/**
 * The role and leader as a node currently sees them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SoftState } from "@k8s-operator/k8s-operator/raft";
 * const describe = (s: SoftState) =>
 *   s.leader === null
 *     ? `no known leader in term ${s.term}`
 *     : `${s.role}, node ${s.leader} leads term ${s.term}`;
 * assert.equal(describe({ role: "follower", leader: 2, term: 5 }), "follower, node 2 leads term 5");
 * ```
 */
export interface SoftState {
  /** This node's role. */
  role: Role;
  /** The leader of the current term, if known. */
  leader: NodeId | null;
  /** The current term. */
  term: number;
}

/**
 * What the core asks the outside world to do, handed out by `ready()` and
 * acknowledged with `advance()`. Order matters:
 *
 * 1. persist `snapshot`, then `entries` (dropping any persisted entries at
 *    or after `entries[0].index` first), then `hardState`, durably;
 * 2. only then send `messages`;
 * 3. apply `committedEntries` in order;
 * 4. call `advance()`.
 *
 * @example Handling a ready in order
 * ```ts
 * import type { Entry, Message, RaftCore, Ready, Storage } from "@k8s-operator/k8s-operator/raft";
 * async function handle(
 *   core: RaftCore,
 *   storage: Storage,
 *   send: (messages: Message[]) => void,
 *   apply: (entry: Entry) => void,
 * ): Promise<void> {
 *   const rd: Ready = core.ready();
 *   await storage.save(rd); // snapshot, entries, hard state: durable first
 *   send(rd.messages);
 *   for (const entry of rd.committedEntries) apply(entry);
 *   core.advance();
 * }
 * ```
 */
export interface Ready {
  /**
   * The incarnation to persist, on the first ready of a core whose storage
   * had none; saved before anything that carries it is sent.
   */
  incarnation?: number;
  /** The hard state to persist, when it changed. */
  hardState: HardState | null;
  /** Entries to persist; they may overwrite a conflicting suffix. */
  entries: Entry[];
  /** A snapshot to persist and restore the state machine from. */
  snapshot: Snapshot | null;
  /** Messages to send once the above is durable. */
  messages: Message[];
  /** Entries now known to be committed, to apply in order. */
  committedEntries: Entry[];
  /** The role, leader and term, when any of them changed. */
  softState: SoftState | null;
}
