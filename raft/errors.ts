/**
 * The errors the Raft core and its users throw.
 *
 * @module
 */
import type { NodeId } from "./types.ts";

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

/**
 * Thrown when a membership change cannot be proposed now (one is pending, or
 * the leader has not committed an entry of its term yet).
 *
 * @example
 * ```ts
 * import { ConfChangeError } from "@k8s-operator/k8s-operator/raft";
 * const error = new ConfChangeError("Expected no pending change, found one at index 7");
 * console.log(error.name);
 * ```
 */
export class ConfChangeError extends RaftError {}

/**
 * Thrown when a node is started on state written before memberships
 * recorded incarnations (format 1, k8s-operator 0.1.0): a log that does not
 * begin with the cluster's membership, a membership change without a format
 * version, or a snapshot whose membership lacks its voters' incarnations.
 * The core cannot tell which of its peers kept their state, so it does not
 * run on it. Setting the data aside (`FileStorage.setAside`) is safe: the
 * node rejoins as a new member, and when every member is set aside at once,
 * they start a new cluster.
 *
 * @example
 * ```ts
 * import { LegacyStateError } from "@k8s-operator/k8s-operator/raft";
 * const error = new LegacyStateError("a log without its membership");
 * console.log(error.reason, error.message);
 * ```
 */
export class LegacyStateError extends RaftError {
  /** What in the state is of format 1. */
  readonly reason: string;

  /** Creates the error naming what was found. */
  constructor(reason: string) {
    super(
      `Expected Raft state of format 2 (k8s-operator 0.2: memberships with each voter's incarnation), found format 1 (k8s-operator 0.1.0): ${reason}. Set it aside (FileStorage.setAside) and the node rejoins as a new member`,
    );
    this.reason = reason;
  }
}
