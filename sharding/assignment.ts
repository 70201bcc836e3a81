/**
 * Who should own which shard: the assignment the Raft leader commits to the
 * log as a numbered epoch, and the planner that computes it (rendezvous
 * hashing with a load bound, sticky to the previous assignment).
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";
import { ShardConfigError } from "./errors.ts";
import { checkShardCount, rendezvousScore } from "./hash.ts";

/**
 * One epoch of the shard assignment: every shard's owner.
 *
 * @example
 * ```ts
 * import type { Assignment } from "@k8s-operator/k8s-operator/sharding";
 * const assignment: Assignment = {
 *   epoch: 1,
 *   shardCount: 4,
 *   members: [0, 1],
 *   owners: [0, 1, 1, 0],
 * };
 * ```
 */
export interface Assignment {
  /** Rises by one with every committed assignment. */
  epoch: number;
  /** The number of shards `S`, fixed for the life of a cluster. */
  shardCount: number;
  /** The members it was planned over, ascending. */
  members: NodeId[];
  /** `owners[shard]`: the member that should own the shard, `null` for none. */
  owners: (NodeId | null)[];
}

/**
 * Options of {@linkcode planAssignment}.
 *
 * @example
 * ```ts
 * import type { PlanOptions } from "@k8s-operator/k8s-operator/sharding";
 * const options: PlanOptions = { shardCount: 256, members: [0, 1, 2], previous: null };
 * ```
 */
export interface PlanOptions {
  /** The number of shards. */
  shardCount: number;
  /** The eligible members (voters, live, not leaving, not lost). */
  members: readonly NodeId[];
  /**
   * The assignment in force, to move as few shards as possible from it;
   * `null` (or one of another shard count) plans from scratch.
   */
  previous?: Assignment | null;
}

function checkMember(id: NodeId): NodeId {
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new ShardConfigError(
      `Expected member ids to be non-negative safe integers, found ${id}`,
    );
  }
  return id;
}

/**
 * Plans the next assignment. Each member gets a quota of `⌊S/N⌋` or
 * `⌈S/N⌉` shards (the extra ones go to the members holding the most in
 * `previous`, then to the lowest ids). Every shard of `previous` whose owner
 * is still a member stays, up to the owner's quota (an owner over quota keeps
 * the shards it scores highest for); every other shard goes, in shard order,
 * to the member with room left that scores highest for it
 * ({@linkcode rendezvousScore}). So the counts differ by at most one, and a
 * join or a leave moves only the shards balance needs. The epoch is
 * `previous.epoch + 1` (1 without one).
 *
 * @example A fourth member takes a quarter, nothing else moves
 * ```ts
 * import assert from "node:assert/strict";
 * import { movedShards, ownedCounts, planAssignment } from "@k8s-operator/k8s-operator/sharding";
 * const three = planAssignment({ shardCount: 256, members: [0, 1, 2] });
 * const four = planAssignment({ shardCount: 256, members: [0, 1, 2, 3], previous: three });
 * assert.deepEqual([...ownedCounts(four).values()], [64, 64, 64, 64]);
 * assert.equal(movedShards(three, four).length, 64);
 * assert.equal(four.epoch, 2);
 * ```
 */
export function planAssignment(options: PlanOptions): Assignment {
  const shardCount = checkShardCount(options.shardCount);
  const members = [...new Set(options.members.map(checkMember))].sort((a, b) =>
    a - b
  );
  const previous = options.previous ?? null;
  const epoch = (previous?.epoch ?? 0) + 1;
  const owners: (NodeId | null)[] = new Array(shardCount).fill(null);
  if (members.length === 0) return { epoch, shardCount, members, owners };
  const usable = previous !== null && previous.shardCount === shardCount
    ? previous
    : null;
  const held = new Map<NodeId, number[]>(members.map((m) => [m, []]));
  if (usable !== null) {
    usable.owners.forEach((owner, shard) => {
      if (owner !== null) held.get(owner)?.push(shard);
    });
  }
  const base = Math.floor(shardCount / members.length);
  const extra = shardCount % members.length;
  const quota = new Map<NodeId, number>();
  [...members]
    .sort((a, b) => held.get(b)!.length - held.get(a)!.length || a - b)
    .forEach((m, rank) => quota.set(m, base + (rank < extra ? 1 : 0)));
  const count = new Map<NodeId, number>();
  for (const m of members) {
    const keep = held.get(m)!
      .sort((a, b) => rendezvousScore(b, m) - rendezvousScore(a, m) || a - b)
      .slice(0, quota.get(m)!);
    for (const shard of keep) owners[shard] = m;
    count.set(m, keep.length);
  }
  for (let shard = 0; shard < shardCount; shard++) {
    if (owners[shard] !== null) continue;
    let best: NodeId | null = null;
    let bestScore = -1;
    for (const m of members) {
      if (count.get(m)! >= quota.get(m)!) continue;
      const score = rendezvousScore(shard, m);
      if (score > bestScore) {
        best = m;
        bestScore = score;
      }
    }
    owners[shard] = best;
    count.set(best!, count.get(best!)! + 1);
  }
  return { epoch, shardCount, members, owners };
}

/**
 * How many shards each member of an assignment owns, in member order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownedCounts } from "@k8s-operator/k8s-operator/sharding";
 * const counts = ownedCounts({ epoch: 1, shardCount: 3, members: [4, 7], owners: [7, 4, 7] });
 * assert.deepEqual([...counts], [[4, 1], [7, 2]]);
 * ```
 */
export function ownedCounts(assignment: Assignment): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(
    assignment.members.map((m) => [m, 0]),
  );
  for (const owner of assignment.owners) {
    if (owner !== null) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

/**
 * The shards whose owner differs between two assignments (of one shard
 * count), ascending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { movedShards } from "@k8s-operator/k8s-operator/sharding";
 * const a = { epoch: 1, shardCount: 3, members: [0, 1], owners: [0, 1, 1] };
 * const b = { epoch: 2, shardCount: 3, members: [0, 1], owners: [0, 0, 1] };
 * assert.deepEqual(movedShards(a, b), [1]);
 * ```
 */
export function movedShards(from: Assignment, to: Assignment): number[] {
  if (from.shardCount !== to.shardCount) {
    throw new ShardConfigError(
      `Expected two assignments of one shard count, found ${from.shardCount} and ${to.shardCount}`,
    );
  }
  const moved: number[] = [];
  for (let shard = 0; shard < to.shardCount; shard++) {
    if (from.owners[shard] !== to.owners[shard]) moved.push(shard);
  }
  return moved;
}

/**
 * `true` when an assignment was planned over exactly these members (in any
 * order): the leader plans a new epoch only when this is `false`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planAssignment, plannedFor } from "@k8s-operator/k8s-operator/sharding";
 * const a = planAssignment({ shardCount: 8, members: [0, 1] });
 * assert.ok(plannedFor(a, [1, 0]));
 * assert.ok(!plannedFor(a, [0, 1, 2]));
 * assert.ok(!plannedFor(null, []));
 * ```
 */
export function plannedFor(
  assignment: Assignment | null,
  members: readonly NodeId[],
): boolean {
  if (assignment === null) return false;
  const wanted = [...new Set(members)].sort((a, b) => a - b);
  return wanted.length === assignment.members.length &&
    wanted.every((m, i) => assignment.members[i] === m);
}

/**
 * What the leader knows of its members, as far as eligibility needs it (the
 * leader's `RaftCore.status()` fits).
 *
 * @example
 * ```ts
 * import type { CandidateSource } from "@k8s-operator/k8s-operator/sharding";
 * const status: CandidateSource = {
 *   conf: { voters: [0, 1], incarnations: { 0: 7, 1: 9 } },
 *   progress: { 0: { incarnation: 7, learner: false }, 1: { incarnation: 9, learner: false } },
 * };
 * ```
 */
export interface CandidateSource {
  /** The membership in force. */
  conf: {
    /** The voters. */
    voters: readonly NodeId[];
    /** Each voter's recorded incarnation. */
    incarnations?: Readonly<Record<NodeId, number>>;
  };
  /** The leader's view of each member's replication (itself included). */
  progress: Readonly<
    Record<NodeId, { incarnation: number; learner: boolean }>
  >;
}

/**
 * The members that may own shards: the voters the leader replicates to as
 * the incarnation the membership records. Learners own nothing, and neither
 * does a member that lost its state (a new incarnation: it is re-added as a
 * learner first). Liveness and leaving are `GrantIssuer.liveMembers`'s
 * business.
 *
 * @example A learner and a member with a new incarnation own nothing
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardCandidates } from "@k8s-operator/k8s-operator/sharding";
 * const candidates = shardCandidates({
 *   conf: { voters: [0, 1, 2], incarnations: { 0: 5, 1: 6, 2: 7 } },
 *   progress: {
 *     0: { incarnation: 5, learner: false },
 *     1: { incarnation: 60, learner: false },
 *     2: { incarnation: 7, learner: false },
 *     3: { incarnation: 8, learner: true },
 *   },
 * });
 * assert.deepEqual(candidates, [0, 2]);
 * ```
 */
export function shardCandidates(status: CandidateSource): NodeId[] {
  const recorded = status.conf.incarnations ?? {};
  return status.conf.voters.filter((id) => {
    const p = status.progress[id];
    if (p === undefined || p.learner) return false;
    const incarnation = recorded[id];
    return incarnation === undefined || p.incarnation === incarnation;
  }).sort((a, b) => a - b);
}
