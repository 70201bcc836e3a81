/**
 * Leader election as the controller sees it: a {@linkcode LeaderElection}
 * fed by the Raft runtime node, and the {@linkcode LeaderGuard} that
 * reconcilers consult.
 *
 * @module
 */
import {
  type NodeId,
  NotLeaderError,
  type Role,
} from "../common/leadership.ts";

const ROLES: ReadonlySet<string> = new Set<Role>([
  "follower",
  "preCandidate",
  "candidate",
  "leader",
]);

/**
 * How a {@linkcode LeaderElection} reads time and whether it needs a lease.
 *
 * @example
 * ```ts
 * import { LeaderElection, type LeaderElectionOptions } from "@k8s-operator/k8s-operator/controller";
 * const options: LeaderElectionOptions = { requireLease: true, onListenerError: console.error };
 * new LeaderElection(0, options);
 * ```
 */
export interface LeaderElectionOptions {
  /**
   * A monotonic clock in milliseconds (default `performance.now()`). Lease
   * expiry is measured on it; tests inject a fake one.
   */
  now?: () => number;
  /**
   * When `true`, a leader counts as leader only while a lease granted by
   * {@linkcode LeaderElection.renewLease} holds. The Raft runtime renews it
   * every time a quorum acknowledges the leader. Default `false`: the role
   * alone decides.
   */
  requireLease?: boolean;
  /**
   * Receives the error of a subscriber that threw. By default the error is
   * rethrown in a microtask (an uncaught error), so it is never silent; the
   * other subscribers run either way.
   */
  onListenerError?: (error: unknown) => void;
}

/**
 * A snapshot of this node's leadership, handed to subscribers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection, type LeadershipState } from "@k8s-operator/k8s-operator/controller";
 * const state: LeadershipState = new LeaderElection(1).state();
 * assert.equal(state.role, "follower");
 * assert.equal(state.isLeader, false);
 * ```
 */
export interface LeadershipState {
  /** This node. */
  readonly nodeId: NodeId;
  /** The Raft role last reported by the runtime. */
  readonly role: Role;
  /** The Raft term last reported by the runtime. */
  readonly term: number;
  /** Whether this node leads now: role `leader` and, if required, a lease. */
  readonly isLeader: boolean;
  /**
   * The leader this node knows of in the current term (itself while its role
   * is `leader`), or `null` when it knows none.
   */
  readonly leader: NodeId | null;
}

/**
 * What the runtime may add to a {@linkcode LeaderElection.renewLease} call.
 *
 * @example
 * ```ts
 * import { LeaderElection, type RenewLeaseOptions } from "@k8s-operator/k8s-operator/controller";
 * const clock = () => performance.now();
 * const election = new LeaderElection(0, { requireLease: true, now: clock });
 * election.setRole("leader", 1);
 * const options: RenewLeaseOptions = { asOf: clock() };
 * election.renewLease(200, options);
 * ```
 */
export interface RenewLeaseOptions {
  /**
   * The reading of the election's clock the duration counts from (default:
   * the clock when the call runs).
   */
  asOf?: number;
}

/**
 * What the runtime may add to a {@linkcode LeaderElection.setRole} report.
 *
 * @example
 * ```ts
 * import { LeaderElection, type SetRoleOptions } from "@k8s-operator/k8s-operator/controller";
 * const options: SetRoleOptions = { leader: 2 };
 * new LeaderElection(0).setRole("follower", 4, options);
 * ```
 */
export interface SetRoleOptions {
  /**
   * The leader of `term` this node knows of, or `null` for none. Default:
   * this node when the role is `leader`, otherwise `null`.
   */
  leader?: NodeId | null;
}

/**
 * Called with the new state each time role, term or leadership changes.
 *
 * @example
 * ```ts
 * import type { LeadershipListener } from "@k8s-operator/k8s-operator/controller";
 * const log: LeadershipListener = ({ term, isLeader }) => console.log(term, isLeader);
 * ```
 */
export type LeadershipListener = (state: LeadershipState) => void;

/**
 * Options of {@linkcode LeaderGuard.waitForLeadership}.
 *
 * @example
 * ```ts
 * import type { WaitForLeadershipOptions } from "@k8s-operator/k8s-operator/controller";
 * const options: WaitForLeadershipOptions = { timeout: 30_000 };
 * ```
 */
export interface WaitForLeadershipOptions {
  /** Reject with {@linkcode LeadershipTimeoutError} after this many ms. */
  timeout?: number;
  /** Reject with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

/**
 * What a function wrapped by {@linkcode leaderOnly} receives first.
 *
 * @example
 * ```ts
 * import type { LeaderContext } from "@k8s-operator/k8s-operator/controller";
 * const write = ({ signal, term }: LeaderContext) => fetch("http://127.0.0.1:1/", { signal, headers: { "x-term": String(term) } });
 * ```
 */
export interface LeaderContext {
  /** Aborts the moment this leadership ends. */
  signal: AbortSignal;
  /** The term this leadership belongs to: the fencing token for writes. */
  term: number;
}

/**
 * The read side of a {@linkcode LeaderElection}: what reconcilers and other
 * leader-only work consult.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(0);
 * const guard = election.guard();
 * election.setRole("leader", 3);
 * assert.equal(guard.isLeader(), true);
 * assert.equal(guard.check(), 3); // the term: the fencing token for writes
 * assert.equal(guard.signal.aborted, false);
 * ```
 */
export interface LeaderGuard {
  /** This node. */
  readonly nodeId: NodeId;
  /**
   * The latest term reported by the runtime. Read it while leading (or take
   * the value {@linkcode LeaderGuard.check} returns) and attach it to writes
   * as a fencing token: a higher term always means a newer leader.
   */
  readonly term: number;
  /**
   * A signal for the current leadership: fresh each time this node gains
   * leadership, aborted with a {@linkcode NotLeaderError} the moment it ends.
   * While not leading it is already aborted.
   */
  readonly signal: AbortSignal;
  /** `true` only while this node is leader and, if required, its lease holds. */
  isLeader(): boolean;
  /** The Raft role last reported by the runtime. */
  currentRole(): Role;
  /**
   * The leader this node knows of in the current term, as the runtime last
   * reported it (this node's id while its role is `leader`), or `null`.
   * Followers use it to redirect callers.
   */
  currentLeader(): NodeId | null;
  /**
   * Throws {@linkcode NotLeaderError} unless this node leads; returns the
   * term (the fencing token) otherwise. The error's `leader` names the
   * leader this node knows of, so callers can redirect (`null` when it
   * knows none, or when it is itself the leader but has no valid lease).
   */
  check(): number;
  /**
   * Resolves with the term once this node leads (at once if it does now);
   * rejects with {@linkcode LeadershipTimeoutError} after `timeout` ms, or
   * with the reason of `signal`.
   */
  waitForLeadership(options?: WaitForLeadershipOptions): Promise<number>;
}

/**
 * Thrown by {@linkcode LeaderGuard.waitForLeadership} when leadership did not
 * come within the timeout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeadershipTimeoutError } from "@k8s-operator/k8s-operator/controller";
 * const error = new LeadershipTimeoutError("Expected leadership within 5 ms, found none");
 * assert.equal(error.name, "LeadershipTimeoutError");
 * ```
 */
export class LeadershipTimeoutError extends Error {
  /** Creates the error with a message. */
  constructor(message: string) {
    super(message);
    this.name = "LeadershipTimeoutError";
  }
}

/**
 * Thrown when the runtime reports a role or term that cannot be right (an
 * unknown role, a term that is not a non-negative integer or goes back).
 * The election's state is left as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection, InvalidLeadershipUpdateError } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(0);
 * election.setRole("follower", 4);
 * try {
 *   election.setRole("leader", 3);
 * } catch (error) {
 *   assert.ok(error instanceof InvalidLeadershipUpdateError);
 * }
 * ```
 */
export class InvalidLeadershipUpdateError extends Error {
  /** Creates the error with a message. */
  constructor(message: string) {
    super(message);
    this.name = "InvalidLeadershipUpdateError";
  }
}

interface Waiter {
  resolve: (term: number) => void;
  settle: () => void;
}

/**
 * Tracks whether this node leads. The Raft runtime node reports every role
 * change with {@linkcode LeaderElection.setRole} (and, with
 * `requireLease`, renews the leader lease); everything else reads through
 * {@linkcode LeaderElection.guard}.
 *
 * @example Wiring and reading
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(1);
 * const guard = election.guard();
 * const off = election.subscribe((s) => console.log(s.role, s.term, s.isLeader));
 * election.setRole("candidate", 2);
 * election.setRole("leader", 2);
 * const signal = guard.signal;
 * election.setRole("follower", 3);
 * assert.equal(signal.aborted, true);
 * off();
 * ```
 *
 * @example With a leader lease
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(0, { requireLease: true });
 * election.setRole("leader", 7);
 * assert.equal(election.guard().isLeader(), false); // no lease yet
 * election.renewLease(900);
 * assert.equal(election.guard().isLeader(), true); // for the next 900 ms
 * election.setRole("follower", 7);
 * ```
 */
export class LeaderElection {
  /** This node. */
  readonly nodeId: NodeId;
  readonly #now: () => number;
  readonly #requireLease: boolean;
  readonly #onListenerError: (error: unknown) => void;
  readonly #guard: LeaderGuard;
  readonly #listeners = new Set<LeadershipListener>();
  readonly #waiters = new Set<Waiter>();
  #role: Role = "follower";
  #term = 0;
  #leader: NodeId | null = null;
  #leaseUntil = -Infinity;
  #leaseTimer: ReturnType<typeof setTimeout> | undefined;
  #leading = false;
  #controller: AbortController;

  /** Creates the election of node `nodeId`; it starts as a follower in term 0. */
  constructor(nodeId: NodeId, options: LeaderElectionOptions = {}) {
    if (!Number.isSafeInteger(nodeId) || nodeId < 0) {
      throw new InvalidLeadershipUpdateError(
        `Expected the node id to be a non-negative integer, found ${nodeId}`,
      );
    }
    this.nodeId = nodeId;
    this.#now = options.now ?? (() => performance.now());
    this.#requireLease = options.requireLease ?? false;
    this.#onListenerError = options.onListenerError ?? ((error) => {
      queueMicrotask(() => {
        throw error;
      });
    });
    this.#controller = new AbortController();
    this.#controller.abort(this.#notLeader());
    this.#guard = this.#makeGuard();
  }

  /**
   * The guard over this election; the same object on every call.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
   * const guard = new LeaderElection(0).guard();
   * assert.equal(guard.isLeader(), false);
   * ```
   */
  guard(): LeaderGuard {
    return this.#guard;
  }

  /**
   * Reports the Raft role and term, and the leader this node knows of; the
   * one call the runtime node makes on every change of role, term or known
   * leader. Terms never go back; an invalid report throws
   * {@linkcode InvalidLeadershipUpdateError} and changes nothing. A new term
   * or a role other than `leader` ends the current leadership (and its
   * lease) at once.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
   * const election = new LeaderElection(0);
   * election.setRole("leader", 1);
   * assert.equal(election.guard().term, 1);
   * election.setRole("follower", 2, { leader: 3 });
   * assert.equal(election.guard().currentLeader(), 3);
   * ```
   */
  setRole(role: Role, term: number, options: SetRoleOptions = {}): void {
    if (!ROLES.has(role)) {
      throw new InvalidLeadershipUpdateError(
        `Expected a role of follower, preCandidate, candidate or leader, found ${
          JSON.stringify(role)
        }`,
      );
    }
    if (!Number.isSafeInteger(term) || term < 0) {
      throw new InvalidLeadershipUpdateError(
        `Expected the term to be a non-negative integer, found ${term}`,
      );
    }
    if (term < this.#term) {
      throw new InvalidLeadershipUpdateError(
        `Expected a term of at least ${this.#term}, found ${term}`,
      );
    }
    const leader = options.leader !== undefined
      ? options.leader
      : role === "leader"
      ? this.nodeId
      : null;
    if (leader !== null && (!Number.isSafeInteger(leader) || leader < 0)) {
      throw new InvalidLeadershipUpdateError(
        `Expected the leader to be a non-negative integer node id or null, found ${leader}`,
      );
    }
    if (role === "leader" && leader !== this.nodeId) {
      throw new InvalidLeadershipUpdateError(
        `Expected a leader role to name this node ${this.nodeId} as leader, found ${leader}`,
      );
    }
    const previousTerm = this.#term;
    if (
      role === this.#role && term === previousTerm && leader === this.#leader
    ) return;
    this.#role = role;
    this.#term = term;
    this.#leader = leader;
    if (term !== previousTerm || role !== "leader") {
      this.#endLease();
      if (this.#leading) {
        this.#lose(
          role !== "leader" ? this.#notLeader() : new NotLeaderError(
            null,
            `Expected node ${this.nodeId} to still lead term ${previousTerm}, found term ${term} began`,
          ),
        );
      }
    }
    this.#refresh(true);
  }

  /**
   * Extends the leader lease to `durationMs` from now (on the election's
   * clock), or from `options.asOf`, the reading of that clock the caller
   * measured the duration at. Only meaningful with `requireLease` while the
   * role is `leader`; ignored otherwise. A lease that runs out ends
   * leadership at that moment, even if the role is still `leader`.
   *
   * Pass `asOf` whenever the duration was computed from a deadline: a
   * process paused (SIGSTOP, a VM freeze) between that computation and this
   * call would otherwise get a lease longer by the length of the pause, and
   * lead after another node took over. A reading later than the clock now
   * counts as now: a lease never starts after it was granted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
   * const election = new LeaderElection(0, { requireLease: true });
   * election.setRole("leader", 2);
   * election.renewLease(500);
   * assert.equal(election.state().isLeader, true);
   * election.setRole("follower", 2);
   * ```
   *
   * @example A lease counted from a reading taken before a pause
   * ```ts
   * import assert from "node:assert/strict";
   * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
   * let now = 1_000;
   * const election = new LeaderElection(0, { requireLease: true, now: () => now });
   * election.setRole("leader", 2);
   * const deadline = now + 200; // the lease left at this reading: 200 ms
   * const asOf = now;
   * now += 2_000; // the process was stopped here
   * election.renewLease(deadline - asOf, { asOf });
   * assert.equal(election.state().isLeader, false); // it ran out during the pause
   * ```
   */
  renewLease(durationMs: number, options: RenewLeaseOptions = {}): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) {
      throw new InvalidLeadershipUpdateError(
        `Expected the lease duration to be a non-negative number of milliseconds, found ${durationMs}`,
      );
    }
    if (options.asOf !== undefined && !Number.isFinite(options.asOf)) {
      throw new InvalidLeadershipUpdateError(
        `Expected the lease's clock reading to be a finite number of milliseconds, found ${options.asOf}`,
      );
    }
    if (!this.#requireLease || this.#role !== "leader") return;
    this.#endLease();
    if (durationMs === 0) {
      this.#refresh(false);
      return;
    }
    const now = this.#now();
    this.#leaseUntil = Math.min(options.asOf ?? now, now) + durationMs;
    if (this.#leaseUntil > now) {
      this.#armLeaseTimer(this.#leaseUntil - now);
    }
    this.#refresh(false);
  }

  /** Ends leadership when the lease runs out, even if nobody asks. */
  #armLeaseTimer(delay: number): void {
    this.#leaseTimer = setTimeout(() => {
      this.#leaseTimer = undefined;
      this.#refresh(false);
      if (this.#leading) {
        this.#armLeaseTimer(Math.max(1, this.#leaseUntil - this.#now()));
      }
    }, delay);
  }

  /**
   * The current state: node, role, term and whether it leads.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
   * assert.deepEqual(new LeaderElection(3).state(), { nodeId: 3, role: "follower", term: 0, isLeader: false, leader: null });
   * ```
   */
  state(): LeadershipState {
    this.#refresh(false);
    return this.#snapshot();
  }

  /**
   * Calls `listener` synchronously with the new state each time the role,
   * the term or leadership changes; returns a function that unsubscribes.
   * A listener that throws does not stop the others; its error goes to the
   * `onListenerError` option.
   *
   * @example
   * ```ts
   * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
   * const election = new LeaderElection(0);
   * const off = election.subscribe(({ isLeader }) => console.log("leading:", isLeader));
   * election.setRole("leader", 1); // leading: true
   * off();
   * ```
   */
  subscribe(listener: LeadershipListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #notLeader(): NotLeaderError {
    return new NotLeaderError(
      this.#leader === this.nodeId ? null : this.#leader,
      `Expected node ${this.nodeId} to be the leader, found it ${this.#describe()}`,
    );
  }

  #describe(): string {
    if (this.#role === "leader") {
      return `leader of term ${this.#term} without a valid lease`;
    }
    const known = this.#leader === null
      ? "no known leader"
      : `node ${this.#leader} leading`;
    return `${this.#role} in term ${this.#term} with ${known}`;
  }

  #snapshot(): LeadershipState {
    return {
      nodeId: this.nodeId,
      role: this.#role,
      term: this.#term,
      isLeader: this.#leading,
      leader: this.#leader,
    };
  }

  #endLease(): void {
    if (this.#leaseTimer !== undefined) clearTimeout(this.#leaseTimer);
    this.#leaseTimer = undefined;
    this.#leaseUntil = -Infinity;
  }

  #computeLeading(): boolean {
    if (this.#role !== "leader") return false;
    return !this.#requireLease || this.#now() < this.#leaseUntil;
  }

  #lose(reason: NotLeaderError): void {
    this.#leading = false;
    this.#controller.abort(reason);
  }

  /** Re-evaluates leadership; notifies when it or (if `changed`) role/term changed. */
  #refresh(changed: boolean): void {
    const leading = this.#computeLeading();
    if (leading !== this.#leading) {
      changed = true;
      if (leading) {
        this.#leading = true;
        this.#controller = new AbortController();
      } else {
        this.#endLease();
        this.#lose(this.#notLeader());
      }
    }
    if (!changed) return;
    const state = this.#snapshot();
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
    if (this.#leading) {
      for (const waiter of [...this.#waiters]) waiter.resolve(this.#term);
    }
  }

  #makeGuard(): LeaderGuard {
    const term = (): number => this.#term;
    const signal = (): AbortSignal => {
      this.#refresh(false);
      return this.#controller.signal;
    };
    return {
      nodeId: this.nodeId,
      get term(): number {
        return term();
      },
      get signal(): AbortSignal {
        return signal();
      },
      isLeader: (): boolean => {
        this.#refresh(false);
        return this.#leading;
      },
      currentRole: (): Role => this.#role,
      currentLeader: (): NodeId | null => this.#leader,
      check: (): number => {
        this.#refresh(false);
        if (!this.#leading) throw this.#notLeader();
        return this.#term;
      },
      waitForLeadership: (options?: WaitForLeadershipOptions) =>
        this.#waitForLeadership(options ?? {}),
    };
  }

  #waitForLeadership(options: WaitForLeadershipOptions): Promise<number> {
    const { timeout, signal } = options;
    if (
      timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)
    ) {
      return Promise.reject(
        new RangeError(
          `Expected the timeout to be a non-negative number of milliseconds, found ${timeout}`,
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#refresh(false);
    if (this.#leading) return Promise.resolve(this.#term);
    return new Promise<number>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        waiter.settle();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: (term) => {
          waiter.settle();
          resolve(term);
        },
        settle: () => {
          this.#waiters.delete(waiter);
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          waiter.settle();
          reject(
            new LeadershipTimeoutError(
              `Expected node ${this.nodeId} to become leader within ${timeout} ms, found it ${this.#describe()}`,
            ),
          );
        }, timeout);
      }
    });
  }
}

/**
 * Wraps `fn` so that it runs only on the leader: each call first checks the
 * guard (throwing {@linkcode NotLeaderError} when not leading) and then calls
 * `fn` with a {@linkcode LeaderContext} (the leadership's abort signal and
 * its term) followed by the caller's arguments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeaderElection, leaderOnly } from "@k8s-operator/k8s-operator/controller";
 * const election = new LeaderElection(0);
 * const scale = leaderOnly(election.guard(), ({ signal, term }, replicas: number) => {
 *   if (signal.aborted) return "cancelled";
 *   return `scaled to ${replicas} in term ${term}`;
 * });
 * election.setRole("leader", 5);
 * assert.equal(scale(3), "scaled to 3 in term 5");
 * ```
 */
export function leaderOnly<A extends unknown[], R>(
  guard: LeaderGuard,
  fn: (context: LeaderContext, ...args: A) => R,
): (...args: A) => R {
  return (...args: A): R => {
    const term = guard.check();
    return fn({ signal: guard.signal, term }, ...args);
  };
}
