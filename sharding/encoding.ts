/**
 * The versioned encodings of sharding: assignment log entries (UTF-8 JSON,
 * readable in a log dump) and the renewal requests and grants that ride on
 * heartbeats (binary: a version byte, a type byte, LEB128 varints, shard
 * lists as gaps). Decoding anything else throws {@linkcode ShardFormatError}
 * saying what was expected and what was found.
 *
 * @module
 */
import type { NodeId } from "../common/leadership.ts";
import type { Assignment } from "./assignment.ts";
import { ByteReader, ByteWriter } from "./_bytes.ts";
import { ShardFormatError } from "./errors.ts";
import type { GrantMessage, RenewalRequest } from "./grants.ts";
import { MAX_SHARDS } from "./hash.ts";

/**
 * The version of the assignment entry format written here (the `"v"` field).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ASSIGNMENT_FORMAT, encodeAssignment, planAssignment } from "@k8s-operator/k8s-operator/sharding";
 * const data = encodeAssignment(planAssignment({ shardCount: 2, members: [0] }));
 * assert.equal(JSON.parse(new TextDecoder().decode(data)).v, ASSIGNMENT_FORMAT);
 * ```
 */
export const ASSIGNMENT_FORMAT = 1;
/**
 * The version of the renewal and grant messages written here (their first
 * byte).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRenewalRequest, GRANT_FORMAT } from "@k8s-operator/k8s-operator/sharding";
 * const data = encodeRenewalRequest({ from: 0, session: 1, seq: 1, leaving: false, released: [] });
 * assert.equal(data[0], GRANT_FORMAT);
 * ```
 */
export const GRANT_FORMAT = 1;
/** The `kind` of an assignment log entry. */
const KIND = "shardAssignment";
/** The largest assignment entry accepted. */
const MAX_ASSIGNMENT_BYTES = 1 << 20;
const TYPE_REQUEST = 1;
const TYPE_GRANT = 2;

const encoder = new TextEncoder();

function isNodeId(v: unknown): v is NodeId {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  const json = JSON.stringify(v);
  return json === undefined
    ? typeof v
    : json.length > 60
    ? `${json.slice(0, 60)}…`
    : json;
}

/**
 * Encodes an assignment as the data of a `normal` log entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAssignment, encodeAssignment, planAssignment } from "@k8s-operator/k8s-operator/sharding";
 * const a = planAssignment({ shardCount: 16, members: [0, 1, 2] });
 * assert.deepEqual(decodeAssignment(encodeAssignment(a)), a);
 * ```
 */
export function encodeAssignment(assignment: Assignment): Uint8Array {
  const index = new Map(assignment.members.map((m, i) => [m, i]));
  const owners = assignment.owners.map((o) => {
    if (o === null) return -1;
    const i = index.get(o);
    if (i === undefined) {
      throw new ShardFormatError(
        `Expected every owner to be a member of the assignment, found ${o} (members ${
          assignment.members.join(", ")
        })`,
      );
    }
    return i;
  });
  return encoder.encode(JSON.stringify({
    kind: KIND,
    v: ASSIGNMENT_FORMAT,
    epoch: assignment.epoch,
    shards: assignment.shardCount,
    members: assignment.members,
    owners,
  }));
}

/**
 * `true` when log entry data is a JSON object of kind `shardAssignment` (of
 * any version): the state machine hands such entries to
 * {@linkcode decodeAssignment} and the rest to other consumers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeAssignment, isAssignmentEntry, planAssignment } from "@k8s-operator/k8s-operator/sharding";
 * assert.ok(isAssignmentEntry(encodeAssignment(planAssignment({ shardCount: 4, members: [0] }))));
 * assert.ok(!isAssignmentEntry(new TextEncoder().encode('{"op":"put","key":"a","value":"1"}')));
 * ```
 */
export function isAssignmentEntry(data: Uint8Array): boolean {
  try {
    const parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(data),
    );
    return typeof parsed === "object" && parsed !== null &&
      !Array.isArray(parsed) && parsed.kind === KIND;
  } catch {
    return false;
  }
}

/**
 * Decodes and checks an assignment entry: the kind and version, a positive
 * epoch, a shard count from 1 to 65536, members ascending, distinct and
 * non-negative, one owner per shard (a member index, or -1 for none).
 *
 * @throws {ShardFormatError} on anything else, saying what was expected and found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAssignment, ShardFormatError } from "@k8s-operator/k8s-operator/sharding";
 * const data = new TextEncoder().encode(
 *   '{"kind":"shardAssignment","v":1,"epoch":3,"shards":2,"members":[4],"owners":[0,-1]}',
 * );
 * assert.deepEqual(decodeAssignment(data), { epoch: 3, shardCount: 2, members: [4], owners: [4, null] });
 * assert.throws(() => decodeAssignment(new Uint8Array([0xff])), ShardFormatError);
 * ```
 */
export function decodeAssignment(data: Uint8Array): Assignment {
  if (!(data instanceof Uint8Array)) {
    throw new ShardFormatError(
      `Expected assignment data to be a Uint8Array, found ${typeof data}`,
    );
  }
  if (data.length > MAX_ASSIGNMENT_BYTES) {
    throw new ShardFormatError(
      `Expected at most ${MAX_ASSIGNMENT_BYTES} bytes of assignment, found ${data.length}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new ShardFormatError(
      "Expected assignment data to be UTF-8 JSON, found malformed bytes",
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ShardFormatError(
      `Expected assignment data to be a JSON object, found ${describe(parsed)}`,
    );
  }
  const o = parsed as Record<string, unknown>;
  if (o.kind !== KIND) {
    throw new ShardFormatError(
      `Expected an entry of kind "${KIND}", found kind ${describe(o.kind)}`,
    );
  }
  if (o.v !== ASSIGNMENT_FORMAT) {
    throw new ShardFormatError(
      `Expected assignment format version ${ASSIGNMENT_FORMAT}, found version ${
        describe(o.v)
      }`,
    );
  }
  const { epoch, shards, members, owners } = o;
  if (typeof epoch !== "number" || !Number.isSafeInteger(epoch) || epoch < 1) {
    throw new ShardFormatError(
      `Expected the assignment's epoch to be a positive integer, found ${
        describe(epoch)
      }`,
    );
  }
  if (
    typeof shards !== "number" || !Number.isSafeInteger(shards) ||
    shards < 1 || shards > MAX_SHARDS
  ) {
    throw new ShardFormatError(
      `Expected the assignment's shard count to be an integer from 1 to ${MAX_SHARDS}, found ${
        describe(shards)
      }`,
    );
  }
  if (!Array.isArray(members)) {
    throw new ShardFormatError(
      `Expected the assignment's members to be an array, found ${
        describe(members)
      }`,
    );
  }
  members.forEach((m, i) => {
    if (!isNodeId(m)) {
      throw new ShardFormatError(
        `Expected member ${i} of the assignment to be a non-negative integer, found ${
          describe(m)
        }`,
      );
    }
    if (i > 0 && m <= members[i - 1]) {
      throw new ShardFormatError(
        `Expected the assignment's members strictly ascending, found ${m} after ${
          members[i - 1]
        }`,
      );
    }
  });
  if (!Array.isArray(owners) || owners.length !== shards) {
    throw new ShardFormatError(
      `Expected the assignment's owners to be an array of ${shards} entries, found ${
        Array.isArray(owners) ? `${owners.length} entries` : describe(owners)
      }`,
    );
  }
  const ids = members as NodeId[];
  const resolved = owners.map((index, shard) => {
    if (
      typeof index !== "number" || !Number.isSafeInteger(index) ||
      index < -1 || index >= ids.length
    ) {
      throw new ShardFormatError(
        `Expected the owner of shard ${shard} to be -1 or a member index below ${ids.length}, found ${
          describe(index)
        }`,
      );
    }
    return index === -1 ? null : ids[index];
  });
  return { epoch, shardCount: shards, members: [...ids], owners: resolved };
}

function header(reader: ByteReader, type: number, what: string): void {
  const version = reader.byte("format version");
  if (version !== GRANT_FORMAT) {
    throw new ShardFormatError(
      `Expected ${what} format version ${GRANT_FORMAT}, found version ${version}`,
    );
  }
  const found = reader.byte("message type");
  if (found !== type) {
    throw new ShardFormatError(
      `Expected message type ${type} (${what}), found type ${found}`,
    );
  }
}

function readSession(reader: ByteReader, what: string): number {
  const session = reader.varint("session");
  if (session > 0xffffffff) {
    throw new ShardFormatError(
      `Expected the ${what}'s session to be a 32-bit number, found ${session}`,
    );
  }
  return session;
}

/**
 * Encodes a renewal request (to ride on a heartbeat response).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRenewalRequest, encodeRenewalRequest } from "@k8s-operator/k8s-operator/sharding";
 * const request = { from: 2, session: 77, seq: 5, leaving: false, released: [3, 200] };
 * assert.deepEqual(decodeRenewalRequest(encodeRenewalRequest(request)), request);
 * ```
 */
export function encodeRenewalRequest(request: RenewalRequest): Uint8Array {
  const w = new ByteWriter();
  w.byte(GRANT_FORMAT);
  w.byte(TYPE_REQUEST);
  w.varint(request.from);
  w.varint(request.session);
  w.varint(request.seq);
  w.byte(request.leaving ? 1 : 0);
  w.shards(request.released);
  return w.finish();
}

/**
 * Decodes a renewal request.
 *
 * @throws {ShardFormatError} on a wrong version or type, a truncated or
 * overlong number, shards not strictly ascending or at or above 65536, or
 * trailing bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRenewalRequest, ShardFormatError } from "@k8s-operator/k8s-operator/sharding";
 * assert.throws(() => decodeRenewalRequest(new Uint8Array([2, 1])), ShardFormatError);
 * ```
 */
export function decodeRenewalRequest(data: Uint8Array): RenewalRequest {
  const what = "renewal request";
  const r = new ByteReader(data, what);
  header(r, TYPE_REQUEST, what);
  const from = r.varint("sender");
  const session = readSession(r, what);
  const seq = r.varint("sequence number");
  const flags = r.byte("flags");
  if (flags > 1) {
    throw new ShardFormatError(
      `Expected the renewal request's flags to be 0 or 1, found ${flags}`,
    );
  }
  const released = r.shards("released shards", MAX_SHARDS);
  r.end();
  return { from, session, seq, leaving: flags === 1, released };
}

/**
 * Encodes a grant (to ride on the next heartbeat to its holder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGrant, encodeGrant } from "@k8s-operator/k8s-operator/sharding";
 * const grant = {
 *   to: 2, term: 7, session: 77, seq: 5, epoch: 3, shardCount: 256,
 *   grantMs: 500, granted: [1, 2, 3], release: [9],
 * };
 * assert.deepEqual(decodeGrant(encodeGrant(grant)), grant);
 * ```
 */
export function encodeGrant(grant: GrantMessage): Uint8Array {
  const w = new ByteWriter();
  w.byte(GRANT_FORMAT);
  w.byte(TYPE_GRANT);
  w.varint(grant.to);
  w.varint(grant.term);
  w.varint(grant.session);
  w.varint(grant.seq);
  w.varint(grant.epoch);
  w.varint(grant.shardCount);
  w.varint(grant.grantMs);
  w.shards(grant.granted);
  w.shards(grant.release);
  return w.finish();
}

/**
 * Decodes a grant.
 *
 * @throws {ShardFormatError} on a wrong version or type, a truncated or
 * overlong number, a shard count outside 1..65536, a grant duration of 0,
 * shards not strictly ascending or past the shard count, or trailing bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGrant, ShardFormatError } from "@k8s-operator/k8s-operator/sharding";
 * assert.throws(() => decodeGrant(new Uint8Array([1, 2, 0])), ShardFormatError);
 * ```
 */
export function decodeGrant(data: Uint8Array): GrantMessage {
  const what = "grant";
  const r = new ByteReader(data, what);
  header(r, TYPE_GRANT, what);
  const to = r.varint("receiver");
  const term = r.varint("term");
  const session = readSession(r, what);
  const seq = r.varint("sequence number");
  const epoch = r.varint("epoch");
  const shardCount = r.varint("shard count");
  if (shardCount < 1 || shardCount > MAX_SHARDS) {
    throw new ShardFormatError(
      `Expected the grant's shard count from 1 to ${MAX_SHARDS}, found ${shardCount}`,
    );
  }
  const grantMs = r.varint("grant duration");
  if (grantMs < 1) {
    throw new ShardFormatError(
      `Expected the grant's duration to be at least 1 ms, found ${grantMs}`,
    );
  }
  const granted = r.shards("granted shards", shardCount);
  const release = r.shards("shards to release", shardCount);
  r.end();
  return {
    to,
    term,
    session,
    seq,
    epoch,
    shardCount,
    grantMs,
    granted,
    release,
  };
}
