/**
 * Internal: which of a `Ready`'s messages a leader may send before the
 * Ready's write is on disk (Raft §10.2.1: a leader writes its log in
 * parallel with replicating it). Shared by `RaftNode` and the simulator,
 * so the simulator checks the rule the runtime follows.
 *
 * @module
 */
import type { HardState, Message, Ready } from "./types.ts";

/** A leader's messages that replicate its log: appends, heartbeats, snapshots, `timeoutNow`. */
export function isReplication(m: Message): boolean {
  return m.type === "append" || m.type === "heartbeat" ||
    m.type === "snapshot" || m.type === "timeoutNow";
}

/**
 * Whether `ready`'s replication messages may leave before its write is on
 * disk: they depend on nothing this write adds. They carry the leader's
 * term, already on disk (it was written before the vote requests that won
 * it), and the leader's log, which a follower may hold before the leader
 * does: an entry counts as committed only once a quorum acknowledged it,
 * and the leader's own copy counts only once its write is done (a runtime
 * that steps no acknowledgement before the write it follows has finished).
 * Not when the write changes the term or the vote (`saved` is what is on
 * disk), carries a new incarnation or a snapshot, changes the role, or
 * when the commit index the messages carry covers entries of this very
 * write (a single voter commits its entries alone): then everything waits
 * for the disk.
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
