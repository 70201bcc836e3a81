/**
 * The moving parts a chaos run watches: the conditions it waits for, the
 * request log joined with the replicas' write records (fencing checked on
 * each write as soon as both sides have reported it), and the replica
 * processes.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import type { ReceivedRequest } from "../../testing/mod.ts";
import {
  checkFencing,
  type LoggedRequest,
  WRITE_METHODS,
} from "./_invariants.ts";
import {
  EXIT_TIMEOUT_MS,
  joinRecord,
  logged,
  type ReplicaEvent,
  ReplicaProcess,
  within,
} from "./_replica_process_deno.ts";

/** Waits for conditions, re-checked on every event and every 250 ms. */
export class Conditions {
  readonly #listeners = new Set<() => void>();

  /** Something happened: every wait re-checks its condition. */
  readonly changed = (): void => {
    for (const l of [...this.#listeners]) l();
  };

  /** Resolves once `check` holds, re-checked on every event and every 250 ms. */
  async until<T>(
    what: string,
    check: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs: number,
  ): Promise<T> {
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
          this.#listeners.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(250, left));
        this.#listeners.add(wake);
      });
    }
  }
}

/**
 * The server's request log, each replica write joined with the record its
 * replica made of it; the fencing check runs on each write as soon as both
 * sides have reported it.
 */
export class WriteLog {
  /** Every request the server got, in order. */
  readonly requests: LoggedRequest[] = [];
  /** The fencing violations seen while the run goes on. */
  readonly online: string[] = [];
  /** Called on each replica write as the server gets it. */
  onWrite: ((r: LoggedRequest) => void) | null = null;
  /** The replicas' write records, by process and request number. */
  readonly #records = new Map<string, ReplicaEvent>();
  /** Writes the server got whose record has not arrived yet. */
  readonly #unmatched = new Map<string, LoggedRequest>();
  readonly #init: WriteLogInit;

  constructor(init: WriteLogInit) {
    this.#init = init;
  }

  /** The server got `request`. */
  received(request: ReceivedRequest): void {
    const r = logged(request, this.#init.wall());
    this.requests.push(r);
    if (!WRITE_METHODS.has(r.method) || r.workload) return;
    this.onWrite?.(r);
    const key = `${r.proc}:${r.seq}`;
    const record = this.#records.get(key);
    if (record === undefined) this.#unmatched.set(key, r);
    else {
      joinRecord(r, record);
      this.#checkOnline(r);
    }
  }

  /** A replica recorded one of its writes. */
  recorded(e: ReplicaEvent): void {
    const key = `${e.proc}:${e.seq}`;
    this.#records.set(key, e);
    const r = this.#unmatched.get(key);
    if (r !== undefined) {
      this.#unmatched.delete(key);
      joinRecord(r, e);
      this.#checkOnline(r);
    }
  }

  /** The fencing check on one write as soon as both sides have reported it. */
  #checkOnline(r: LoggedRequest): void {
    const found = checkFencing([r], [{
      replica: r.replica ?? -1,
      term: r.term ?? -1,
      start: -Infinity,
      end: Infinity,
    }]);
    if (found.length > 0) {
      this.online.push(...found);
      this.#init.out(`  VIOLATION ${found[0]}`);
      this.#init.changed();
    }
  }
}

/** What a {@linkcode WriteLog} is given. */
export interface WriteLogInit {
  /** The wall clock requests are stamped with. */
  wall: () => number;
  /** Where the narration goes. */
  out: (line: string) => void;
  /** Wakes the waits. */
  changed: () => void;
}

/** Whether `p` has said it started. */
export const started = (p: ReplicaProcess): boolean =>
  p.events.some((e) => e.message === "operator started");

/** The three replicas: every process started, and each one's latest. */
export class Replicas {
  /** Every process started, in order. */
  readonly procs: ReplicaProcess[] = [];
  /** The latest process of each replica. */
  readonly current = new Map<number, ReplicaProcess>();
  readonly #instances = [0, 0, 0];
  readonly #init: ReplicasInit;

  constructor(init: ReplicasInit) {
    this.#init = init;
  }

  /** Starts a process of replica `id`. */
  start(id: number): ReplicaProcess {
    const p = new ReplicaProcess(
      {
        id,
        instance: ++this.#instances[id],
        env: { ...Deno.env.toObject(), ...this.#init.envs[id] },
      },
      this.#init.onEvent,
    );
    this.procs.push(p);
    this.current.set(id, p);
    p.status.then(this.#init.changed);
    return p;
  }

  /** The replica whose guard leads now (latest guard line), if any. */
  leader(): ReplicaProcess | undefined {
    let best: ReplicaProcess | undefined;
    let bestTerm = -1;
    for (const p of this.current.values()) {
      if (p.exited || p.stopped) continue;
      const last = p.events.findLast((e) => e.event === "guard");
      if (last?.leading === true && Number(last.term) > bestTerm) {
        best = p;
        bestTerm = Number(last.term);
      }
    }
    return best;
  }

  /** Whether every running replica other than `p` answers `/readyz` with 200. */
  async othersReady(p: ReplicaProcess): Promise<boolean> {
    for (const other of this.current.values()) {
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
  }

  /** Adds an RSS sample of each running process. */
  async sampleRss(wall: () => number): Promise<void> {
    for (const p of this.current.values()) {
      if (p.exited) continue;
      try {
        const status = await readFile(`/proc/${p.child.pid}/status`, "utf8");
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
        if (kb > 0) p.rss.samples.push({ t: wall(), kb });
      } catch {
        // The process ended between the check and the read.
      }
    }
  }

  /**
   * Stops every replica gracefully; each must finish cleanly and exit.
   * Resolves with the ones that did not exit in time (killed instead).
   */
  async shutDown(): Promise<string[]> {
    const problems: string[] = [];
    for (const p of this.current.values()) {
      if (p.exited) continue;
      p.fate = "shutdown";
      if (p.stopped) p.signal("SIGCONT");
      p.signal("SIGTERM");
    }
    for (const p of this.current.values()) {
      const exited = await within(p.status, EXIT_TIMEOUT_MS);
      if (!exited) {
        problems.push(
          `Replica ${p.id} did not exit within ${EXIT_TIMEOUT_MS} ms of SIGTERM at the end`,
        );
        p.signal("SIGKILL");
        await p.status;
      }
    }
    return problems;
  }
}

/** What {@linkcode Replicas} is given. */
export interface ReplicasInit {
  /** Each replica's own environment (added to this process's). */
  envs: Record<string, string>[];
  /** Called on each event line of every process. */
  onEvent: (e: ReplicaEvent, p: ReplicaProcess) => void;
  /** Wakes the waits (when a process exits). */
  changed: () => void;
}
