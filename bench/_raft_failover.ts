/**
 * Failover and handover measurements of the Raft runtime with real
 * processes on loopback, shared by `bench:raft` and `bench:failover`.
 *
 * @module
 */
import type { NodeEvent, ProcessCluster } from "../testing/raft/processes.ts";
import { wallClock } from "../testing/raft/wall_clock.ts";

/**
 * Milliseconds on the system clock, as the node processes stamp their
 * events (`testing/raft/wall_clock.ts`: `performance.now()` anchored to
 * `Date.now()` where it turns over to a new millisecond), so a time from
 * the signal here to an event stamped there is read off one clock. The
 * error is each process's anchor (50 anchors taken over a second agreed
 * within 0.001 ms on the shared machine at load 6–7) plus any slewing of the
 * system clock between the anchors (NTP slews by at most 0.5 ms a second).
 * `performance.timeOrigin + performance.now()`, used before, is a separate
 * origin per process: Node takes its two readings apart, whole processes
 * 5–6 ms off under load.
 */
export const wall: () => number = wallClock();

/** The `p` quantile (0–1) of `values`. */
export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

/** Milliseconds from the signal until a new leader, per run. */
export interface Takeovers {
  /** Until another node's Raft role became leader. */
  elected: number[];
  /** Until another node's leader guard said "leader" (reconciles may start). */
  guard: number[];
}

async function soleLeader(c: ProcessCluster): Promise<number> {
  while (true) {
    const open = c.guardIntervals().filter((i) => i.end === Infinity);
    if (open.length === 1) return open[0].id;
    await c.waitFor((e) => e.event === "guard", { since: c.events.length });
  }
}

/** Waits for one guard leader that commits a write; returns its id. */
export async function stable(c: ProcessCluster): Promise<number> {
  while (true) {
    const leader = await soleLeader(c);
    const r = await c.procs.get(leader)!.command({
      op: "put",
      key: "probe",
      value: String(wall()),
    });
    if (r.ok === true) return leader;
    await c.waitFor((e) => e.event === "guard", { since: c.events.length });
  }
}

async function rejoin(c: ProcessCluster, id: number): Promise<void> {
  const p = c.start(id);
  await p.waitFor((e: NodeEvent) => e.event === "role" && e.leader !== null);
}

/** `runs` times: kill -9 the leader, time the takeover, restart the node. */
export async function raftFailover(
  c: ProcessCluster,
  runs: number,
): Promise<Takeovers> {
  const out: Takeovers = { elected: [], guard: [] };
  for (let i = 0; i < runs; i++) {
    const leader = await stable(c);
    const since = c.events.length;
    const t0 = wall();
    await c.kill(leader);
    const role = await c.waitFor(
      (e) => e.event === "role" && e.role === "leader" && e.id !== leader,
      { since },
    );
    const g = await c.waitFor(
      (e) => e.event === "guard" && e.leader === true && e.id !== leader,
      { since },
    );
    out.elected.push(role.t - t0);
    out.guard.push((g.start as number) - t0);
    await rejoin(c, leader);
  }
  return out;
}

/** `runs` times: SIGTERM the leader, time the handover, restart the node. */
export async function raftHandover(
  c: ProcessCluster,
  runs: number,
): Promise<Takeovers> {
  const out: Takeovers = { elected: [], guard: [] };
  for (let i = 0; i < runs; i++) {
    const leader = await stable(c);
    const p = c.procs.get(leader)!;
    const since = c.events.length;
    const t0 = wall();
    p.signal("SIGTERM");
    const role = await c.waitFor(
      (e) => e.event === "role" && e.role === "leader" && e.id !== leader,
      { since },
    );
    const g = await c.waitFor(
      (e) => e.event === "guard" && e.leader === true && e.id !== leader,
      { since },
    );
    out.elected.push(role.t - t0);
    out.guard.push((g.start as number) - t0);
    await p.exited;
    c.procs.delete(leader);
    await rejoin(c, leader);
  }
  return out;
}
