/**
 * Sharding: active-active reconciling. Objects are split into virtual shards
 * by a stable hash of their key (their owner's key when they have one); the
 * Raft leader assigns shards to live members, commits the assignment to the
 * log, and grants each shard to its owner for a bounded time, renewed on
 * every heartbeat round trip, so that at most one replica reconciles an
 * object at any instant.
 *
 * Everything here is pure: no clock, timer, randomness or I/O. Times are
 * numbers the caller reads from its monotonic clock. See
 * `sharding/README.md` for the protocol and the timing argument.
 *
 * @example The shard of an object, and its owner in an assignment
 * ```ts
 * import assert from "node:assert/strict";
 * import { planAssignment, shardKey, shardOf } from "@k8s-operator/k8s-operator/sharding";
 * const assignment = planAssignment({ shardCount: 256, members: [0, 1, 2] });
 * const shard = shardOf(shardKey({ metadata: { namespace: "default", name: "blog" } }), 256);
 * assert.ok([0, 1, 2].includes(assignment.owners[shard]!));
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export {
  checkShardCount,
  DEFAULT_SHARDS,
  fnv1a32,
  hashKey,
  MAX_SHARDS,
  rendezvousScore,
  shardKey,
  shardOf,
} from "./hash.ts";
export type {
  ShardKeyOptions,
  ShardKeySource,
  ShardOwnerReference,
} from "./hash.ts";
export {
  movedShards,
  ownedCounts,
  planAssignment,
  plannedFor,
  shardCandidates,
} from "./assignment.ts";
export type { Assignment, CandidateSource, PlanOptions } from "./assignment.ts";
export { GrantHolder, GrantIssuer, grantTiming } from "./grants.ts";
export type {
  GrantHolderOptions,
  GrantIssuerOptions,
  GrantMessage,
  GrantOutcome,
  GrantRecord,
  GrantTiming,
  GrantTimingOptions,
  IssueOptions,
  LiveMemberOptions,
  RenewalRequest,
} from "./grants.ts";
export {
  ASSIGNMENT_FORMAT,
  decodeAssignment,
  decodeGrant,
  decodeRenewalRequest,
  encodeAssignment,
  encodeGrant,
  encodeRenewalRequest,
  GRANT_FORMAT,
  isAssignmentEntry,
} from "./encoding.ts";
export { ShardConfigError, ShardFormatError } from "./errors.ts";
export type { NodeId } from "../common/leadership.ts";
