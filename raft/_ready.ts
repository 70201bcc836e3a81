/**
 * Internal: when a leader may go on before a `Ready`'s write is on disk
 * (Raft §10.2.1: a leader writes its log in parallel with replicating it).
 * Shared by `RaftNode` and the simulator, so the simulator checks the rule
 * the runtime follows.
 *
 * @module
 */
import type { HardState, Ready } from "./types.ts";

/**
 * Whether all of `ready`'s messages may leave, and its committed entries be
 * applied, before its write is on disk, the write landing behind them: none
 * of them depends on what the write adds. The messages carry the leader's
 * term, already on disk (it was written before the vote requests that won
 * it), and the leader's log, which a follower may hold before the leader
 * does: an entry counts as committed only once a quorum has it on disk, the
 * leader's own copy counting only once its write is done (the runtime calls
 * `RaftCore.advance({ persisted: false })`, then `markPersisted`). Not when
 * the write changes the term or the vote (`saved` is what is on disk),
 * carries a new incarnation or a snapshot, changes the role, or when the
 * commit index covers entries of this very write: then the runtime writes
 * first, in order after the writes before it.
 */
export function replicatesEarly(
  ready: Ready,
  node: { leader: boolean; saved: HardState },
): boolean {
  if (!node.leader || ready.softState !== null) return false;
  if (ready.incarnation !== undefined || ready.snapshot !== null) return false;
  const hs = ready.hardState;
  if (hs === null) return true;
  if (hs.term !== node.saved.term || hs.vote !== node.saved.vote) return false;
  return ready.entries.length === 0 || hs.commit < ready.entries[0].index;
}
