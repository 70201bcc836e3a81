/**
 * Majority arithmetic over a set of voters.
 *
 * @module
 */
import type { NodeId } from "./types.ts";

/** How many of `n` voters make a majority. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest value that a majority of `voters` has reached: the
 * quorum-th largest of `valueOf(voter)`. `-Infinity` when there are no voters.
 */
export function quorumValue(
  voters: readonly NodeId[],
  valueOf: (id: NodeId) => number,
): number {
  if (voters.length === 0) return -Infinity;
  const values = voters.map(valueOf).sort((a, b) => b - a);
  return values[quorumSize(voters.length) - 1];
}

/** The outcome of an election so far. */
export type VoteResult = "won" | "lost" | "pending";

/** Counts `votes` (granted or refused) of `voters`; votes of others are ignored. */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const q = quorumSize(voters.length);
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) refused++;
  }
  if (granted >= q) return "won";
  if (voters.length - refused < q) return "lost";
  return "pending";
}
