/**
 * The encodings of membership in the log: a single-server change inside a
 * `confChange` entry, and the whole membership inside a `bootstrap` entry.
 * Both are UTF-8 JSON (readable in a log dump) carrying a format version,
 * `"v": 2`; version 1 (k8s-operator 0.1.0) had no version field and no
 * incarnations, and is refused with a {@linkcode ConfChangeError} naming both.
 *
 * @module
 */
import { ConfChangeError } from "./errors.ts";
import type { ConfChange, ConfState, NodeId } from "./types.ts";
import {
  checkConfChange,
  copyConf,
  isIncarnation,
  isNodeId,
  sortedIncarnations,
} from "./_conf.ts";

/** The version of the membership encodings written here. */
const VERSION = 2;
/** The largest encoded change accepted by {@linkcode decodeConfChange}. */
const MAX_CHANGE_BYTES = 256;
/** The largest encoded membership accepted by {@linkcode decodeConfState}. */
const MAX_STATE_BYTES = 1 << 16;

function parse(
  data: Uint8Array,
  what: string,
  maxBytes: number,
): Record<string, unknown> {
  if (!(data instanceof Uint8Array)) {
    throw new ConfChangeError(
      `Expected the ${what} data to be a Uint8Array, found ${typeof data}`,
    );
  }
  if (data.length > maxBytes) {
    throw new ConfChangeError(
      `Expected at most ${maxBytes} bytes of ${what}, found ${data.length}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new ConfChangeError(
      `Expected the ${what} data to be UTF-8 JSON, found malformed bytes`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfChangeError(
      `Expected the ${what} data to be a JSON object, found ${
        Array.isArray(parsed) ? "an array" : JSON.stringify(parsed)
      }`,
    );
  }
  const { v, ...rest } = parsed as Record<string, unknown>;
  if (v !== VERSION) {
    throw new ConfChangeError(
      v === undefined
        ? `Expected ${what} format version ${VERSION} (k8s-operator 0.2, with incarnations), found version 1 (k8s-operator 0.1.0, without)`
        : `Expected ${what} format version ${VERSION}, found version ${
          JSON.stringify(v)
        }`,
    );
  }
  return rest;
}

/**
 * Internal: `true` when `data` is a membership change of k8s-operator 0.1.0
 * (format 1: a JSON object without `"v"`).
 */
export function isFormat1Change(data: Uint8Array): boolean {
  try {
    const parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(data),
    );
    return typeof parsed === "object" && parsed !== null &&
      !Array.isArray(parsed) && !("v" in parsed);
  } catch {
    return false;
  }
}

/**
 * Encodes a membership change as the `data` of a `confChange` entry.
 *
 * @example
 * ```ts
 * import { decodeConfChange, encodeConfChange } from "@k8s-operator/k8s-operator/raft";
 * import assert from "node:assert/strict";
 * const data = encodeConfChange({ type: "addLearner", nodeId: 4 });
 * assert.deepEqual(decodeConfChange(data), { type: "addLearner", nodeId: 4 });
 * ```
 *
 * @throws {ConfChangeError} when the change has an unknown type, a node id
 * that is not a non-negative safe integer, or an incarnation that is not a
 * positive one.
 */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const checked = checkConfChange(change);
  return new TextEncoder().encode(JSON.stringify({ v: VERSION, ...checked }));
}

/**
 * Decodes the `data` of a `confChange` entry.
 *
 * @example
 * ```ts
 * import { ConfChangeError, decodeConfChange } from "@k8s-operator/k8s-operator/raft";
 * import assert from "node:assert/strict";
 * // A change written by k8s-operator 0.1.0 has no format version.
 * const old = new TextEncoder().encode('{"type":"remove","nodeId":1}');
 * assert.throws(() => decodeConfChange(old), ConfChangeError);
 * ```
 *
 * @throws {ConfChangeError} when the bytes are not a well-formed change of
 * format version 2.
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  return checkConfChange(parse(data, "conf change", MAX_CHANGE_BYTES));
}

/**
 * Encodes a whole membership as the `data` of a `bootstrap` entry.
 *
 * @example
 * ```ts
 * import { decodeConfState, encodeConfState } from "@k8s-operator/k8s-operator/raft";
 * import assert from "node:assert/strict";
 * const conf = { voters: [0, 1], learners: [], incarnations: { 0: 7, 1: 9 } };
 * assert.deepEqual(decodeConfState(encodeConfState(conf)), conf);
 * ```
 *
 * @throws {ConfChangeError} when the membership is malformed (see
 * {@linkcode decodeConfState}).
 */
export function encodeConfState(conf: ConfState): Uint8Array {
  const checked = checkConfState(conf);
  return new TextEncoder().encode(JSON.stringify({
    v: VERSION,
    voters: checked.voters,
    learners: checked.learners,
    incarnations: sortedIncarnations(checked),
  }));
}

/**
 * Decodes the `data` of a `bootstrap` entry: a membership in which every
 * voter has an incarnation.
 *
 * @example
 * ```ts
 * import { ConfChangeError, decodeConfState } from "@k8s-operator/k8s-operator/raft";
 * import assert from "node:assert/strict";
 * const noIncarnation = new TextEncoder().encode(
 *   '{"v":2,"voters":[0],"learners":[],"incarnations":[]}',
 * );
 * assert.throws(() => decodeConfState(noIncarnation), ConfChangeError);
 * ```
 *
 * @throws {ConfChangeError} when the bytes are not a well-formed membership
 * of format version 2 (ids not unique non-negative integers, no voter, or a
 * voter without an incarnation).
 */
export function decodeConfState(data: Uint8Array): ConfState {
  const { voters, learners, incarnations } = parse(
    data,
    "membership",
    MAX_STATE_BYTES,
  );
  if (!Array.isArray(incarnations)) {
    throw new ConfChangeError(
      "Expected the membership's incarnations as [id, incarnation] pairs, found none",
    );
  }
  const record: Record<NodeId, number> = {};
  for (const pair of incarnations) {
    if (!Array.isArray(pair) || pair.length !== 2 || !isNodeId(pair[0])) {
      throw new ConfChangeError(
        `Expected an [id, incarnation] pair, found ${JSON.stringify(pair)}`,
      );
    }
    record[pair[0]] = pair[1];
  }
  return checkConfState({
    voters: voters as NodeId[],
    learners: learners as NodeId[],
    incarnations: record,
  });
}

/** Checks a membership that a log or snapshot may hold, returning a copy. */
function checkConfState(conf: ConfState): ConfState {
  const { voters, learners } = conf;
  if (
    !Array.isArray(voters) || !Array.isArray(learners) ||
    ![...voters, ...learners].every(isNodeId) ||
    new Set([...voters, ...learners]).size !== voters.length + learners.length
  ) {
    throw new ConfChangeError(
      "Expected the membership's voters and learners as distinct non-negative integer ids",
    );
  }
  if (voters.length === 0) {
    throw new ConfChangeError("Expected at least one voter, found none");
  }
  for (const [id, n] of Object.entries(conf.incarnations ?? {})) {
    if (!voters.includes(Number(id)) && !learners.includes(Number(id))) {
      throw new ConfChangeError(
        `Expected incarnations of members only, found one for node ${id}`,
      );
    }
    if (!isIncarnation(n)) {
      throw new ConfChangeError(
        `Expected node ${id}'s incarnation to be a positive safe integer, found ${
          JSON.stringify(n)
        }`,
      );
    }
  }
  const missing = voters.filter((id) =>
    !isIncarnation(conf.incarnations?.[id])
  );
  if (missing.length > 0) {
    throw new ConfChangeError(
      `Expected every voter to have an incarnation, found none for ${
        missing.join(", ")
      }`,
    );
  }
  return copyConf(conf);
}
