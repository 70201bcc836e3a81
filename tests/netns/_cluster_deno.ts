/**
 * A 3-replica example operator (or `replicas` of another main) on "hosts" in network namespaces
 * (`_lab_deno.ts`): the test API server in host `api`, replica `i` in host
 * `r<i>` with the StatefulSet pod name `website-operator-<i>`, resolving
 * its peers' DNS names through the lab's dnsmasq. Collects the processes'
 * JSON lines (`_replica_deno.ts`, `_apiserver_deno.ts`), waits on them
 * with deadlines, and checks the invariants over everything recorded:
 * no two replicas' guard intervals overlap, and every write the API server
 * received from a replica was dispatched by it while its guard said leader.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import { CLUSTER_DOMAIN, NetLab } from "./_lab_deno.ts";

/** The system clock all processes stamp their lines with. */
export const wall: () => number = wallClock();

/** The namespace the pods and Websites live in. */
export const NAMESPACE = "ops";
/** The StatefulSet and headless Service of the replicas. */
export const STATEFUL_SET = "website-operator";
const SERVICE = "website-operator-raft";
const REPLICA = fileURLToPath(new URL("./_replica_deno.ts", import.meta.url));
const API_SERVER = fileURLToPath(
  new URL("./_apiserver_deno.ts", import.meta.url),
);

/**
 * How long a wait for an event may take before the test fails: generous,
 * because the machine is shared and Deno processes start in seconds there.
 * It bounds waiting only; no assertion depends on it.
 */
export const WAIT_MS = 60_000;

/** One JSON line a process printed. */
export interface Line {
  event: string;
  t: number;
  id?: number;
  [key: string]: unknown;
}

/** A leader-guard interval of a replica, on the shared clock. */
export interface Interval {
  id: number;
  start: number;
  /** The last sample that found it leading; for an open one, now or the kill. */
  end: number;
  term: number;
  /** Whether the guard still says leader in a running process. */
  open: boolean;
}

/** The DNS name of replica `id`'s pod. */
export function podDnsName(id: number): string {
  return `${STATEFUL_SET}-${id}.${SERVICE}.${NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/** A process of the cluster and its lines. */
export class Proc {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** When it was killed (shared clock), for closing its open guard interval. */
  killedAt: number | null = null;

  constructor(child: ChildProcess, onLine: (line: Line) => void, echo: string) {
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => resolve(code))
    );
    createInterface({ input: child.stdout! }).on("line", (text) => {
      let line: Line;
      try {
        line = JSON.parse(text);
      } catch {
        console.error(`[${echo}] ${text}`);
        return;
      }
      this.lines.push(line);
      onLine(line);
    });
    createInterface({ input: child.stderr! }).on("line", (text) => {
      if (text.trim() !== "") console.error(`[${echo}] ${text}`);
    });
  }

  /** Whether the process has not exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** The operator's replicas and the API server, in a lab. */
export class NetCluster {
  readonly lab: NetLab;
  readonly api: Proc;
  /** Every process each replica ran, oldest first. */
  readonly replicas: Proc[][] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #ipHistory = new Map<string, number>();
  readonly #env: Record<string, string>;
  readonly #main: string;
  #rid = 0;

  private constructor(
    lab: NetLab,
    api: Proc,
    init: { env: Record<string, string>; main: string },
  ) {
    this.lab = lab;
    this.api = api;
    this.#env = init.env;
    this.#main = init.main;
  }

  /**
   * Makes the lab, starts the API server and three replicas, and waits for
   * the API server to be ready; `env` is added to the replicas' environment.
   * `options.main` is the replicas' main (default `_replica_deno.ts`: the
   * example operator), `options.replicas` their number (default 3).
   */
  static async start(
    env: Record<string, string> = {},
    options: { main?: string; replicas?: number } = {},
  ): Promise<NetCluster> {
    const replicas = options.replicas ?? 3;
    const lab = await NetLab.create({
      hosts: ["api", ...Array.from({ length: replicas }, (_, i) => `r${i}`)],
      search: [
        `${NAMESPACE}.svc.${CLUSTER_DOMAIN}`,
        `svc.${CLUSTER_DOMAIN}`,
        CLUSTER_DOMAIN,
      ],
    });
    try {
      const kubeconfig = join(lab.dir, "kubeconfig.json");
      let cluster: NetCluster | null = null;
      const apiChild = lab.spawn("api", process.execPath, [
        "run",
        "-A",
        API_SERVER,
        JSON.stringify({
          hostname: lab.host("api").ip,
          kubeconfig,
          namespace: NAMESPACE,
        }),
      ]);
      const api = new Proc(apiChild, () => cluster?.wake(), "api");
      cluster = new NetCluster(lab, api, {
        env: {
          ...env,
          KUBECONFIG: kubeconfig,
          NAMESPACE,
          RAFT_REPLICAS: String(replicas),
          RAFT_SERVICE: SERVICE,
          RAFT_SECRET: randomBytes(16).toString("hex"),
          RAFT_FOLLOW_STATEFULSET: "false",
          NO_COLOR: "1",
        },
        main: options.main ?? REPLICA,
      });
      await cluster.until(
        "the API server ready",
        () => api.lines.some((l) => l.event === "ready"),
      );
      for (let id = 0; id < replicas; id++) {
        lab.setRecord(podDnsName(id), lab.host(`r${id}`).ip);
        cluster.replicas.push([]);
        cluster.startReplica(id);
      }
      return cluster;
    } catch (error) {
      lab.destroy();
      throw error;
    }
  }

  /** Starts (again) the process of replica `id` in its host. */
  startReplica(id: number): Proc {
    const host = this.lab.host(`r${id}`);
    this.#ipHistory.set(host.ip, id);
    const child = this.lab.spawn(
      `r${id}`,
      process.execPath,
      ["run", "-A", this.#main],
      {
        env: {
          ...process.env,
          ...this.#env,
          POD_NAME: `${STATEFUL_SET}-${id}`,
        },
      },
    );
    const proc = new Proc(child, () => this.wake(), `r${id}`);
    this.replicas[id].push(proc);
    return proc;
  }

  /** The current process of replica `id`. */
  current(id: number): Proc {
    return this.replicas[id].at(-1)!;
  }

  /** Kills replica `id`'s process with SIGKILL; resolves once it exited. */
  async kill(id: number): Promise<void> {
    const proc = this.current(id);
    proc.killedAt = wall();
    proc.child.kill("SIGKILL");
    await proc.exited;
  }

  /** Re-checks every pending wait (called on every line). */
  wake(): void {
    for (const w of this.#waiters) {
      if (w.check()) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Resolves once `check` holds (re-checked on every line and every 100 ms). */
  until(
    what: string,
    check: () => boolean,
    timeoutMs: number = WAIT_MS,
  ): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const poll = setInterval(() => this.wake(), 100);
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        clearInterval(poll);
        reject(new Error(`Expected ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Sends a command to the API server; resolves with its result line. */
  async command(cmd: Record<string, unknown>): Promise<Line> {
    const rid = ++this.#rid;
    this.api.child.stdin!.write(JSON.stringify({ ...cmd, rid }) + "\n");
    let result: Line | undefined;
    await this.until(`the API server's answer to ${cmd.op}`, () => {
      result = this.api.lines.findLast((l) =>
        l.event === "result" && l.rid === rid
      );
      return result !== undefined;
    });
    if (!result!.ok) {
      throw new Error(`API server command ${cmd.op} failed: ${result!.error}`);
    }
    return result!;
  }

  /** Every line of every process of replica `id`, in order. */
  linesOf(id: number): Line[] {
    return this.replicas[id].flatMap((p) => p.lines);
  }

  /** Guard intervals of all replicas; open ones end now (or at their kill). */
  intervals(): Interval[] {
    const now = wall();
    const out: Interval[] = [];
    for (const [id, procs] of this.replicas.entries()) {
      for (const proc of procs) {
        let open: Line | null = null;
        for (const line of proc.lines) {
          if (line.event !== "guard") continue;
          if (line.leader) {
            open = line;
          } else {
            out.push({
              id,
              start: line.start as number,
              end: line.end as number,
              term: (open?.term as number) ?? -1,
              open: false,
            });
            open = null;
          }
        }
        if (open !== null) {
          out.push({
            id,
            start: open.start as number,
            end: proc.killedAt ?? (proc.running ? now : proc.lines.at(-1)!.t),
            term: open.term as number,
            open: proc.running,
          });
        }
      }
    }
    return out;
  }

  /** The replica whose guard says leader now (by its last guard line), if any. */
  guardHolder(): number | null {
    const open = this.intervals().filter((i) =>
      i.open && this.current(i.id).running
    );
    return open.length === 1 ? open[0].id : null;
  }

  /** The latest role line of each running replica. */
  roles(): (Line | null)[] {
    return this.replicas.map((procs) => {
      const proc = procs.at(-1)!;
      if (!proc.running) return null;
      return proc.lines.findLast((l) => l.event === "role") ?? null;
    });
  }

  /**
   * Whether the running replicas agree on one leader in one term, that
   * leader's guard holds, and every replica in `ids` is among them.
   */
  converged(ids: readonly number[] = [0, 1, 2]): boolean {
    const roles = this.roles();
    const seen = ids.map((id) => roles[id]);
    if (seen.some((r) => r === null)) return false;
    const term = seen[0]!.term;
    const leader = seen[0]!.leader;
    if (leader === null || leader === undefined) return false;
    return seen.every((r) => r!.term === term && r!.leader === leader) &&
      this.guardHolder() === leader;
  }

  /** The first `role` line of a replica becoming leader after `since`. */
  electedAfter(since: number, exclude: number): Line | undefined {
    for (const [id] of this.replicas.entries()) {
      if (id === exclude) continue;
      const line = this.linesOf(id).find((l) =>
        l.event === "role" && l.role === "leader" && l.t > since
      );
      if (line) return line;
    }
    return undefined;
  }

  /** The replica an address belonged to, or `null` (the API server, the test). */
  replicaOf(address: string): number | null {
    return this.#ipHistory.get(address) ?? null;
  }

  /** The writes the API server received, with the replica that sent each. */
  writes(): (Line & { replica: number | null })[] {
    return this.api.lines.filter((l) => l.event === "write").map((l) => ({
      ...l,
      replica: this.replicaOf(l.from as string),
    }));
  }

  /**
   * Throws unless (1) no two replicas' guard intervals overlap and (2)
   * every write the API server received from a replica is a write that
   * replica dispatched (the send its `x-netns-send` header names, same
   * method and path) while its guard said leader. The header names the very
   * send: matching by method, path and time instead (every Event is a POST
   * to one path) could pair a write with another send, and compared two
   * processes' clocks.
   */
  checkInvariants(): { intervals: number; writes: number } {
    const intervals = this.intervals();
    for (const a of intervals) {
      for (const b of intervals) {
        if (a.id < b.id && a.start <= b.end && b.start <= a.end) {
          throw new Error(
            `Guard intervals overlap: replica ${a.id} [${a.start}, ${a.end}] (term ${a.term}) and replica ${b.id} [${b.start}, ${b.end}] (term ${b.term})`,
          );
        }
      }
    }
    const sends = this.replicas.map((_, id) =>
      new Map(
        this.linesOf(id).filter((l) => l.event === "send").map((l) => [
          l.sendId as string,
          l,
        ]),
      )
    );
    let writes = 0;
    for (const w of this.writes()) {
      if (w.replica === null) continue;
      writes++;
      const send = w.sendId == null
        ? undefined
        : sends[w.replica].get(w.sendId as string);
      if (
        send === undefined || send.method !== w.method || send.path !== w.path
      ) {
        throw new Error(
          `Expected replica ${w.replica} to have dispatched the ${w.method} ${w.path} the API server received at ${w.t} (send ${w.sendId}), found no such write`,
        );
      }
      if (send.leader !== true) {
        throw new Error(
          `Expected replica ${w.replica} to lead when it dispatched ${w.method} ${w.path} (send ${w.sendId}) at ${send.t}, found its guard said not leader`,
        );
      }
    }
    return { intervals: intervals.length, writes };
  }

  /** Stops everything and removes the lab. */
  destroy(): void {
    this.lab.destroy();
  }
}
