/**
 * A side-effect-free mirror of a `LeaderElection`'s guard, for the chaos
 * test's replicas (`_replica_deno.ts`). It wraps the two calls the Raft node
 * makes into the election, `setRole` and `renewLease`, and answers "does the
 * guard lead now?" with the guard's own rule (role `leader` and the clock
 * before the lease's end) without calling the guard: `isLeader()` ends
 * leadership on the spot when it finds the lease run out, which aborts the
 * fence of every request in flight, so sampling it would change what is
 * measured. The mirror's lease ends no later than the guard's (its clock is
 * read before the guard's), so it never says "leading" when the guard
 * would not.
 *
 * @module
 */
import type { LeaderElection, Role } from "../../controller/mod.ts";

/** What the mirror reads at one instant. */
export interface MirrorSample {
  /** Whether the guard leads. */
  leading: boolean;
  /** The term last reported. */
  term: number;
  /** The role last reported. */
  role: Role;
  /** Lease left in ms (negative: ran out that long ago; -Infinity: none). */
  leaseLeftMs: number;
}

/** Mirrors `election` from now on; `onChange` runs after every report. */
export class GuardMirror {
  #role: Role;
  #term: number;
  #leaseUntil = -Infinity;
  readonly #now: () => number;

  /**
   * Wraps `election.setRole` and `election.renewLease` (the election must
   * use the clock `now`). A node that already leads is taken as not leading
   * until its next lease report.
   */
  constructor(
    election: LeaderElection,
    options: { now: () => number; onChange?: () => void },
  ) {
    this.#now = options.now;
    const state = election.state();
    this.#role = state.role;
    this.#term = state.term;
    const onChange = options.onChange ?? (() => {});
    const setRole = election.setRole.bind(election);
    election.setRole = (role, term, more) => {
      setRole(role, term, more);
      if (term !== this.#term || role !== "leader") {
        this.#leaseUntil = -Infinity;
      }
      this.#role = role;
      this.#term = term;
      onChange();
    };
    const renewLease = election.renewLease.bind(election);
    election.renewLease = (ms) => {
      const at = this.#now();
      renewLease(ms);
      if (this.#role === "leader") {
        this.#leaseUntil = ms === 0 ? -Infinity : at + ms;
      }
      onChange();
    };
  }

  /** The guard as of now, without touching it. */
  sample(): MirrorSample {
    const leaseLeftMs = this.#leaseUntil - this.#now();
    return {
      leading: this.#role === "leader" && leaseLeftMs > 0,
      term: this.#term,
      role: this.#role,
      leaseLeftMs,
    };
  }
}
