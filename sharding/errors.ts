/**
 * The errors of the sharding layer.
 *
 * @module
 */

/**
 * Thrown when bytes (an assignment log entry, a renewal request, a grant) do
 * not hold what their format says. Decoding that throws changes nothing.
 *
 * @example A log entry that is not an assignment
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAssignment, ShardFormatError } from "@k8s-operator/k8s-operator/sharding";
 * assert.throws(
 *   () => decodeAssignment(new TextEncoder().encode('{"op":"put"}')),
 *   ShardFormatError,
 * );
 * ```
 */
export class ShardFormatError extends Error {
  /** Creates the error with a message saying what was expected and found. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ShardFormatError";
  }
}

/**
 * Thrown when an option of the sharding layer is out of range (a drift of
 * 100 %, a shard count of 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantTiming, ShardConfigError } from "@k8s-operator/k8s-operator/sharding";
 * assert.throws(() => grantTiming({ drift: 1 }), ShardConfigError);
 * ```
 */
export class ShardConfigError extends Error {
  /** Creates the error with a message saying what was expected and found. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ShardConfigError";
  }
}
