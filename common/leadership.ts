/**
 * Who leads: the vocabulary that Raft (which decides it), discovery (which
 * names the members) and the controller (which reconciles only on the
 * leader) share, so none of them reaches into another for it. Pure data and
 * error classes: the Raft core imports this file.
 *
 * @module
 */

/**
 * The identity of one Raft member. In a StatefulSet it is the pod's ordinal
 * (`my-operator-2` is node `2`). Always a non-negative safe integer.
 *
 * @example A StatefulSet pod's ordinal
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NodeId } from "@k8s-operator/k8s-operator/raft";
 * const podName = "my-operator-2";
 * const id: NodeId = Number(podName.slice(podName.lastIndexOf("-") + 1));
 * assert.equal(id, 2);
 * ```
 */
export type NodeId = number;

/**
 * The role a core is in. Learners are followers that are not voters.
 *
 * @example
 * ```ts
 * import type { Role } from "@k8s-operator/k8s-operator/raft";
 * const mayReconcile = (role: Role) => role === "leader";
 * const inElection = (role: Role) => role === "preCandidate" || role === "candidate";
 * ```
 */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/**
 * The base class of every Raft error.
 *
 * @example
 * ```ts
 * import { RaftError } from "@k8s-operator/k8s-operator/raft";
 * try {
 *   throw new RaftError("Expected a running node, found a stopped one");
 * } catch (error) {
 *   console.log(error instanceof RaftError);
 * }
 * ```
 */
export class RaftError extends Error {
  /** Creates the error with a message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Thrown when an operation needs the leader and this node is not the leader.
 * `leader` is a hint: the node believed to lead, or `null` when unknown.
 *
 * @example
 * ```ts
 * import { NotLeaderError } from "@k8s-operator/k8s-operator/raft";
 * const error = new NotLeaderError(2);
 * console.log(error.leader, error.message);
 * ```
 */
export class NotLeaderError extends RaftError {
  /** The node believed to be the leader, or `null` when unknown. */
  readonly leader: NodeId | null;

  /** Creates the error with a leader hint and an optional message. */
  constructor(leader: NodeId | null, message?: string) {
    super(
      message ??
        (leader === null
          ? "Expected this node to be the leader, found no known leader"
          : `Expected this node to be the leader, found node ${leader} leading`),
    );
    this.leader = leader;
  }
}
