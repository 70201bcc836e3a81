/**
 * A harness that runs N replicas of an operator in a test, in this
 * process or as separate processes, against {@linkcode TestApiServer} or a
 * real control plane (anything with `kubeConfig()` and `kubeConfigYaml()`):
 * free ports, a shared secret, a leader to wait for, a replica to kill,
 * stop, pause or restart, an object's condition to wait for, and every
 * replica's log.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { isApiError } from "../client/errors.ts";
import { KubeClient } from "../client/kube_client.ts";
import type { KubeObject, ResourceType } from "../client/objects.ts";
import type { LogFields, Logger } from "../common/log.ts";
import type { RunningOperator } from "../operator/mod.ts";
import { runtime } from "../platform/mod.ts";
import { freeLoopbackPorts } from "./ports.ts";
import {
  type Leader,
  ReplicaHarnessError,
  type ReplicaLogLine,
  type ReplicaOptions,
  type ReplicaState,
} from "./replica_types.ts";

interface Slot {
  id: number;
  raftPort: number;
  httpPort: number;
  role: string;
  term: number;
  /** The leader it last reported following (or being), `null` when none. */
  leader: number | null;
  logs: ReplicaLogLine[];
  running: RunningOperator | null;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  paused: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Starts `replicas` replicas of an operator and resolves once each has
 * started (its servers listen); see {@linkcode Replicas}. Ports are picked
 * in advance (bound to 0 and released); when a replica fails to start on a
 * port another process took meanwhile, everything started is stopped and
 * the harness starts over with new ports, up to three times.
 *
 * @example A complete test of the Website example, three processes
 * ```ts ignore
 * // Not run: it starts three operator processes of a main.ts beside the test.
 * import { it } from "node:test";
 * import { startReplicas, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { Website } from "./resources.ts";
 *
 * it("fails over", async () => {
 *   const server = await TestApiServer.start();
 *   await Website.install(server.kubeConfig(), { fieldManager: "test" });
 *   const replicas = await startReplicas({
 *     controlPlane: server,
 *     main: new URL("./main.ts", import.meta.url),
 *   });
 *   try {
 *     const leader = await replicas.waitForLeader();
 *     await replicas.kill(leader.id);
 *     await replicas.waitForLeader({ not: leader.id });
 *   } finally {
 *     await replicas.stop();
 *     await server.stop();
 *   }
 * });
 * ```
 */
export async function startReplicas(
  options: ReplicaOptions,
): Promise<Replicas> {
  const modes = [options.operator, options.main, options.command].filter((m) =>
    m !== undefined
  );
  if (modes.length !== 1) {
    throw new TypeError(
      `Expected exactly one of operator, main and command, found ${modes.length}`,
    );
  }
  const count = options.replicas ?? 3;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(
      `Expected replicas to be a positive integer, found ${count}`,
    );
  }
  const initial = options.initial ?? count;
  if (!Number.isInteger(initial) || initial < 0 || initial > count) {
    throw new RangeError(
      `Expected initial to be an integer from 0 to ${count}, found ${initial}`,
    );
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const replicas = await Replicas.create(options, count);
    try {
      await Promise.all(
        Array.from({ length: initial }, (_, id) => replicas.start(id)),
      );
      return replicas;
    } catch (error) {
      await replicas.stop();
      if (!(error instanceof PortTakenError)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

class PortTakenError extends ReplicaHarnessError {}

/**
 * Replicas of an operator started by {@linkcode startReplicas}. Every wait
 * has a deadline (the `timeoutMs` of the options, default 30 s) and its
 * error carries the tail of every replica's log. `stop()` (or `await
 * using`) ends every replica and removes the temporary files.
 *
 * @example Stopping: `stop()` on Node 22, or `await using` where supported
 * ```ts
 * import { type ControlPlane, startReplicas } from "@k8s-operator/k8s-operator/testing";
 * async function elects(server: ControlPlane, main: URL): Promise<void> {
 *   const replicas = await startReplicas({ controlPlane: server, main });
 *   try {
 *     await replicas.waitForLeader();
 *   } finally {
 *     await replicas.stop();
 *   }
 *   // Deno and Node 24: await using replicas = await startReplicas({ ... });
 * }
 * ```
 */
export class Replicas {
  /** A client of the control plane, for the test's own requests. */
  readonly client: KubeClient;
  /** The Raft shared secret the replicas use. */
  readonly secret: string;
  readonly #options: ReplicaOptions;
  readonly #slots: Slot[];
  readonly #dir: string;
  readonly #kubeconfigPath: string;
  readonly #waiters = new Set<() => void>();
  #stopped = false;

  private constructor(
    options: ReplicaOptions,
    init: { slots: Slot[]; dir: string },
  ) {
    this.#options = options;
    this.#slots = init.slots;
    this.#dir = init.dir;
    this.#kubeconfigPath = join(init.dir, "kubeconfig.yaml");
    this.client = KubeClient.fromKubeConfig(options.controlPlane.kubeConfig());
    this.secret = randomBytes(24).toString("hex");
  }

  /**
   * Picks ports and writes the kubeconfig; starts nothing. Use
   * {@linkcode startReplicas}.
   */
  static async create(
    options: ReplicaOptions,
    count: number,
  ): Promise<Replicas> {
    const ports = await freeLoopbackPorts(count);
    const dir = await mkdtemp(join(tmpdir(), "k8s-operator-replicas-"));
    const replicas = new Replicas(options, {
      dir,
      slots: ports.map((raftPort, id) => ({
        id,
        raftPort,
        httpPort: 0,
        role: "down",
        term: 0,
        leader: null,
        logs: [],
        running: null,
        child: null,
        exited: null,
        paused: false,
      })),
    });
    await writeFile(
      replicas.#kubeconfigPath,
      options.controlPlane.kubeConfigYaml(),
    );
    return replicas;
  }

  /** How many replicas there are. */
  get size(): number {
    return this.#slots.length;
  }

  /** The path of the kubeconfig file the process replicas read. */
  get kubeconfigPath(): string {
    return this.#kubeconfigPath;
  }

  /** The environment replica `id` runs with. */
  env(id: number): Record<string, string> {
    const statefulSet = this.#options.statefulSet;
    const addresses = this.#slots.map((s) => `${s.id}=127.0.0.1:${s.raftPort}`)
      .join(",");
    const identity: Record<string, string> = statefulSet
      ? {
        POD_NAME: `${statefulSet.name}-${id}`,
        NAMESPACE: statefulSet.namespace,
        RAFT_PORT: String(this.#slot(id).raftPort),
        RAFT_REPLICAS: String(this.#options.initial ?? this.#slots.length),
        REPLICA_PEER_ADDRESSES: addresses,
      }
      : {
        RAFT_NODE_ID: String(id),
        RAFT_PEERS: addresses,
      };
    return {
      ...identity,
      RAFT_SECRET: this.secret,
      RAFT_CLUSTER_ID: this.#options.clusterId ?? "harness",
      OPERATOR_HTTP_PORT: "0",
      KUBECONFIG: this.#kubeconfigPath,
      ...(this.#options.tickMs === undefined
        ? {}
        : { RAFT_TICK_MS: String(this.#options.tickMs) }),
      ...this.#options.env,
    };
  }

  /**
   * Starts replica `id` (again, after `kill` or `stop`, on the same Raft
   * port) and resolves once it listens.
   */
  async start(id: number): Promise<void> {
    const slot = this.#slot(id);
    if (slot.running !== null || slot.child !== null) {
      throw new ReplicaHarnessError(
        `Expected replica ${id} down, found it running`,
      );
    }
    this.#stopped = false;
    slot.role = "follower";
    slot.term = 0;
    slot.leader = null;
    if (this.#options.operator) await this.#startInProcess(slot);
    else await this.#startProcess(slot);
  }

  async #startInProcess(slot: Slot): Promise<void> {
    const record = (level: string) => (message: string, fields?: LogFields) =>
      this.#record(slot, { level, message, fields: fields ?? {} });
    const logger: Logger = {
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    };
    const env: Record<string, string | undefined> = { ...this.env(slot.id) };
    delete env.KUBECONFIG;
    const peerAddress = this.#options.statefulSet
      ? (id: number) => {
        const peer = this.#slots[id];
        return peer === undefined ? undefined : `127.0.0.1:${peer.raftPort}`;
      }
      : undefined;
    try {
      const running = await this.#options.operator!({
        env,
        kubeConfig: this.#options.controlPlane.kubeConfig(),
        hostname: "127.0.0.1",
        signals: false,
        logger,
        peerAddress,
      }).start();
      slot.running = running;
      slot.httpPort = running.httpPort;
      running.finished.catch(() => {}).finally(() => {
        if (slot.running === running) {
          slot.running = null;
          slot.role = "down";
          this.#notify();
        }
      });
    } catch (error) {
      slot.role = "down";
      if (/address already in use|EADDRINUSE|AddrInUse/i.test(String(error))) {
        throw new PortTakenError(
          `Expected replica ${slot.id} to listen (Raft on ${slot.raftPort}), found a port taken: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
      throw error;
    }
  }

  #argv(id: number): string[] {
    const command = this.#options.command;
    if (typeof command === "function") return [...command(id)];
    if (command) return [...command];
    const main = this.#options.main!;
    const path = main instanceof URL ? fileURLToPath(main) : main;
    return runtime === "deno" && /\.m?ts$/.test(path)
      ? [process.execPath, "run", "-A", path]
      : [process.execPath, path];
  }

  async #startProcess(slot: Slot): Promise<void> {
    const [command, ...args] = this.#argv(slot.id);
    const child = spawn(command, args, {
      env: { ...process.env, NO_COLOR: "1", ...this.env(slot.id) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    slot.child = child;
    slot.paused = false;
    slot.exited = new Promise<void>((resolve) => {
      child.once("exit", () => {
        if (slot.child === child) {
          slot.child = null;
          slot.role = "down";
          slot.httpPort = 0;
        }
        this.#notify();
        resolve();
      });
      child.once("error", (error) => {
        this.#record(slot, {
          level: "stderr",
          message: `could not start: ${error.message}`,
          fields: {},
        });
      });
    });
    const read = (stream: Readable, level: string) =>
      createInterface({ input: stream }).on("line", (text) => {
        let entry: Record<string, unknown> | null = null;
        if (text.startsWith("{")) {
          try {
            entry = JSON.parse(text);
          } catch {
            entry = null;
          }
        }
        if (entry !== null && typeof entry.message === "string") {
          const { level: entryLevel, message, ...fields } = entry;
          this.#record(slot, {
            level: String(entryLevel ?? level),
            message,
            fields: fields as LogFields,
          });
        } else if (text.trim() !== "") {
          this.#record(slot, { level, message: text, fields: {} });
        }
      });
    read(child.stdout!, "stdout");
    read(child.stderr!, "stderr");
    const started = this.#until(
      `replica ${slot.id} started`,
      () => {
        if (slot.logs.some((l) => l.message === "operator started")) {
          return true;
        }
        if (slot.child !== child) {
          const text = slot.logs.map((l) => l.message).join("\n");
          throw /address already in use|EADDRINUSE|AddrInUse/i.test(text)
            ? new PortTakenError(
              `Expected replica ${slot.id} to listen on ${slot.raftPort}, found the port taken`,
            )
            : new ReplicaHarnessError(
              `Expected replica ${slot.id} to start, found it exited`,
              this.#tail(),
            );
        }
        return false;
      },
    );
    await started;
  }

  #record(slot: Slot, line: ReplicaLogLine): void {
    slot.logs.push(line);
    if (line.message === "operator started") {
      slot.httpPort = Number(line.fields.httpPort ?? 0);
    } else if (line.message === "role changed") {
      slot.role = String(line.fields.role);
      slot.term = Number(line.fields.term);
      const leader = line.fields.leader;
      slot.leader = typeof leader === "number" ? leader : null;
    }
    this.#options.onLog?.(slot.id, line);
    this.#notify();
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves with `check`'s value once it is neither `undefined` nor
   * `false`, re-checking on every log line or exit (and every 50 ms, for
   * checks that ask the API server); rejects after the deadline.
   */
  async #until<T>(
    what: string,
    check: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs = this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  ): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new ReplicaHarnessError(
          `Expected ${what} within ${timeoutMs} ms, found ${this.#summary()}`,
          this.#tail(),
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(50, left));
        this.#waiters.add(wake);
      });
    }
  }

  #slot(id: number): Slot {
    const slot = this.#slots[id];
    if (slot === undefined) {
      throw new RangeError(
        `Expected a replica id from 0 to ${
          this.#slots.length - 1
        }, found ${id}`,
      );
    }
    return slot;
  }

  #summary(): string {
    return this.#slots.map((s) => `replica ${s.id} ${s.role} (term ${s.term})`)
      .join(", ");
  }

  #tail(lines = 15): string {
    return this.#slots.map((s) =>
      `--- replica ${s.id} (${s.role}), last ${
        Math.min(lines, s.logs.length)
      } of ${s.logs.length} log lines:\n` +
      s.logs.slice(-lines).map((l) =>
        `${l.level} ${l.message} ${safeJson(l.fields)}`
      ).join("\n")
    ).join("\n");
  }

  /**
   * Resolves with `check`'s value once it is neither `undefined` nor
   * `false`; `check` runs again on every log line, start and exit of any
   * replica (and every 50 ms). Rejects after the deadline, naming `what`.
   */
  waitFor<T>(
    what: string,
    check: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs?: number,
  ): Promise<T> {
    return this.#until(what, check, timeoutMs);
  }

  /**
   * Resolves once replica `id` says it is ready (`/readyz` answers 200): it
   * applied what the leader had committed and, restarted on memory storage,
   * was made a voter again (`RaftNode.readiness()`). A restarted replica is
   * a new member until then, and counts toward no quorum: a test that stops
   * another replica next waits for this, as a rolling update would.
   */
  waitForReady(
    id: number,
    options: { timeoutMs?: number } = {},
  ): Promise<void> {
    const slot = this.#slot(id);
    return this.#until(`replica ${id} ready`, async () => {
      if (slot.running !== null) return slot.running.readiness().ready;
      if (slot.child === null || slot.paused || slot.httpPort === 0) {
        return false;
      }
      try {
        const res = await fetch(`http://127.0.0.1:${slot.httpPort}/readyz`);
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    }, options.timeoutMs).then(() => {});
  }

  /** Where replica `id` stands, as its log last told. */
  state(id: number): ReplicaState {
    const slot = this.#slot(id);
    return {
      id,
      role: slot.role,
      term: slot.term,
      raftPort: slot.raftPort,
      httpPort: slot.httpPort,
      pid: slot.child?.pid,
    };
  }

  /** The started operator of replica `id` (in-process mode), else `null`. */
  running(id: number): RunningOperator | null {
    return this.#slot(id).running;
  }

  /** Every log entry replica `id` wrote so far, oldest first. */
  logs(id: number): readonly ReplicaLogLine[] {
    return this.#slot(id).logs;
  }

  /**
   * Resolves with the leader once a running replica says it leads, no
   * running replica has seen a higher term, and a majority of the replicas
   * (the leader counted) follow it in that term; `not` skips a replica (the
   * one just killed), `after` asks for a term above it. A leader no
   * follower heard yet may be the only one holding the cluster's membership
   * (a new cluster's first leader writes it), and then no other replica can
   * take over while it is paused or cut off: a test that stops the leader
   * it was given needs a leader others can replace.
   */
  waitForLeader(
    options: { not?: number; after?: number; timeoutMs?: number } = {},
  ): Promise<Leader> {
    return this.#until(
      `a leader${
        options.not === undefined ? "" : ` other than ${options.not}`
      }${
        options.after === undefined ? "" : ` in a term above ${options.after}`
      }`,
      () => {
        const up = this.#slots.filter((s) => s.role !== "down" && !s.paused);
        const top = Math.max(0, ...up.map((s) => s.term));
        const leader = up.find((s) =>
          s.role === "leader" && s.term === top && s.id !== options.not &&
          s.term > (options.after ?? -1)
        );
        if (leader === undefined) return undefined;
        const following =
          up.filter((s) =>
            s.id !== leader.id && s.term === leader.term &&
            s.leader === leader.id
          ).length;
        const majority = Math.floor(this.#slots.length / 2) + 1;
        return 1 + following < majority
          ? undefined
          : { id: leader.id, term: leader.term };
      },
      options.timeoutMs,
    );
  }

  /**
   * Resolves with the object once its `status.conditions` holds `type`
   * with `status` (default `"True"`) and, when `where` is given, `where`
   * holds too (e.g. a message naming a replica).
   */
  waitForCondition<T extends KubeObject = KubeObject>(
    target: { resource: ResourceType; name: string; namespace?: string },
    condition: {
      type: string;
      status?: "True" | "False" | "Unknown";
      where?: (object: T) => boolean;
      timeoutMs?: number;
    },
  ): Promise<T> {
    const status = condition.status ?? "True";
    const where = `${target.resource.kind} ${
      target.namespace ? `${target.namespace}/` : ""
    }${target.name}`;
    return this.#until(
      `${where} to have condition ${condition.type}=${status}`,
      async () => {
        let object: T;
        try {
          object = await this.client.get<T>(target.resource, target.name, {
            namespace: target.namespace,
          });
        } catch (error) {
          if (isApiError(error, 404)) return undefined;
          throw error;
        }
        const conditions = (object as { status?: { conditions?: unknown } })
          .status?.conditions;
        const found = Array.isArray(conditions) &&
          conditions.some((c) =>
            c?.type === condition.type && c?.status === status
          );
        return found && (condition.where?.(object) ?? true) && object;
      },
      condition.timeoutMs,
    );
  }

  /**
   * Kills replica `id` without a handover: SIGKILL in process mode; in
   * this process its Raft node stops at once (no transfer, no further
   * messages), then its servers close. Resolves once it is down.
   */
  async kill(id: number): Promise<void> {
    const slot = this.#slot(id);
    if (slot.child) {
      const exited = slot.exited;
      signal(slot.child, "SIGKILL");
      await exited;
    } else if (slot.running) {
      const running = slot.running;
      await running.node.stop({ transfer: false });
      slot.running = null;
      slot.role = "down";
      await running.stop().catch(() => {});
    }
    this.#notify();
  }

  /**
   * Stops replica `id` gracefully (SIGTERM in process mode; a leader hands
   * over first) and resolves once it is down.
   */
  async stop(id?: number): Promise<void> {
    if (id === undefined) return await this.#stopAll();
    const slot = this.#slot(id);
    if (slot.child) {
      const exited = slot.exited;
      if (slot.paused) signal(slot.child, "SIGCONT");
      signal(slot.child, "SIGTERM");
      await exited;
    } else if (slot.running) {
      const running = slot.running;
      await running.stop().catch(() => {});
      slot.running = null;
      slot.role = "down";
    }
    this.#notify();
  }

  /**
   * Freezes replica `id` (SIGSTOP; process mode only: a replica in this
   * process shares the test's event loop).
   */
  pause(id: number): void {
    const slot = this.#slot(id);
    if (!slot.child) {
      throw new ReplicaHarnessError(
        `Expected replica ${id} to run as a process to pause it, found ${
          slot.running ? "it in this process" : "it down"
        }`,
      );
    }
    signal(slot.child, "SIGSTOP");
    slot.paused = true;
    this.#notify();
  }

  /** Lets a paused replica run again (SIGCONT). */
  resume(id: number): void {
    const slot = this.#slot(id);
    if (!slot.child || !slot.paused) {
      throw new ReplicaHarnessError(
        `Expected replica ${id} paused, found it ${slot.role}`,
      );
    }
    signal(slot.child, "SIGCONT");
    slot.paused = false;
    this.#notify();
  }

  async #stopAll(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.#slots.map(async (slot) => {
      if (slot.child) {
        const exited = slot.exited;
        if (slot.paused) signal(slot.child, "SIGCONT");
        signal(slot.child, "SIGTERM");
        const timer = setTimeout(() => signal(slot.child, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      } else if (slot.running) {
        const running = slot.running;
        slot.running = null;
        await running.stop().catch(() => {});
      }
      slot.role = "down";
    }));
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** Stops every replica (as `stop()`), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stopAll();
  }
}

/**
 * Sends `name` to the child by its pid: Deno's `ChildProcess.kill` sends
 * nothing once it has sent a signal (so SIGCONT after SIGSTOP would be
 * lost). No-op once the child is gone.
 */
function signal(child: ChildProcess | null, name: NodeSignal): void {
  if (child?.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(child.pid, name);
  } catch (error) {
    if ((error as { code?: string }).code !== "ESRCH") throw error;
  }
}

type NodeSignal = "SIGKILL" | "SIGTERM" | "SIGSTOP" | "SIGCONT";

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
