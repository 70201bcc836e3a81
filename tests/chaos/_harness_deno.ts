/**
 * The operator chaos run: the example operator as three replica processes
 * (`_replica_deno.ts`) against the in-process test API server, a workload that
 * creates, changes, tampers with and deletes Websites throughout, faults
 * from a seeded schedule (`_schedule.ts`), and the invariants
 * (`_invariants.ts`) checked from the server's request log, the replicas'
 * logs, their exits and their RSS. The parts: what the run watches
 * (`_cluster_deno.ts`), how faults are injected (`_faults_deno.ts`), what
 * the report says (`_report_deno.ts`).
 *
 * Nothing here sleeps to wait for a state: waits are for an event (a log
 * line, a request, an exit) or for a condition re-checked on every event
 * and every 250 ms, each under a deadline. The timers that remain are the
 * schedule itself (when a fault starts, how long it lasts) and the
 * workload's pace.
 *
 * @module
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../controller/mod.ts";
import { Website } from "../../examples/resources.ts";
import { FIELD_MANAGER } from "../../examples/website.ts";
import { TestApiServer } from "../../testing/mod.ts";
import { clusterEnv, freePorts } from "../operator/_helpers.ts";
import {
  type ReplicaEvent,
  type ReplicaProcess,
  START_TIMEOUT_MS,
  taggedKubeConfig,
} from "./_replica_process_deno.ts";
import { Workload } from "./_workload_deno.ts";
import { converged } from "./_observed_deno.ts";
import { below, seeded } from "../../testing/raft/random.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import {
  chaosSchedule,
  type Fault,
  type ScheduleOptions,
} from "./_schedule.ts";
import { Conditions, Replicas, started, WriteLog } from "./_cluster_deno.ts";
import { type FaultContext, FaultInjector } from "./_faults_deno.ts";
import {
  type ChaosEvidence,
  type ChaosReport,
  chaosReport,
} from "./_report_deno.ts";

export {
  type ChaosReport,
  type Check,
  describeReport,
} from "./_report_deno.ts";

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
  const run = await ChaosRun.open(options);
  try {
    await run.warmUp();
    await run.faultPhase();
    if (!run.violationSeen()) await run.settle();
  } finally {
    await run.shutDown();
  }
  if (options.logDir !== undefined) await run.writeLogs(options.logDir);
  return await chaosReport(run.evidence());
}

/** The header that tells the workload's requests from the replicas'. */
const WORKLOAD_HEADERS = { "x-chaos-workload": "1" };

/** What {@linkcode ChaosRun.open} prepares for the run. */
interface ChaosRunInit {
  out: (line: string) => void;
  wall: () => number;
  random: () => number;
  schedule: Fault[];
  dir: string;
  conditions: Conditions;
  writes: WriteLog;
  server: TestApiServer;
  envs: Record<string, string>[];
}

/**
 * One run: the API server, the replicas, the workload and the faults, from
 * the warm-up to the shutdown, and the evidence they leave.
 */
class ChaosRun implements FaultContext {
  readonly options: ChaosOptions;
  readonly out: (line: string) => void;
  readonly wall: () => number;
  readonly random: () => number;
  readonly schedule: Fault[];
  readonly conditions: Conditions;
  readonly writes: WriteLog;
  readonly server: TestApiServer;
  readonly client: KubeClient;
  readonly replicas: Replicas;
  readonly workload: Workload;
  readonly faults: FaultInjector;
  readonly injected: string[] = [];
  readonly shutdownProblems: string[] = [];
  warmupEnd = 0;
  convergence: string[] = [];
  queueProblems: string[] = [];
  readonly #dir: string;
  readonly #narration: Array<{ t: number; line: string }> = [];
  readonly #rssTimer: ReturnType<typeof setInterval>;
  readonly #workloadRandom: () => number;
  #phaseStart = 0;
  #workloadRunning = false;
  #workloadDone: Promise<void> = Promise.resolve();

  /** Starts the API server and prepares the replicas' environment. */
  static async open(options: ChaosOptions): Promise<ChaosRun> {
    const out = options.out ?? (() => {});
    const wall = wallClock();
    const random = seeded(options.seed ^ 0x5eed);
    const schedule = chaosSchedule(options.seed, options);
    const dir = await mkdtemp(join(tmpdir(), "operator-chaos-"));
    const conditions = new Conditions();
    const writes = new WriteLog({ wall, out, changed: conditions.changed });
    const server = await TestApiServer.start({
      onRequest: (request) => writes.received(request),
    });
    const kubeconfigPath = join(dir, "kubeconfig.json");
    await writeFile(kubeconfigPath, server.kubeConfigYaml());
    const ports = await freePorts(3);
    const envs = clusterEnv(ports, {
      KUBECONFIG: kubeconfigPath,
      NO_COLOR: "1",
      ...(options.broken ? { CHAOS_BREAK: options.broken } : {}),
    });
    return new ChaosRun(options, {
      out,
      wall,
      random,
      schedule,
      dir,
      conditions,
      writes,
      server,
      envs,
    });
  }

  private constructor(options: ChaosOptions, init: ChaosRunInit) {
    this.options = options;
    this.out = init.out;
    this.wall = init.wall;
    this.random = init.random;
    this.schedule = init.schedule;
    this.#dir = init.dir;
    this.conditions = init.conditions;
    this.writes = init.writes;
    this.server = init.server;
    this.client = KubeClient.fromKubeConfig(
      taggedKubeConfig(init.server.kubeConfigYaml(), WORKLOAD_HEADERS),
      { timeoutMs: 10_000 },
    );
    this.replicas = new Replicas({
      envs: init.envs,
      onEvent: (e, p) => this.#onEvent(e, p),
      changed: init.conditions.changed,
    });
    this.#rssTimer = setInterval(
      () => this.replicas.sampleRss(this.wall),
      2_000,
    );
    this.#workloadRandom = seeded(options.seed ^ 0xc0ffee);
    this.workload = new Workload(this.client, this.#workloadRandom);
    this.faults = new FaultInjector(this);
  }

  #onEvent(e: ReplicaEvent, p: ReplicaProcess): void {
    if (e.event === "write") this.writes.recorded(e);
    if (e.event === "unhandled") {
      this.out(`  replica ${p.id}: unhandled ${e.kind}: ${e.error}`);
    }
    this.conditions.changed();
  }

  /** Narrates a fault, stamped with its time into the fault phase. */
  note(line: string): void {
    this.#narration.push({ t: this.wall(), line });
    this.injected.push(`+${this.#since().trim()} s ${line}`);
    this.out(`  +${this.#since()} s ${line}`);
  }

  #since(): string {
    return ((this.wall() - this.#phaseStart) / 1000).toFixed(1).padStart(6);
  }

  /** Whether the run stops because a violation was seen. */
  violationSeen(): boolean {
    return this.options.stopOnViolation === true &&
      this.writes.online.length > 0;
  }

  /** Waits `ms` of fault duration, ending early once a violation is seen. */
  hold(ms: number): Promise<unknown> {
    return this.conditions.until("", () => this.violationSeen(), ms).catch(
      () => undefined,
    );
  }

  /** Installs the CRD, starts the replicas and converges the first Websites. */
  async warmUp(): Promise<void> {
    const { conditions, replicas } = this;
    await Website.install(
      taggedKubeConfig(this.server.kubeConfigYaml(), WORKLOAD_HEADERS),
      { fieldManager: FIELD_MANAGER },
    );
    for (const id of [0, 1, 2]) replicas.start(id);
    await conditions.until(
      "three replicas started and one leading",
      () => [...replicas.current.values()].every(started) && replicas.leader(),
      START_TIMEOUT_MS,
    );
    this.out(`replicas started; replica ${replicas.leader()!.id} leads`);
    for (let i = 0; i < 6; i++) await this.workload.create();
    await conditions.until(
      "the first Websites converged",
      async () => (await converged(this.client, this.workload)).length === 0,
      START_TIMEOUT_MS,
    );
    this.warmupEnd = this.wall();
    this.out(`warm-up done: ${this.workload.live().length} Websites converged`);
  }

  /** Injects the schedule under the workload, then ends every fault. */
  async faultPhase(): Promise<void> {
    this.#phaseStart = this.wall();
    this.out(
      `fault phase: ${this.options.phaseMs} ms, seed ${this.options.seed}`,
    );
    this.#startWorkload();
    for (const fault of this.schedule) {
      const wait = this.#phaseStart + fault.at - this.wall();
      if (wait > 0) await this.hold(wait);
      if (this.violationSeen()) break;
      this.faults.inject(fault);
    }
    await this.hold(
      Math.max(0, this.#phaseStart + this.options.phaseMs - this.wall()),
    );
    await this.faults.settled();
    await this.#stopWorkload();
    this.server.faults.clear();
    for (const p of this.replicas.current.values()) {
      if (p.stopped) {
        p.signal("SIGCONT");
        p.stopped = false;
      }
    }
    this.note("faults stopped");
  }

  #startWorkload(): void {
    this.#workloadRunning = true;
    this.#workloadDone = (async () => {
      while (this.#workloadRunning && !this.violationSeen()) {
        await this.workload.step();
        await new Promise((r) =>
          setTimeout(r, 100 + below(this.#workloadRandom, 400))
        );
      }
    })();
  }

  async #stopWorkload(): Promise<void> {
    this.#workloadRunning = false;
    await this.#workloadDone;
  }

  /**
   * After the faults: every replica running again, every Website converged
   * and the leader's queue drained (what is not is kept for the report).
   */
  async settle(): Promise<void> {
    const { replicas } = this;
    for (const [id, p] of replicas.current) {
      if (p.exited) replicas.start(id);
    }
    await this.conditions.until(
      "three replicas running and one leading",
      () =>
        [...replicas.current.values()].every((p) => !p.exited && started(p)) &&
        replicas.leader(),
      START_TIMEOUT_MS,
    );
    await this.#converge();
    await this.#drainQueue();
  }

  async #converge(): Promise<void> {
    const timeoutMs = this.options.convergeTimeoutMs ?? 90_000;
    const convergeStart = performance.now();
    await this.conditions.until(
      "every Website converged",
      async () =>
        (this.convergence = await converged(this.client, this.workload))
          .length === 0,
      timeoutMs,
    ).catch(() => undefined);
    this.out(
      this.convergence.length === 0
        ? `every Website converged ${
          ((performance.now() - convergeStart) / 1000).toFixed(1)
        } s after the faults stopped`
        : `${this.convergence.length} problems left after ${timeoutMs} ms`,
    );
  }

  async #drainQueue(): Promise<void> {
    const leaderQueue = () =>
      this.replicas.leader()?.events.findLast((e) => e.event === "queue");
    await this.conditions.until("the leader's queue empty", () => {
      const q = leaderQueue();
      return q !== undefined && q.length === 0 && q.processing === 0;
    }, 30_000).catch(() => {
      const l = this.replicas.leader();
      const q = l?.events.findLast((e) => e.event === "queue");
      this.queueProblems = [
        l === undefined
          ? "No leader at the end"
          : `Replica ${l.id}'s queue not drained: ${JSON.stringify(q)}`,
      ];
    });
  }

  /** Ends the workload, the faults and every replica, then the server. */
  async shutDown(): Promise<void> {
    await this.#stopWorkload();
    this.writes.onWrite = null;
    this.faults.cancelWindows();
    this.server.faults.clear();
    this.shutdownProblems.push(...await this.replicas.shutDown());
    clearInterval(this.#rssTimer);
    await this.server.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** Keeps the evidence in `logDir` (see `ChaosOptions.logDir`). */
  async writeLogs(logDir: string): Promise<void> {
    const { procs } = this.replicas;
    await mkdir(logDir, { recursive: true });
    for (const p of procs) {
      await writeFile(
        join(logDir, `replica-${p.id}-${p.instance}.jsonl`),
        [...p.events.map((e) => JSON.stringify(e)), ...p.stderr].join("\n") +
          "\n",
      );
    }
    await writeFile(
      join(logDir, "harness.jsonl"),
      [
        ...this.#narration.map((n) => JSON.stringify(n)),
        ...procs.map((p) => JSON.stringify({ rss: p.rss })),
      ].join("\n") + "\n",
    );
    await writeFile(
      join(logDir, "requests.jsonl"),
      this.writes.requests.map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
  }

  /** What the run gathered, for {@linkcode chaosReport}. */
  evidence(): ChaosEvidence {
    return {
      ...this.options,
      injected: this.injected,
      procs: this.replicas.procs,
      requests: this.writes.requests,
      workload: this.workload,
      warmupEnd: this.warmupEnd,
      shutdownProblems: this.shutdownProblems,
      convergence: this.convergence,
      queueProblems: this.queueProblems,
      skipped: this.faults.skipped,
    };
  }
}
