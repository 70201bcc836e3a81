/**
 * The operator chaos run: the example operator as three replica processes
 * (`_replica_deno.ts`) against the in-process test API server, a workload that
 * creates, changes, tampers with and deletes Websites throughout, faults
 * from a seeded schedule (`_schedule.ts`), and the invariants
 * (`_invariants.ts`) checked from the server's request log, the replicas'
 * logs, their exits and their RSS.
 *
 * Nothing here sleeps to wait for a state: waits are for an event (a log
 * line, a request, an exit) or for a condition re-checked on every event
 * and every 250 ms, each under a deadline. The timers that remain are the
 * schedule itself (when a fault starts, how long it lasts) and the
 * workload's pace.
 *
 * @module
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../controller/mod.ts";
import { Website } from "../../examples/resources.ts";
import { FIELD_MANAGER } from "../../examples/website.ts";
import { TestApiServer } from "../../testing/mod.ts";
import { clusterEnv, freePorts } from "../operator/_helpers.ts";
import {
  EXIT_TIMEOUT_MS,
  joinRecord,
  logged,
  type ReplicaEvent,
  ReplicaProcess,
  START_TIMEOUT_MS,
  SURVIVOR,
  taggedKubeConfig,
  within,
} from "./_replica_process_deno.ts";
import { Workload } from "./_workload_deno.ts";
import { converged, guardIntervals, survivorHeap } from "./_observed_deno.ts";
import { below, seeded } from "../../testing/raft/random.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import {
  checkFencing,
  checkOneLeader,
  checkRss,
  type LoggedRequest,
  type RssGrowth,
  WRITE_METHODS,
} from "./_invariants.ts";
import {
  chaosSchedule,
  describeFault,
  type Fault,
  type ScheduleOptions,
} from "./_schedule.ts";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions extends ScheduleOptions {
  /** The schedule's seed (also seeds the workload and the targets). */
  seed: number;
  /** Run a deliberately broken build of the replicas (`CHAOS_BREAK`). */
  broken?: "unfenced";
  /**
   * End the fault phase at the first violation seen while it runs and skip
   * the convergence wait (to show a broken build is caught, quickly).
   */
  stopOnViolation?: boolean;
  /** How long after the faults stop every Website may take to converge (default 90 s). */
  convergeTimeoutMs?: number;
  /** RSS may grow at most this much after warm-up (default 0.2: 20%). */
  maxRssGrowth?: number;
  /**
   * RSS growth is judged only for processes sampled this long after their
   * warm-up (default 5 min: the short run measures no growth, only the
   * ceiling).
   */
  rssMinSpanMs?: number;
  /**
   * How long a process warms up after it starts, and how long after the
   * run's warm-up RSS growth starts to count (default 8 min). V8 grows its
   * heap for the first 6 to 8 minutes of a replica under this workload
   * while the live heap stays flat (see `bench/results/chaos.md`): a
   * shorter warm-up judges that growth, which is not the long run.
   */
  rssWarmupMs?: number;
  /** No replica's RSS may exceed this many MB (default 600). */
  maxRssMb?: number;
  /** Where the narration goes (default: nowhere). */
  out?: (line: string) => void;
  /**
   * A directory to keep the evidence in: each replica process's lines
   * (`replica-<id>-<start>.jsonl`) and the request log (`requests.jsonl`).
   */
  logDir?: string;
}

/** One invariant's outcome. */
export interface Check {
  /** What it asserts. */
  name: string;
  /** The violations found (empty: it holds). */
  violations: string[];
  /** What was checked, in a sentence. */
  detail: string;
}

/** What a run injected and checked. */
export interface ChaosReport {
  /** The seed. */
  seed: number;
  /** Each fault as injected, with its time into the fault phase. */
  injected: string[];
  /** The invariants. */
  checks: Check[];
  /** Every violation of every check. */
  violations: string[];
  /** RSS growth after warm-up, per process checked. */
  rss: RssGrowth[];
  /** Counts: requests, writes per replica, workload operations. */
  stats: Record<string, number>;
}

/**
 * Runs the chaos test and resolves with what it injected and checked;
 * every process it started has ended when it resolves or rejects. It
 * rejects only when the harness itself fails (a replica never starts, a
 * deadline passes before the fault phase); invariant violations are in the
 * report.
 *
 * @example
 * ```ts ignore
 * const report = await runChaos({ seed: 7, phaseMs: 75_000, pauseMs: 20_000 });
 * console.log(report.violations);
 * ```
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const out = options.out ?? (() => {});
  const wall = wallClock();
  const random = seeded(options.seed ^ 0x5eed);
  const schedule = chaosSchedule(options.seed, options);
  const dir = await mkdtemp(join(tmpdir(), "operator-chaos-"));
  const requests: LoggedRequest[] = [];
  /** The replicas' write records, by process and request number. */
  const records = new Map<string, ReplicaEvent>();
  /** Writes the server got whose record has not arrived yet. */
  const unmatched = new Map<string, LoggedRequest>();
  const online: string[] = [];
  const injected: string[] = [];
  const procs: ReplicaProcess[] = [];
  const current = new Map<number, ReplicaProcess>();
  let phaseStart = 0;
  let onWrite: ((r: LoggedRequest) => void) | null = null;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of [...listeners]) l();
  };

  /** Resolves once `check` holds, re-checked on every event and every 250 ms. */
  const until = async <T>(
    what: string,
    check: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs: number,
  ): Promise<T> => {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`Expected ${what} within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          listeners.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(250, left));
        listeners.add(wake);
      });
    }
  };

  const server = await TestApiServer.start({
    onRequest: (request) => {
      const r = logged(request, wall());
      requests.push(r);
      if (!WRITE_METHODS.has(r.method) || r.workload) return;
      onWrite?.(r);
      const key = `${r.proc}:${r.seq}`;
      const record = records.get(key);
      if (record === undefined) unmatched.set(key, r);
      else {
        joinRecord(r, record);
        checkOnline(r);
      }
    },
  });
  /** The fencing check on one write as soon as both sides have reported it. */
  const checkOnline = (r: LoggedRequest) => {
    const found = checkFencing([r], [{
      replica: r.replica ?? -1,
      term: r.term ?? -1,
      start: -Infinity,
      end: Infinity,
    }]);
    if (found.length > 0) {
      online.push(...found);
      out(`  VIOLATION ${found[0]}`);
      changed();
    }
  };
  const kubeconfigPath = join(dir, "kubeconfig.json");
  await writeFile(kubeconfigPath, server.kubeConfigYaml());
  const client = KubeClient.fromKubeConfig(
    taggedKubeConfig(server.kubeConfigYaml(), { "x-chaos-workload": "1" }),
    { timeoutMs: 10_000 },
  );
  const ports = await freePorts(3);
  const envs = clusterEnv(ports, {
    KUBECONFIG: kubeconfigPath,
    NO_COLOR: "1",
    ...(options.broken ? { CHAOS_BREAK: options.broken } : {}),
  });
  const instances = [0, 0, 0];

  const onEvent = (e: ReplicaEvent, p: ReplicaProcess) => {
    if (e.event === "write") {
      const key = `${e.proc}:${e.seq}`;
      records.set(key, e);
      const r = unmatched.get(key);
      if (r !== undefined) {
        unmatched.delete(key);
        joinRecord(r, e);
        checkOnline(r);
      }
    }
    if (e.event === "unhandled") {
      out(`  replica ${p.id}: unhandled ${e.kind}: ${e.error}`);
    }
    changed();
  };
  const start = (id: number): ReplicaProcess => {
    const p = new ReplicaProcess(
      {
        id,
        instance: ++instances[id],
        env: { ...Deno.env.toObject(), ...envs[id] },
      },
      onEvent,
    );
    procs.push(p);
    current.set(id, p);
    p.status.then(changed);
    return p;
  };
  const started = (p: ReplicaProcess) =>
    p.events.some((e) => e.message === "operator started");
  /** The replica whose guard leads now (latest guard line), if any. */
  const leader = (): ReplicaProcess | undefined => {
    let best: ReplicaProcess | undefined;
    let bestTerm = -1;
    for (const p of current.values()) {
      if (p.exited || p.stopped) continue;
      const last = p.events.findLast((e) => e.event === "guard");
      if (last?.leading === true && Number(last.term) > bestTerm) {
        best = p;
        bestTerm = Number(last.term);
      }
    }
    return best;
  };
  const since = () => ((wall() - phaseStart) / 1000).toFixed(1).padStart(6);
  const narration: Array<{ t: number; line: string }> = [];
  const note = (line: string) => {
    narration.push({ t: wall(), line });
    injected.push(`+${since().trim()} s ${line}`);
    out(`  +${since()} s ${line}`);
  };

  const rssTimer = setInterval(async () => {
    for (const p of current.values()) {
      if (p.exited) continue;
      try {
        const status = await readFile(`/proc/${p.child.pid}/status`, "utf8");
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
        if (kb > 0) p.rss.samples.push({ t: wall(), kb });
      } catch {
        // The process ended between the check and the read.
      }
    }
  }, 2_000);

  const windows: ReturnType<typeof setTimeout>[] = [];
  const violationSeen = () => options.stopOnViolation && online.length > 0;
  /** Waits `ms` of fault duration, ending early once a violation is seen. */
  const hold = (ms: number) =>
    until("", () => violationSeen(), ms).catch(() => undefined);

  const workloadRandom = seeded(options.seed ^ 0xc0ffee);
  const workload = new Workload(client, workloadRandom);
  let workloadRunning = false;
  let workloadDone: Promise<void> = Promise.resolve();
  const startWorkload = () => {
    workloadRunning = true;
    workloadDone = (async () => {
      while (workloadRunning && !violationSeen()) {
        await workload.step();
        await new Promise((r) =>
          setTimeout(r, 100 + below(workloadRandom, 400))
        );
      }
    })();
  };

  let warmupEnd = 0;
  let skipped = 0;
  let convergence: string[] = [];
  let queueProblems: string[] = [];
  const shutdownProblems: string[] = [];
  try {
    await Website.install(
      taggedKubeConfig(server.kubeConfigYaml(), { "x-chaos-workload": "1" }),
      { fieldManager: FIELD_MANAGER },
    );
    for (const id of [0, 1, 2]) start(id);
    await until(
      "three replicas started and one leading",
      () => [...current.values()].every(started) && leader(),
      START_TIMEOUT_MS,
    );
    out(`replicas started; replica ${leader()!.id} leads`);
    for (let i = 0; i < 6; i++) await workload.create();
    await until(
      "the first Websites converged",
      async () => (await converged(client, workload)).length === 0,
      START_TIMEOUT_MS,
    );
    warmupEnd = wall();
    out(`warm-up done: ${workload.live().length} Websites converged`);

    // ---------------------------------------------------- the fault phase
    phaseStart = wall();
    out(`fault phase: ${options.phaseMs} ms, seed ${options.seed}`);
    startWorkload();
    let lane: Promise<void> = Promise.resolve();
    const restart = async (p: ReplicaProcess, afterMs: number) => {
      await hold(afterMs);
      if (violationSeen()) return;
      const next = start(p.id);
      await until(
        `replica ${p.id} started again`,
        () => started(next),
        START_TIMEOUT_MS,
      );
      note(`replica ${p.id} started again`);
    };
    const target = async (): Promise<ReplicaProcess> => {
      const found = await until("a leader", () => leader(), 10_000).catch(
        () => undefined,
      );
      if (found) return found;
      const alive = [...current.values()].filter((p) =>
        !p.exited && !p.stopped
      );
      return alive[below(random, alive.length)];
    };
    /**
     * SIGSTOP for at least `ms` and until another replica's guard leads
     * (at most 20 s more), so leadership has moved when it wakes up.
     */
    const stop = async (p: ReplicaProcess, ms: number) => {
      p.stopped = true;
      p.signal("SIGSTOP");
      await hold(ms);
      const next = await until(
        "another leader",
        () => violationSeen() || (leader() !== undefined && leader()),
        20_000,
      ).catch(() => undefined);
      p.signal("SIGCONT");
      p.stopped = false;
      changed();
      return typeof next === "object" ? next : undefined;
    };
    /** Whether every running replica other than `p` answers `/readyz` with 200. */
    const othersReady = async (p: ReplicaProcess): Promise<boolean> => {
      for (const other of current.values()) {
        if (other === p || other.exited) continue;
        if (other.stopped) return false;
        const port = other.events.find((e) => e.message === "operator started")
          ?.httpPort;
        try {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
            signal: AbortSignal.timeout(2_000),
          });
          await response.body?.cancel();
          if (response.status !== 200) return false;
        } catch {
          return false;
        }
      }
      return true;
    };
    const replicaFault = async (fault: Fault) => {
      // A disruption budget of one, as the StatefulSet's PodDisruptionBudget
      // and readiness probe give: no replica fault while another replica
      // is not ready (still rejoining after a restart on memory storage, or
      // without a leader). On memory storage a second member losing its
      // state before the first is a voter again leaves no quorum that kept
      // its state, and the cluster waits for good, by design (raft/README.md);
      // a stop of the leader then finds no other leader and lasts 20 s, and
      // such stops back to back starve the rejoin. Both were seen with seed 5.
      let probed = -Infinity;
      const ready = await until(
        "the other replicas ready",
        async () => {
          // Re-checked on every event: ask the replicas at most twice a second.
          if (performance.now() - probed < 500) return false;
          probed = performance.now();
          const p = await target();
          return (await othersReady(p)) && p;
        },
        BUDGET_WAIT_MS,
      ).catch(() => undefined);
      if (violationSeen()) return;
      if (ready === undefined) {
        skipped++;
        note(
          `${fault.kind} skipped: a replica not ready within ${BUDGET_WAIT_MS} ms`,
        );
        return;
      }
      const p = ready;
      const was = p.events.findLast((e) => e.event === "guard");
      const role = was?.leading ? `leader, term ${was.term}` : "no leader seen";
      // Replica 0 survives the run (its RSS is judged over all of it).
      const kind = p.id === SURVIVOR ? "stop" : fault.kind;
      if (kind === "kill") {
        note(`kill -9 replica ${p.id} (${role})`);
        p.fate = "killed";
        p.killedAt = wall();
        p.signal("SIGKILL");
        await p.status;
        await restart(p, fault.durationMs);
      } else if (kind === "stop") {
        note(`SIGSTOP replica ${p.id} (${role}) for ${fault.durationMs} ms`);
        const next = await stop(p, fault.durationMs);
        note(
          `SIGCONT replica ${p.id}${
            next ? ` (replica ${next.id} leads)` : " (no other leader)"
          }`,
        );
      } else {
        note(`SIGTERM replica ${p.id} (${role})`);
        p.fate = "terminated";
        p.signal("SIGTERM");
        const exited = await within(p.status, EXIT_TIMEOUT_MS);
        if (!exited) {
          shutdownProblems.push(
            `Replica ${p.id} did not exit within ${EXIT_TIMEOUT_MS} ms of SIGTERM`,
          );
          p.signal("SIGKILL");
          await p.status;
        }
        note(`replica ${p.id} exited after SIGTERM`);
        await restart(p, fault.durationMs);
      }
    };
    const pause = async (fault: Fault) => {
      const armed = Promise.withResolvers<LoggedRequest | null>();
      const was = leader();
      // At the leader's next ConfigMap apply: the first write of a
      // reconcile, so more writes of that reconcile are still to come.
      onWrite = (r) => {
        if (
          r.replica === leader()?.id && r.method === "PATCH" &&
          r.path.includes("/configmaps/")
        ) {
          server.faults.pause();
          onWrite = null;
          armed.resolve(r);
        }
      };
      const first = await within(armed.promise, 5_000)
        ? await armed.promise
        : null;
      onWrite = null;
      server.faults.pause();
      const paused = wall();
      note(
        `API server paused for ${fault.durationMs} ms${
          first
            ? ` at replica ${first.replica}'s ${first.method} ${first.path}`
            : ""
        }`,
      );
      const victim = current.get(first?.replica ?? was?.id ?? 0)!;
      await hold(fault.stopAfterMs!);
      if (!victim.exited) {
        note(
          `SIGSTOP replica ${victim.id} (its requests are held) for ${fault.stopForMs} ms`,
        );
        const next = await stop(victim, fault.stopForMs!);
        note(
          `SIGCONT replica ${victim.id}${
            next ? ` (replica ${next.id} leads)` : " (no other leader)"
          }`,
        );
      }
      await hold(fault.durationMs - (wall() - paused));
      server.faults.resume();
      note("API server resumed");
    };

    for (const fault of schedule) {
      const wait = phaseStart + fault.at - wall();
      if (wait > 0) await hold(wait);
      if (violationSeen()) break;
      switch (fault.kind) {
        case "kill":
        case "stop":
        case "term":
          lane = lane.then(() => replicaFault(fault));
          break;
        case "pause":
          lane = lane.then(() => pause(fault));
          break;
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
          windows.push(setTimeout(() => handle.cancel(), fault.durationMs));
          note(describeFault(fault));
          break;
        }
        case "dropWatches": {
          const n = server.faults.closeWatches(
            fault.withError ? { error: { code: 500 } } : {},
          );
          note(`${describeFault(fault)} (${n} watches)`);
          break;
        }
        case "compact": {
          server.faults.compact();
          const n = server.faults.closeWatches();
          note(
            `compacted at resourceVersion ${server.resourceVersion}, ended ${n} watches`,
          );
          break;
        }
      }
    }
    await hold(Math.max(0, phaseStart + options.phaseMs - wall()));
    await lane;
    workloadRunning = false;
    await workloadDone;
    server.faults.clear();
    for (const p of current.values()) {
      if (p.stopped) {
        p.signal("SIGCONT");
        p.stopped = false;
      }
    }
    note("faults stopped");

    // --------------------------------------------------- after the faults
    if (!violationSeen()) {
      for (const [id, p] of current) {
        if (p.exited) start(id);
      }
      await until(
        "three replicas running and one leading",
        () =>
          [...current.values()].every((p) => !p.exited && started(p)) &&
          leader(),
        START_TIMEOUT_MS,
      );
      const convergeStart = performance.now();
      await until(
        "every Website converged",
        async () =>
          (convergence = await converged(client, workload)).length === 0,
        options.convergeTimeoutMs ?? 90_000,
      ).catch(() => undefined);
      out(
        convergence.length === 0
          ? `every Website converged ${
            ((performance.now() - convergeStart) / 1000).toFixed(1)
          } s after the faults stopped`
          : `${convergence.length} problems left after ${
            options.convergeTimeoutMs ?? 90_000
          } ms`,
      );
      await until("the leader's queue empty", () => {
        const l = leader();
        const q = l?.events.findLast((e) => e.event === "queue");
        return q !== undefined && q.length === 0 && q.processing === 0;
      }, 30_000).catch(() => {
        const l = leader();
        const q = l?.events.findLast((e) => e.event === "queue");
        queueProblems = [
          l === undefined
            ? "No leader at the end"
            : `Replica ${l.id}'s queue not drained: ${JSON.stringify(q)}`,
        ];
      });
    }
  } finally {
    workloadRunning = false;
    await workloadDone;
    onWrite = null;
    for (const timer of windows) clearTimeout(timer);
    server.faults.clear();
    // Stop every replica gracefully; each must finish cleanly and exit.
    for (const p of current.values()) {
      if (p.exited) continue;
      p.fate = "shutdown";
      if (p.stopped) p.signal("SIGCONT");
      p.signal("SIGTERM");
    }
    for (const p of current.values()) {
      const exited = await within(p.status, EXIT_TIMEOUT_MS);
      if (!exited) {
        shutdownProblems.push(
          `Replica ${p.id} did not exit within ${EXIT_TIMEOUT_MS} ms of SIGTERM at the end`,
        );
        p.signal("SIGKILL");
        await p.status;
      }
    }
    clearInterval(rssTimer);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }

  if (options.logDir !== undefined) {
    await mkdir(options.logDir, { recursive: true });
    for (const p of procs) {
      await writeFile(
        join(options.logDir, `replica-${p.id}-${p.instance}.jsonl`),
        [...p.events.map((e) => JSON.stringify(e)), ...p.stderr].join("\n") +
          "\n",
      );
    }
    await writeFile(
      join(options.logDir, "harness.jsonl"),
      [
        ...narration.map((n) => JSON.stringify(n)),
        ...procs.map((p) => JSON.stringify({ rss: p.rss })),
      ].join("\n") + "\n",
    );
    await writeFile(
      join(options.logDir, "requests.jsonl"),
      requests.map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
  }

  // ------------------------------------------------------- the invariants
  const intervals = guardIntervals(procs);
  const crashes: string[] = [];
  const stderrNotes: string[] = [];
  for (const p of procs) {
    const s = await p.status;
    const finished = p.events.find((e) => e.event === "finished");
    const unhandled = p.events.filter((e) => e.event === "unhandled");
    for (const u of unhandled) {
      crashes.push(`${p.rss.label}: unhandled ${u.kind}: ${u.error}`);
    }
    for (const line of p.stderr) {
      // Deno prints "error: Uncaught ..." when a process dies of an
      // error; other lines (such as a request handler's error that the
      // runtime caught and logged) are reported, not counted as crashes.
      if (/uncaught|panicked|unhandled/i.test(line)) {
        crashes.push(`${p.rss.label}: stderr: ${line}`);
      } else {
        stderrNotes.push(`${p.rss.label}: ${line}`);
      }
    }
    if (p.fate === "killed") continue;
    if (p.fate === "running") {
      crashes.push(
        `${p.rss.label}: exited by itself (code ${s.code}, signal ${s.signal})`,
      );
    } else if (finished?.ok !== true || s.code !== 0) {
      crashes.push(
        `${p.rss.label}: after SIGTERM, expected a clean stop and exit code 0, found ${
          finished
            ? `finished ok=${finished.ok} ${finished.error ?? ""}`
            : "no finish"
        }, code ${s.code}`,
      );
    }
  }
  crashes.push(...shutdownProblems);
  const rssWarmupMs = options.rssWarmupMs ?? RSS_WARMUP_MS;
  const rss = checkRss(procs.map((p) => p.rss), {
    warmupEnd: warmupEnd + rssWarmupMs,
    processWarmupMs: rssWarmupMs,
    minSpanMs: options.rssMinSpanMs ?? 5 * 60_000,
    maxGrowth: options.maxRssGrowth ?? 0.2,
    maxMb: options.maxRssMb ?? 600,
  });
  const writes = requests.filter((r) => WRITE_METHODS.has(r.method));
  const fromReplicas = writes.filter((r) => !r.workload);
  const lag = Math.max(
    0,
    ...fromReplicas.map((r) => r.received - (r.sent ?? r.received)),
  );
  // Reported, not checked: writes that left in time but arrived after
  // their sender's interval ended.
  let late = 0;
  let latest = 0;
  for (const r of fromReplicas) {
    const i = intervals.find((i) =>
      i.replica === r.replica && i.term === r.term && !i.open &&
      i.start <= r.sent! && r.sent! <= i.end
    );
    if (i && r.received > i.end) {
      late++;
      latest = Math.max(latest, r.received - i.end);
    }
  }
  const checks: Check[] = [
    {
      name: "no write sent by a replica whose guard was not leading",
      violations: checkFencing(requests, intervals),
      detail:
        `${fromReplicas.length} writes from replicas checked against ${intervals.length} guard intervals (largest send-to-receipt gap ${
          lag.toFixed(1)
        } ms; ${late} arrived after their sender's interval ended, by up to ${
          latest.toFixed(1)
        } ms)`,
    },
    {
      name: "at most one guard leads at any instant",
      violations: checkOneLeader(intervals),
      detail:
        `${intervals.length} guard intervals of ${procs.length} processes`,
    },
    {
      name: "no crash, no unhandled rejection, clean exits",
      violations: crashes,
      detail:
        `${procs.length} processes: exits, unhandled-error lines, stderr (${stderrNotes.length} other stderr lines${
          stderrNotes.length ? `, the first: ${stderrNotes[0]}` : ""
        })`,
    },
  ];
  if (!options.stopOnViolation) {
    checks.push(
      {
        name:
          "every Website converged to its latest spec; every deleted one is cleaned up",
        violations: convergence,
        detail: `${workload.live().length} live and ${
          workload.sites.size - workload.live().length
        } deleted Websites`,
      },
      {
        name: "no key stuck in the leader's queue",
        violations: queueProblems,
        detail: "the leader's work queue: nothing queued, nothing processing",
      },
      {
        name: "RSS flat after warm-up",
        violations: rss.violations,
        detail: `every process under ${options.maxRssMb ?? 600} MB (peak ${
          (Math.max(
            0,
            ...procs.flatMap((p) => p.rss.samples.map((x) => x.kb)),
          ) /
            1024).toFixed(0)
        } MB); growth after warm-up (${
          rssWarmupMs / 60_000
        } min) of the ${rss.measured.length} processes that ran long enough: ${
          rss.measured.map((m) =>
            `${m.label} ${m.fromMb.toFixed(0)} → ${m.toMb.toFixed(0)} MB (${
              (m.growth * 100).toFixed(0)
            }%)`
          ).join(", ") || "none"
        }${survivorHeap(procs, warmupEnd + rssWarmupMs)}`,
      },
    );
  }
  const stats: Record<string, number> = {
    requests: requests.length,
    "writes from replicas": fromReplicas.length,
    "workload writes": writes.length - fromReplicas.length,
    "guard intervals": intervals.length,
    "replica processes": procs.length,
    "replica faults skipped (a replica not ready)": skipped,
  };
  for (const [op, n] of Object.entries(workload.counts)) {
    stats[`workload: ${op}`] = n;
  }
  return {
    seed: options.seed,
    injected,
    checks,
    violations: checks.flatMap((c) => c.violations),
    rss: rss.measured,
    stats,
  };
}

/**
 * What a report says: the seed, each fault injected, each invariant with
 * its first violations.
 *
 * @example
 * ```ts ignore
 * console.log(describeReport(await runChaos({ seed: 1, phaseMs: 75_000, pauseMs: 20_000 })));
 * ```
 */
export function describeReport(report: ChaosReport): string {
  return [
    `seed ${report.seed} (replay: CHAOS_SEED=${report.seed} or deno task chaos --seed ${report.seed})`,
    "injected:",
    ...report.injected.map((line) => `  ${line}`),
    "checked:",
    ...report.checks.map((c) =>
      `  ${c.violations.length === 0 ? "ok  " : "FAIL"} ${c.name}: ${c.detail}${
        c.violations.slice(0, 10).map((v) => `\n         ${v}`).join("")
      }`
    ),
  ].join("\n");
}

/** How long a replica fault waits for the other replicas to be ready before it is skipped. */
const BUDGET_WAIT_MS = 60_000;

/** How long a process warms up before its RSS growth counts; see `rssWarmupMs`. */
const RSS_WARMUP_MS = 8 * 60_000;
