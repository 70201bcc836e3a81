/**
 * The cores the simulator can drive: the real {@linkcode RaftCore} and
 * deliberately broken variants that exist to prove the checker has teeth.
 *
 * @module
 */
import { RaftCore } from "../../raft/core.ts";
import { RaftError } from "../../raft/errors.ts";
import type { Message } from "../../raft/types.ts";
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

/**
 * Ignores leader stickiness: it treats every vote and pre-vote request as one
 * sent on a leadership transfer, which a follower grants even while it hears
 * from its leader. A leader's lease then means nothing.
 */
export class NoStickiness extends RaftCore {
  override step(message: Message): void {
    const vote = message !== null && typeof message === "object" &&
      (message.type === "vote" || message.type === "preVote");
    super.step(vote ? { ...message, transfer: true } : message);
  }
}

/** Claims a fresh lease whenever it leads (a runtime trusting it acts stale). */
export class GreedyLease extends RaftCore {
  override leaseTicks(): number | null {
    return super.leaseTicks() === null ? null : 0;
  }
}

/**
 * Never holds a lease: a leader that reports `leaseTicks()` of at least an
 * election timeout forever (as the core did for the rest of a term after an
 * abandoned transfer). Safe, but a runtime on it never acts as leader.
 */
export class NeverLeased extends RaftCore {
  override leaseTicks(): number | null {
    const ticks = super.leaseTicks();
    return ticks === null ? null : Math.max(ticks, 1_000_000);
  }
}

/**
 * Issue 12 defect 7, undone: incarnations are ignored, so a node that lost
 * its store counts as the voter it was (its votes and acknowledgements
 * count at once, and it answers messages meant for its old self), as every
 * restart on memory storage did in k8s-operator 0.1.0.
 */
export class IgnoreIncarnations extends RaftCore {
  protected override incarnationMatches(): boolean {
    return true;
  }
}

/**
 * Simulator finding F1, undone: a learner drops vote and pre-vote requests
 * (the core before the fix refused them).
 */
export class LearnerRefusesVotes extends RaftCore {
  override step(message: Message): void {
    const vote = message !== null && typeof message === "object" &&
      (message.type === "vote" || message.type === "preVote");
    if (vote && !this.status().conf.voters.includes(this.id)) return;
    super.step(message);
  }
}

/** The cores by the name `--variant` takes. */
export const CORES: Record<string, CoreFactory> = {
  real: (options) => new RaftCore(options),
  "vote-without-log-check": (options) => new VoteWithoutLogCheck(options),
  "commit-old-term-by-count": (options) => new CommitOldTermByCount(options),
  "greedy-lease": (options) => new GreedyLease(options),
  "never-leased": (options) => new NeverLeased(options),
  "no-stickiness": (options) => new NoStickiness(options),
  "learner-refuses-votes": (options) => new LearnerRefusesVotes(options),
  "ignore-incarnations": (options) => new IgnoreIncarnations(options),
};

/** `true` for the refusals a client call may meet (not leader, change pending). */
export function isRefusal(error: unknown): boolean {
  return error instanceof RaftError;
}
