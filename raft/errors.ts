/**
 * The errors the Raft core and its users throw.
 *
 * @module
 */
import { RaftError } from "../common/leadership.ts";

export { NotLeaderError, RaftError } from "../common/leadership.ts";

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
