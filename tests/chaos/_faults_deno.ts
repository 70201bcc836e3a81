/**
 * How a chaos run injects the faults of its schedule: API faults at once,
 * replica faults and API-server pauses one after another on one lane, each
 * aimed at the leader it sees.
 *
 * @module
 */
import type { TestApiServer } from "../../testing/mod.ts";
import { below } from "../../testing/raft/random.ts";
import {
  type Conditions,
  type Replicas,
  started,
  type WriteLog,
} from "./_cluster_deno.ts";
import type { LoggedRequest } from "./_invariants.ts";
import {
  EXIT_TIMEOUT_MS,
  type ReplicaProcess,
  START_TIMEOUT_MS,
  SURVIVOR,
  within,
} from "./_replica_process_deno.ts";
import { describeFault, type Fault } from "./_schedule.ts";

/** What the faults act on and report to. */
export interface FaultContext {
  /** The API server. */
  server: TestApiServer;
  /** The replica processes. */
  replicas: Replicas;
  /** The waits. */
  conditions: Conditions;
  /** The request log (to arm a pause at a leader's write). */
  writes: WriteLog;
  /** The wall clock. */
  wall: () => number;
  /** Picks a target when no leader is seen. */
  random: () => number;
  /** Narrates a fault, stamped with its time into the fault phase. */
  note(line: string): void;
  /** Waits `ms` of fault duration, ending early once a violation is seen. */
  hold(ms: number): Promise<unknown>;
  /** Whether the run stops because a violation was seen. */
  violationSeen(): boolean;
  /** Where a replica that did not exit in time after SIGTERM is reported. */
  shutdownProblems: string[];
}

/** Injects faults of a schedule into a running cluster. */
export class FaultInjector {
  /** Replica faults skipped because a replica was not ready. */
  skipped = 0;
  readonly #run: FaultContext;
  /** The timers that cancel the failure windows. */
  readonly #windows: ReturnType<typeof setTimeout>[] = [];
  /** Replica faults and pauses, one after another. */
  #lane: Promise<void> = Promise.resolve();

  constructor(run: FaultContext) {
    this.#run = run;
  }

  /** Injects `fault`: now, or on the lane after the ones before it. */
  inject(fault: Fault): void {
    switch (fault.kind) {
      case "kill":
      case "stop":
      case "term":
        this.#lane = this.#lane.then(() => this.#replicaFault(fault));
        break;
      case "pause":
        this.#lane = this.#lane.then(() => this.#pause(fault));
        break;
      case "error500":
      case "throttle429":
      case "dropWatches":
      case "compact":
        this.#apiFault(fault);
        break;
    }
  }

  /** Resolves once every replica fault and pause injected has ended. */
  settled(): Promise<void> {
    return this.#lane;
  }

  /** Cancels the failure windows still open. */
  cancelWindows(): void {
    for (const timer of this.#windows) clearTimeout(timer);
  }

  #apiFault(fault: Fault): void {
    const { server } = this.#run;
    switch (fault.kind) {
      case "error500":
      case "throttle429": {
        // A window, not a debt: failures not used up within it are
        // cancelled, so a quiet spell does not turn into an outage.
        const handle = server.faults.failNext({
          status: fault.kind === "error500" ? 500 : 429,
          count: fault.count,
          verb: fault.verbs,
          retryAfterSeconds: fault.retryAfterSeconds,
        });
        this.#windows.push(setTimeout(() => handle.cancel(), fault.durationMs));
        this.#run.note(describeFault(fault));
        break;
      }
      case "dropWatches": {
        const n = server.faults.closeWatches(
          fault.withError ? { error: { code: 500 } } : {},
        );
        this.#run.note(`${describeFault(fault)} (${n} watches)`);
        break;
      }
      case "compact": {
        server.faults.compact();
        const n = server.faults.closeWatches();
        this.#run.note(
          `compacted at resourceVersion ${server.resourceVersion}, ended ${n} watches`,
        );
        break;
      }
    }
  }

  async #replicaFault(fault: Fault): Promise<void> {
    const ready = await this.#readyTarget();
    if (this.#run.violationSeen()) return;
    if (ready === undefined) {
      this.skipped++;
      this.#run.note(
        `${fault.kind} skipped: a replica not ready within ${BUDGET_WAIT_MS} ms`,
      );
      return;
    }
    const p = ready;
    const was = p.events.findLast((e) => e.event === "guard");
    const role = was?.leading ? `leader, term ${was.term}` : "no leader seen";
    // Replica 0 survives the run (its RSS is judged over all of it).
    const kind = p.id === SURVIVOR ? "stop" : fault.kind;
    if (kind === "kill") await this.#kill(p, { role, fault });
    else if (kind === "stop") {
      this.#run.note(
        `SIGSTOP replica ${p.id} (${role}) for ${fault.durationMs} ms`,
      );
      await this.#stopAndNote(p, fault.durationMs);
    } else await this.#terminate(p, { role, fault });
  }

  /**
   * The target of a replica fault once the other replicas are ready, or
   * undefined when they are not within {@linkcode BUDGET_WAIT_MS}.
   *
   * A disruption budget of one, as the StatefulSet's PodDisruptionBudget
   * and readiness probe give: no replica fault while another replica
   * is not ready (still rejoining after a restart on memory storage, or
   * without a leader). On memory storage a second member losing its
   * state before the first is a voter again leaves no quorum that kept
   * its state, and the cluster waits for good, by design (raft/README.md);
   * a stop of the leader then finds no other leader and lasts 20 s, and
   * such stops back to back starve the rejoin. Both were seen with seed 5.
   */
  #readyTarget(): Promise<ReplicaProcess | undefined> {
    let probed = -Infinity;
    return this.#run.conditions.until(
      "the other replicas ready",
      async () => {
        // Re-checked on every event: ask the replicas at most twice a second.
        if (performance.now() - probed < 500) return false;
        probed = performance.now();
        const p = await this.#target();
        return (await this.#run.replicas.othersReady(p)) && p;
      },
      BUDGET_WAIT_MS,
    ).catch(() => undefined);
  }

  /** The leader, or when none is seen within 10 s a running replica at random. */
  async #target(): Promise<ReplicaProcess> {
    const { conditions, replicas } = this.#run;
    const found = await conditions.until(
      "a leader",
      () => replicas.leader(),
      10_000,
    )
      .catch(
        () => undefined,
      );
    if (found) return found;
    const alive = [...replicas.current.values()].filter((p) =>
      !p.exited && !p.stopped
    );
    return alive[below(this.#run.random, alive.length)];
  }

  async #kill(
    p: ReplicaProcess,
    init: { role: string; fault: Fault },
  ): Promise<void> {
    this.#run.note(`kill -9 replica ${p.id} (${init.role})`);
    p.fate = "killed";
    p.killedAt = this.#run.wall();
    p.signal("SIGKILL");
    await p.status;
    await this.#restart(p, init.fault.durationMs);
  }

  async #terminate(
    p: ReplicaProcess,
    init: { role: string; fault: Fault },
  ): Promise<void> {
    this.#run.note(`SIGTERM replica ${p.id} (${init.role})`);
    p.fate = "terminated";
    p.signal("SIGTERM");
    const exited = await within(p.status, EXIT_TIMEOUT_MS);
    if (!exited) {
      this.#run.shutdownProblems.push(
        `Replica ${p.id} did not exit within ${EXIT_TIMEOUT_MS} ms of SIGTERM`,
      );
      p.signal("SIGKILL");
      await p.status;
    }
    this.#run.note(`replica ${p.id} exited after SIGTERM`);
    await this.#restart(p, init.fault.durationMs);
  }

  /** Starts replica `p.id` again after `afterMs`, unless a violation stops the run. */
  async #restart(p: ReplicaProcess, afterMs: number): Promise<void> {
    await this.#run.hold(afterMs);
    if (this.#run.violationSeen()) return;
    const next = this.#run.replicas.start(p.id);
    await this.#run.conditions.until(
      `replica ${p.id} started again`,
      () => started(next),
      START_TIMEOUT_MS,
    );
    this.#run.note(`replica ${p.id} started again`);
  }

  /** {@linkcode FaultInjector.#stop}, then narrates the SIGCONT. */
  async #stopAndNote(p: ReplicaProcess, ms: number): Promise<void> {
    const next = await this.#stop(p, ms);
    this.#run.note(
      `SIGCONT replica ${p.id}${
        next ? ` (replica ${next.id} leads)` : " (no other leader)"
      }`,
    );
  }

  /**
   * SIGSTOP for at least `ms` and until another replica's guard leads
   * (at most 20 s more), so leadership has moved when it wakes up.
   */
  async #stop(
    p: ReplicaProcess,
    ms: number,
  ): Promise<ReplicaProcess | undefined> {
    const { conditions, replicas } = this.#run;
    p.stopped = true;
    p.signal("SIGSTOP");
    await this.#run.hold(ms);
    const next = await conditions.until(
      "another leader",
      () =>
        this.#run.violationSeen() ||
        (replicas.leader() !== undefined && replicas.leader()),
      20_000,
    ).catch(() => undefined);
    p.signal("SIGCONT");
    p.stopped = false;
    conditions.changed();
    return typeof next === "object" ? next : undefined;
  }

  /** An API-server pause, with a SIGSTOP of the replica it caught writing. */
  async #pause(fault: Fault): Promise<void> {
    const { server, wall } = this.#run;
    const was = this.#run.replicas.leader();
    const first = await this.#pauseAtLeaderApply();
    server.faults.pause();
    const paused = wall();
    this.#run.note(
      `API server paused for ${fault.durationMs} ms${
        first
          ? ` at replica ${first.replica}'s ${first.method} ${first.path}`
          : ""
      }`,
    );
    const victim = this.#run.replicas.current.get(
      first?.replica ?? was?.id ?? 0,
    )!;
    await this.#run.hold(fault.stopAfterMs!);
    if (!victim.exited) {
      this.#run.note(
        `SIGSTOP replica ${victim.id} (its requests are held) for ${fault.stopForMs} ms`,
      );
      await this.#stopAndNote(victim, fault.stopForMs!);
    }
    await this.#run.hold(fault.durationMs - (wall() - paused));
    server.faults.resume();
    this.#run.note("API server resumed");
  }

  /**
   * Pauses the API server at the leader's next ConfigMap apply (the first
   * write of a reconcile, so more writes of that reconcile are still to
   * come) and resolves with that write, or with null when none comes
   * within 5 s.
   */
  async #pauseAtLeaderApply(): Promise<LoggedRequest | null> {
    const { server, writes, replicas } = this.#run;
    const armed = Promise.withResolvers<LoggedRequest | null>();
    writes.onWrite = (r) => {
      if (
        r.replica === replicas.leader()?.id && r.method === "PATCH" &&
        r.path.includes("/configmaps/")
      ) {
        server.faults.pause();
        writes.onWrite = null;
        armed.resolve(r);
      }
    };
    const first = await within(armed.promise, 5_000)
      ? await armed.promise
      : null;
    writes.onWrite = null;
    return first;
  }
}

/** How long a replica fault waits for the other replicas to be ready before it is skipped. */
const BUDGET_WAIT_MS = 60_000;
