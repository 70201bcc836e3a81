/**
 * Internal: how old a change may be for a takeover to reconcile it first
 * (`ControllerOptions.changedWithinMs`), from the Operator's Raft and
 * sharding timing.
 *
 * @module
 */
import type { GrantTiming } from "../sharding/mod.ts";

/**
 * A controller's `changedWithinMs`: the longest a takeover can come after
 * the previous leader or owner stopped, plus 5 s for changes it had seen
 * but not reached. A new term: an election timeout (at most twice the
 * minimum) and two heartbeats (the votes, the lease). A shard (`grants`):
 * that (its owner may have led), the new leader's wait (the grant's hold),
 * then the member timeout or the dead owner's grant running out, the
 * longer. Defaults (50 ms ticks, 6 of them, 500 ms grants): 5.7 s, 6.7 s.
 */
export function changedWithinMs(init: {
  grants: GrantTiming | null;
  memberTimeoutMs: number | undefined;
  tickMs: number | undefined;
  electionTicks: number | null | undefined;
}): number {
  const tickMs = init.tickMs ?? 50;
  const term = (2 * (init.electionTicks ?? 6) + 2) * tickMs;
  if (init.grants === null) return term + 5_000;
  const { holdMs, grantMs } = init.grants;
  const memberMs = Math.max(init.memberTimeoutMs ?? grantMs, holdMs);
  return Math.ceil(term + holdMs + memberMs) + 5_000;
}
