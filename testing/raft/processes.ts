/**
 * Runs Raft nodes as OS processes (`_node_process.ts`: a replicated
 * key-value store on the HTTP transport, with a leader guard) on loopback
 * for the multi-process tests, the Jepsen-style run and the benchmarks:
 * spawn, kill, signal, send commands, and await their JSON-line events with
 * deadlines. Library-internal: the harness's public part is `mod.ts`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import process from "node:process";
import assert from "node:assert/strict";
import { scriptCommand } from "../_script.ts";
import { wallClock } from "./wall_clock.ts";

const wall = wallClock();

/** One JSON line a node printed. */
export interface NodeEvent {
  event: string;
  id: number;
  t: number;
  [key: string]: unknown;
}

interface Watcher {
  match: (e: NodeEvent) => boolean;
  resolve: (e: NodeEvent) => void;
}

/** Why a {@linkcode NodeProcess.request} got no answer. */
export class NoAnswerError extends Error {
  /** `timeout`: no answer in time; `exited`: the process is gone. */
  readonly reason: "timeout" | "exited";
  constructor(reason: "timeout" | "exited", message: string) {
    super(message);
    this.name = "NoAnswerError";
    this.reason = reason;
  }
}

interface Request {
  resolve: (e: NodeEvent) => void;
  reject: (error: NoAnswerError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const SCRIPT = new URL("./_node_process.ts", import.meta.url);

/**
 * How long a wait for an event may take before the test fails. Generous:
 * on a loaded machine (many processes on two cores) Node children start in
 * seconds and a round trip on loopback can take hundreds of milliseconds.
 */
export const EVENT_TIMEOUT_MS = 30_000;

/** A running node process. */
export class NodeProcess {
  readonly id: number;
  readonly child: ChildProcess;
  readonly events: NodeEvent[] = [];
  readonly exited: Promise<number | null>;
  readonly #watchers = new Set<Watcher>();
  readonly #all: (e: NodeEvent) => void;
  readonly #requests = new Map<number, Request>();
  #rid = 0;
  #gone = false;

  constructor(
    id: number,
    config: Record<string, unknown>,
    all: (e: NodeEvent) => void,
  ) {
    this.id = id;
    this.#all = all;
    const { command, args } = scriptCommand(SCRIPT, [JSON.stringify(config)]);
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code) => {
        this.#gone = true;
        for (const [rid, r] of this.#requests) {
          clearTimeout(r.timer);
          this.#requests.delete(rid);
          r.reject(new NoAnswerError("exited", `Node ${id} exited`));
        }
        resolve(code);
      })
    );
    // Writes to a process that just died fail with EPIPE: its requests are
    // answered by the exit above.
    this.child.stdin!.on("error", () => {});
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      let e: NodeEvent;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      const request = e.event === "result"
        ? this.#requests.get(e.rid as number)
        : undefined;
      if (request !== undefined) {
        clearTimeout(request.timer);
        this.#requests.delete(e.rid as number);
        request.resolve(e);
        return;
      }
      this.events.push(e);
      this.#all(e);
      for (const w of this.#watchers) {
        if (w.match(e)) {
          this.#watchers.delete(w);
          w.resolve(e);
        }
      }
    });
  }

  /** The first event (already seen or future) matching `match`, within `timeoutMs`. */
  waitFor(
    match: (e: NodeEvent) => boolean,
    timeoutMs = EVENT_TIMEOUT_MS,
    since = 0,
  ): Promise<NodeEvent> {
    const seen = this.events.slice(since).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w: Watcher = {
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(w);
        reject(
          new Error(
            `Node ${this.id}: expected an event within ${timeoutMs} ms, found none`,
          ),
        );
      }, timeoutMs);
      this.#watchers.add(w);
    });
  }

  /** Sends a command; resolves with its `result` event. */
  command(
    cmd: Record<string, unknown>,
    timeoutMs = EVENT_TIMEOUT_MS,
  ): Promise<NodeEvent> {
    const rid = ++this.#rid;
    const since = this.events.length;
    this.child.stdin!.write(JSON.stringify({ ...cmd, rid }) + "\n");
    return this.waitFor(
      (e) => e.event === "result" && e.rid === rid,
      timeoutMs,
      since,
    );
  }

  /**
   * Sends a command and resolves with its `result` event, which (unlike
   * {@linkcode NodeProcess.command}'s) is not kept in `events`: for the
   * many requests of a long run. Rejects with {@linkcode NoAnswerError}
   * after `timeoutMs` or when the process exits first.
   */
  request(
    cmd: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<NodeEvent> {
    if (this.#gone) {
      return Promise.reject(
        new NoAnswerError("exited", `Node ${this.id} exited`),
      );
    }
    const rid = ++this.#rid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(rid);
        reject(
          new NoAnswerError(
            "timeout",
            `Node ${this.id}: expected an answer within ${timeoutMs} ms, found none`,
          ),
        );
      }, timeoutMs);
      this.#requests.set(rid, { resolve, reject, timer });
      this.child.stdin!.write(JSON.stringify({ ...cmd, rid }) + "\n");
    });
  }

  /** Sends a signal; to a process already gone, none. */
  signal(sig: NodeJS.Signals): void {
    if (this.#gone) return;
    try {
      process.kill(this.child.pid!, sig);
    } catch (error) {
      // It exited after all, and its exit is still on its way to us.
      if ((error as { code?: string }).code !== "ESRCH") throw error;
    }
  }
}

/** Options of a {@linkcode ProcessCluster}. */
export interface ProcessClusterOptions {
  voters: number[];
  storage?: "file" | "memory";
  tickMs?: number;
  electionTicks?: number;
  fsync?: boolean;
  /** Snapshot the state machine after this many applied entries. */
  snapshotEvery?: number;
  /** Peers talk through `link-<from>-<to>.url` files in `dir` (proxies). */
  proxied?: boolean;
  /** `local`: the broken build whose reads skip the read barrier. */
  reads?: "barrier" | "local" | "leader-local";
}

/** A set of node processes sharing one address directory. */
export class ProcessCluster {
  readonly procs = new Map<number, NodeProcess>();
  /** Every event of every process, in arrival order. */
  readonly events: NodeEvent[] = [];
  readonly #opts: ProcessClusterOptions;
  readonly #dir: string;
  readonly #listeners = new Set<(e: NodeEvent) => void>();

  private constructor(dir: string, options: ProcessClusterOptions) {
    this.#dir = dir;
    this.#opts = options;
  }

  /** The directory of address files and data directories. */
  get dir(): string {
    return this.#dir;
  }

  static async create(options: ProcessClusterOptions): Promise<ProcessCluster> {
    return new ProcessCluster(
      await mkdtemp(join(tmpdir(), "raft-cluster-")),
      options,
    );
  }

  /** Starts (or restarts) node `id` from its data directory. */
  start(id: number): NodeProcess {
    const p = new NodeProcess(id, {
      id,
      voters: this.#opts.voters,
      dataDir: join(this.#dir, `data-${id}`),
      clusterDir: this.#dir,
      storage: this.#opts.storage,
      tickMs: this.#opts.tickMs,
      electionTicks: this.#opts.electionTicks,
      fsync: this.#opts.fsync,
      snapshotEvery: this.#opts.snapshotEvery,
      proxied: this.#opts.proxied,
      reads: this.#opts.reads,
    }, (e) => {
      this.events.push(e);
      for (const l of this.#listeners) l(e);
    });
    this.procs.set(id, p);
    return p;
  }

  /** Calls `listener` with every event from now on; returns an unsubscribe. */
  onEvent(listener: (e: NodeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The first event from any process matching `match` after event number `since`. */
  waitFor(
    match: (e: NodeEvent) => boolean,
    options: { timeoutMs?: number; since?: number } = {},
  ): Promise<NodeEvent> {
    const seen = this.events.slice(options.since ?? 0).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const l = (e: NodeEvent) => {
        if (match(e)) {
          clearTimeout(timer);
          this.#listeners.delete(l);
          resolve(e);
        }
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(l);
        reject(
          new Error(
            `Expected a matching event within ${
              options.timeoutMs ?? EVENT_TIMEOUT_MS
            } ms, found none`,
          ),
        );
      }, options.timeoutMs ?? EVENT_TIMEOUT_MS);
      this.#listeners.add(l);
    });
  }

  /** Waits for a node whose guard says leader (after event `since`) and returns its id. */
  async waitForLeader(
    since = 0,
    timeoutMs = EVENT_TIMEOUT_MS,
  ): Promise<number> {
    const e = await this.waitFor(
      (e) => e.event === "guard" && e.leader === true && this.procs.has(e.id),
      { since, timeoutMs },
    );
    return e.id;
  }

  /** kill -9 and wait for the exit. */
  async kill(id: number): Promise<void> {
    const p = this.procs.get(id);
    if (p === undefined) return;
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.signal("SIGKILL");
    }
    const at = wall();
    await p.exited;
    this.procs.delete(id);
    // A killed guard says nothing after its death: close its interval there.
    this.events.push({ event: "guard", id, t: at, leader: false, end: at });
  }

  /** Throws node `id`'s data directory away (a lost volume); it must be down. */
  async wipe(id: number): Promise<void> {
    assert.ok(!this.procs.has(id), `node ${id} is running`);
    await rm(join(this.#dir, `data-${id}`), { recursive: true, force: true });
  }

  /** Kills every process and removes the directory. */
  async close(): Promise<void> {
    for (const id of [...this.procs.keys()]) await this.kill(id);
    await rm(this.#dir, { recursive: true, force: true });
  }

  /**
   * The intervals in which a guard said "leader", per node, from `guard`
   * events: `[start, end]`, with `end = Infinity` for one still open.
   */
  guardIntervals(): { id: number; start: number; end: number }[] {
    const out: { id: number; start: number; end: number }[] = [];
    for (const e of this.events) {
      if (e.event !== "guard") continue;
      if (e.leader === true) {
        out.push({ id: e.id, start: e.start as number, end: Infinity });
      } else {
        const open = out.findLast((i) => i.id === e.id && i.end === Infinity);
        if (open !== undefined) open.end = e.end as number;
      }
    }
    return out;
  }
}
