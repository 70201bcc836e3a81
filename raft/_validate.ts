/**
 * Shape checks for what arrives from outside the core: messages from peers
 * and the persisted state a core is started from. A message that fails is
 * dropped by the core; a persisted state that fails is refused with an error.
 *
 * @module
 */
import { isNodeId } from "./_conf.ts";
import { RaftError } from "./errors.ts";
import type {
  ConfState,
  Entry,
  Message,
  MessageType,
  PersistedState,
  Snapshot,
} from "./types.ts";

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  "preVote",
  "preVoteResp",
  "vote",
  "voteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "timeoutNow",
]);

const ENTRY_TYPES: ReadonlySet<string> = new Set([
  "normal",
  "confChange",
  "empty",
]);

function isIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return isIndex(e.term) && isIndex(e.index) && e.index > 0 &&
    typeof e.type === "string" && ENTRY_TYPES.has(e.type) &&
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

/** `true` when `conf` has id lists without duplicates or overlap. */
export function isConfState(value: unknown): value is ConfState {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  if (!Array.isArray(c.voters) || !Array.isArray(c.learners)) return false;
  const all = [...c.voters, ...c.learners];
  return all.every(isNodeId) && new Set(all).size === all.length;
}

/** `true` when `value` is a snapshot with a sane index, term and membership. */
export function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Record<string, unknown>;
  const meta = s.metadata as Record<string, unknown> | null | undefined;
  if (typeof meta !== "object" || meta === null) return false;
  return isIndex(meta.index) && isIndex(meta.term) &&
    isConfState(meta.conf) && (meta.conf as ConfState).voters.length > 0 &&
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
  if (typeof v.type !== "string" || !MESSAGE_TYPES.has(v.type)) return false;
  if (!isNodeId(v.from) || !isNodeId(v.to)) return false;
  if (
    !isIndex(v.term) || !isIndex(v.logTerm) || !isIndex(v.index) ||
    !isIndex(v.commit) || !isIndex(v.rejectHint)
  ) return false;
  if (typeof v.reject !== "boolean") return false;
  if (v.transfer !== undefined && typeof v.transfer !== "boolean") return false;
  if (v.healthy !== undefined && typeof v.healthy !== "boolean") return false;
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
  const { hardState, snapshot, entries } = state;
  if (
    typeof hardState !== "object" || hardState === null ||
    !isIndex(hardState.term) || !isIndex(hardState.commit) ||
    !(hardState.vote === null || isNodeId(hardState.vote))
  ) {
    throw new RaftError(
      "Expected a hard state with a term, a vote (or null) and a commit index, found a malformed one",
    );
  }
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
