/**
 * The cores the simulator can drive: the real {@linkcode RaftCore} and two
 * deliberately broken variants that exist to prove the checker has teeth.
 *
 * @module
 */
import { RaftCore } from "../../raft/core.ts";
import { RaftError } from "../../raft/errors.ts";
import type { CoreFactory } from "./_cluster.ts";

/** Grants votes without the §5.4.1 up-to-date log check. */
export class VoteWithoutLogCheck extends RaftCore {
  protected override logIsUpToDate(): boolean {
    return true;
  }
}

/** Commits an entry of any term once a majority stores it (Figure 8 bug). */
export class CommitOldTermByCount extends RaftCore {
  protected override mayCommitTerm(): boolean {
    return true;
  }
}

/** The cores by the name `--variant` takes. */
export const CORES: Record<string, CoreFactory> = {
  real: (options) => new RaftCore(options),
  "vote-without-log-check": (options) => new VoteWithoutLogCheck(options),
  "commit-old-term-by-count": (options) => new CommitOldTermByCount(options),
};

/** `true` for the refusals a client call may meet (not leader, change pending). */
export function isRefusal(error: unknown): boolean {
  return error instanceof RaftError;
}
