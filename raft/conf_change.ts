/**
 * The wire form of a membership change inside a `confChange` log entry.
 *
 * @module
 */
import { ConfChangeError } from "./errors.ts";
import type { ConfChange } from "./types.ts";
import { checkConfChange } from "./_conf.ts";

/** The largest encoded change accepted by {@linkcode decodeConfChange}. */
const MAX_ENCODED_BYTES = 256;

/**
 * Encodes a membership change as the `data` of a `confChange` entry (UTF-8
 * JSON, so it is readable in a log dump).
 *
 * @example
 * ```ts
 * import { decodeConfChange, encodeConfChange } from "@k8s-operator/k8s-operator/raft";
 * const data = encodeConfChange({ type: "addLearner", nodeId: 4 });
 * console.log(decodeConfChange(data)); // { type: "addLearner", nodeId: 4 }
 * ```
 *
 * @throws {ConfChangeError} when the change has an unknown type or a node id
 * that is not a non-negative safe integer.
 */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const checked = checkConfChange(change);
  return new TextEncoder().encode(
    JSON.stringify({ type: checked.type, nodeId: checked.nodeId }),
  );
}

/**
 * Decodes the `data` of a `confChange` entry.
 *
 * @example
 * ```ts
 * import { ConfChangeError, decodeConfChange } from "@k8s-operator/k8s-operator/raft";
 * try {
 *   decodeConfChange(new Uint8Array([1, 2, 3]));
 * } catch (error) {
 *   console.log(error instanceof ConfChangeError); // true
 * }
 * ```
 *
 * @throws {ConfChangeError} when the bytes are not a well-formed change.
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (!(data instanceof Uint8Array)) {
    throw new ConfChangeError(
      `Expected the conf change data to be a Uint8Array, found ${typeof data}`,
    );
  }
  if (data.length > MAX_ENCODED_BYTES) {
    throw new ConfChangeError(
      `Expected at most ${MAX_ENCODED_BYTES} bytes of conf change, found ${data.length}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new ConfChangeError(
      "Expected the conf change data to be UTF-8 JSON, found malformed bytes",
    );
  }
  return checkConfChange(parsed);
}
