/**
 * Shape checks for what arrives from outside the core: messages from peers
 * and the persisted state a core is started from. A message that fails is
 * dropped by the core; a persisted state that fails is refused with an error.
 *
 * @module
 */
import { ENTRY_TYPES, MESSAGE_TYPES } from "./_codec.ts";
import { incarnationOf, isIncarnation, isNodeId } from "./_conf.ts";
import { isFormat1Change } from "./conf_change.ts";
import { LegacyStateError, RaftError } from "./errors.ts";
import type {
  ConfState,
  Entry,
  Message,
  PersistedState,
  Snapshot,
} from "./types.ts";

const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set(MESSAGE_TYPES);
const ENTRY_TYPE_SET: ReadonlySet<string> = new Set(ENTRY_TYPES);

function isIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return isIndex(e.term) && isIndex(e.index) && e.index > 0 &&
    typeof e.type === "string" && ENTRY_TYPE_SET.has(e.type) &&
    e.data instanceof Uint8Array;
}

/** `true` when `entries` are well formed, contiguous from `after + 1`, with non-decreasing terms of at least `minTerm`. */
export function areContiguous(
  entries: unknown,
  bounds: { after: number; minTerm: number; maxTerm: number },
): entries is Entry[] {
  if (!Array.isArray(entries)) return false;
  let term = bounds.minTerm;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!isEntry(e) || e.index !== bounds.after + 1 + i) return false;
    if (e.term < term || e.term > bounds.maxTerm) return false;
    term = e.term;
  }
  return true;
}

/**
 * `true` when `conf` has id lists without duplicates or overlap, and
 * incarnations (if any) that are positive integers of members.
 */
export function isConfState(value: unknown): value is ConfState {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  if (!Array.isArray(c.voters) || !Array.isArray(c.learners)) return false;
  const all = [...c.voters, ...c.learners];
  if (!all.every(isNodeId) || new Set(all).size !== all.length) return false;
  if (c.incarnations === undefined) return true;
  if (typeof c.incarnations !== "object" || c.incarnations === null) {
    return false;
  }
  return Object.entries(c.incarnations).every(([id, n]) =>
    all.includes(Number(id)) && isIncarnation(n)
  );
}

/** `true` when every voter of `conf` has an incarnation. */
export function votersHaveIncarnations(conf: ConfState): boolean {
  return conf.voters.every((id) => isIncarnation(conf.incarnations?.[id]));
}

/**
 * `true` when `value` is a snapshot with a sane index and term, and a
 * membership with at least one voter, every voter with an incarnation.
 */
export function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Record<string, unknown>;
  const meta = s.metadata as Record<string, unknown> | null | undefined;
  if (typeof meta !== "object" || meta === null) return false;
  return isIndex(meta.index) && isIndex(meta.term) &&
    isConfState(meta.conf) && (meta.conf as ConfState).voters.length > 0 &&
    votersHaveIncarnations(meta.conf as ConfState) &&
    s.data instanceof Uint8Array;
}

/**
 * `true` when `m` is a structurally valid message: known type, ids and
 * numbers in range, entries contiguous after `m.index` with terms between
 * `m.logTerm` and `m.term`, and a valid snapshot on `snapshot` messages.
 */
export function isValidMessage(m: unknown): m is Message {
  if (typeof m !== "object" || m === null) return false;
  const v = m as Record<string, unknown>;
  if (typeof v.type !== "string" || !MESSAGE_TYPE_SET.has(v.type)) return false;
  if (!isNodeId(v.from) || !isNodeId(v.to)) return false;
  if (
    !isIndex(v.term) || !isIndex(v.logTerm) || !isIndex(v.index) ||
    !isIndex(v.commit) || !isIndex(v.rejectHint)
  ) return false;
  if (typeof v.reject !== "boolean") return false;
  if (v.transfer !== undefined && typeof v.transfer !== "boolean") return false;
  if (v.bootstrap !== undefined && typeof v.bootstrap !== "boolean") {
    return false;
  }
  if (v.incarnation !== undefined && !isIndex(v.incarnation)) return false;
  if (v.toIncarnation !== undefined && !isIndex(v.toIncarnation)) return false;
  if (v.healthy !== undefined && typeof v.healthy !== "boolean") return false;
  if (
    v.shard !== undefined &&
    (!(v.shard instanceof Uint8Array) ||
      (v.type !== "heartbeat" && v.type !== "heartbeatResp"))
  ) return false;
  if (v.type === "append") {
    if (v.logTerm > v.term) return false;
    if (
      !areContiguous(v.entries, {
        after: v.index,
        minTerm: v.logTerm,
        maxTerm: v.term,
      })
    ) return false;
    return Number.isSafeInteger(v.index + v.entries.length);
  }
  if (!Array.isArray(v.entries)) return false;
  if (v.type === "snapshot") {
    return isSnapshot(v.snapshot) && v.snapshot.metadata.term <= v.term;
  }
  return true;
}

/**
 * Checks a persisted state, throwing {@linkcode RaftError} with what was
 * expected and found when it cannot be honoured.
 */
export function checkPersistedState(state: PersistedState): void {
  if (typeof state !== "object" || state === null) {
    throw new RaftError("Expected a persisted state object, found none");
  }
  const { hardState, snapshot, entries, incarnation } = state;
  if (incarnation !== undefined && !isIncarnation(incarnation)) {
    throw new RaftError(
      `Expected the persisted incarnation to be a positive safe integer, found ${incarnation}`,
    );
  }
  if (
    typeof hardState !== "object" || hardState === null ||
    !isIndex(hardState.term) || !isIndex(hardState.commit) ||
    !(hardState.vote === null || isNodeId(hardState.vote))
  ) {
    throw new RaftError(
      "Expected a hard state with a term, a vote (or null) and a commit index, found a malformed one",
    );
  }
  const legacy = legacyStateReason(state);
  if (legacy !== null) throw new LegacyStateError(legacy);
  if (snapshot !== null && !isSnapshot(snapshot)) {
    throw new RaftError(
      "Expected the persisted snapshot to be null or well formed, found a malformed one",
    );
  }
  const after = snapshot?.metadata.index ?? 0;
  const minTerm = snapshot?.metadata.term ?? 0;
  if (!areContiguous(entries, { after, minTerm, maxTerm: hardState.term })) {
    throw new RaftError(
      `Expected persisted entries contiguous from index ${
        after + 1
      } with non-decreasing terms up to ${hardState.term}, found a gap or a bad entry`,
    );
  }
  const last = after + entries.length;
  if (hardState.commit > last) {
    throw new RaftError(
      `Expected the persisted commit index to be at most the last index ${last}, found ${hardState.commit}`,
    );
  }
  if (minTerm > hardState.term) {
    throw new RaftError(
      `Expected the snapshot term ${minTerm} to be at most the hard state term ${hardState.term}`,
    );
  }
}

/**
 * Internal: what in `state` was written before memberships recorded
 * incarnations (format 1, k8s-operator 0.1.0), or `null` when nothing was.
 * {@linkcode checkPersistedState} refuses such state with
 * {@linkcode LegacyStateError}; the Operator sets it aside before it starts
 * a node. A state holding only a term and a vote is not refused: the node
 * runs on it as a new member.
 */
export function legacyStateReason(state: PersistedState): string | null {
  const { snapshot, entries } = state;
  const conf = snapshot?.metadata?.conf;
  if (snapshot !== null && isConfState(conf)) {
    const without = conf.voters.filter((id) => !(incarnationOf(conf, id) > 0));
    if (without.length > 0) {
      return `a snapshot (index ${snapshot.metadata.index}) whose membership has no incarnation for voters ${
        without.join(", ")
      }`;
    }
  } else if (
    snapshot === null && Array.isArray(entries) && entries.length > 0 &&
    entries[0]?.type !== "bootstrap"
  ) {
    return `a log that does not begin with the cluster's membership (entry ${
      entries[0].index
    } is ${
      entries[0].type === "confChange"
        ? "a membership change"
        : `of type ${entries[0].type}`
    })`;
  }
  for (const e of Array.isArray(entries) ? entries : []) {
    if (e?.type !== "confChange" || !(e.data instanceof Uint8Array)) continue;
    if (isFormat1Change(e.data)) {
      return `a membership change (entry ${e.index}) of format 1`;
    }
  }
  return null;
}
