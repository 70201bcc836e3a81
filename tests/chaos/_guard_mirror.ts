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
  /**
   * The clock reading it judged at: stamp the sample with this one, not
   * with a later reading (a process stopped in between would stamp a
   * sample taken before the stop with a time after it).
   */
  at: number;
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
    election.renewLease = (ms, lease) => {
      // The guard's own rule, with the clock read before the guard's.
      const now = this.#now();
      const at = Math.min(lease?.asOf ?? now, now);
      renewLease(ms, lease);
      if (this.#role === "leader") {
        this.#leaseUntil = ms === 0 ? -Infinity : at + ms;
      }
      onChange();
    };
  }

  /** The guard as of now, without touching it. */
  sample(): MirrorSample {
    const at = this.#now();
    const leaseLeftMs = this.#leaseUntil - at;
    return {
      at,
      leading: this.#role === "leader" && leaseLeftMs > 0,
      term: this.#term,
      role: this.#role,
      leaseLeftMs,
    };
  }
}

/** What a {@linkcode GuardRecorder} reads and where it reports. */
export interface GuardRecorderOptions {
  /** The mirror's sample now, or `null` before the operator started. */
  mirror: () => MirrorSample | null;
  /** The mirror's clock (read only when there is no mirror yet). */
  now: () => number;
  /** Converts a reading of `now` to the shared wall clock. */
  wall: (at: number) => number;
  /** Prints one event line. */
  emit: (event: Record<string, unknown>) => void;
}

/**
 * Turns samples of a {@linkcode GuardMirror} into guard interval events:
 * `{ event: "guard", leading: true, start, term }` when the guard starts
 * leading, `{ leading: true, at, term }` every 100 ms while it leads, and
 * `{ leading: false, start, end, term }` when it stops, `start` and `end`
 * being the first and the last sample that found it leading.
 *
 * Each sample is stamped with the clock reading the mirror judged at, never
 * a later one: a process stopped (SIGSTOP) between a judgement and a second
 * reading would stamp "leading", seen before the stop, with a time after
 * it, and the interval would stretch over the whole stop (seen once in the
 * chaos test, seed 20261213: an interval 1.5 s too long, overlapping the
 * next leader's).
 */
export class GuardRecorder {
  readonly #options: GuardRecorderOptions;
  #start: number | null = null;
  #last = 0;
  #lastBeat = 0;
  #term = 0;

  /** Records from `options.mirror`, reporting through `options.emit`. */
  constructor(options: GuardRecorderOptions) {
    this.#options = options;
  }

  /** Samples the mirror now; emits interval edges; returns the sample. */
  sample(): MirrorSample & { t: number } {
    const { mirror, now: clock, wall, emit } = this.#options;
    const now: MirrorSample = mirror() ?? {
      at: clock(),
      leading: false,
      term: 0,
      role: "follower",
      leaseLeftMs: -Infinity,
    };
    const { leading } = now;
    const t = wall(now.at);
    if (this.#start !== null && (!leading || now.term !== this.#term)) {
      emit({
        event: "guard",
        leading: false,
        start: this.#start,
        end: this.#last,
        term: this.#term,
      });
      this.#start = null;
    }
    if (leading) {
      if (this.#start === null) {
        this.#start = t;
        this.#term = now.term;
        this.#lastBeat = t;
        emit({ event: "guard", leading: true, start: t, term: now.term });
      }
      this.#last = t;
      if (t - this.#lastBeat >= 100) {
        this.#lastBeat = t;
        emit({ event: "guard", leading: true, at: t, term: now.term });
      }
    }
    return { ...now, t };
  }
}
