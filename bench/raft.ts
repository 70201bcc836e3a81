/**
 * Raft runtime benchmarks with real processes on loopback (printed, not
 * asserted):
 *
 * - failover after `kill -9` of the leader: from the kill until another
 *   node's leader guard says "leader" (and until it is elected), p50/p99;
 * - handover on SIGTERM: from the signal until the next leader is elected
 *   and its guard says "leader", p50/p99;
 * - committed key-value writes per second and commit latency p50/p99,
 *   3 processes with fsync on.
 *
 * Usage: `deno task bench:raft [kills] [handovers] [writes]`
 * (defaults 30, 20, 20000). Environment: `BENCH_REPLICAS` (default 3),
 * `BENCH_CLIENTS`, the concurrent writers to measure (default `1,8,64`;
 * each level writes at most `200 × clients` of the `writes`).
 *
 * @module
 */
import process from "node:process";
import { Cluster } from "../tests/raft/_cluster.ts";
import type { NodeEvent } from "../tests/raft/_cluster.ts";
import { reportRow, reportSamples } from "./_report.ts";

const [kills = 30, handovers = 20, writes = 20_000] = process.argv.slice(2)
  .map(Number);
const replicas = Number(process.env.BENCH_REPLICAS ?? 3);
const voters = Array.from({ length: replicas }, (_, i) => i);
const clients = (process.env.BENCH_CLIENTS ?? "1,8,64").split(",").map(Number);
const wall = () => performance.timeOrigin + performance.now();

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

function line(name: string, values: number[]): void {
  for (const p of [0.5, 0.99]) {
    reportRow({
      name: `${name}, ${replicas} replicas, p${p * 100}`,
      unit: "ms",
      ours: pct(values, p),
      better: "lower",
    });
  }
  reportSamples({
    name: `ours: ${name} (${replicas} replicas)`,
    unit: "ms",
    samples: values,
  });
  console.log(
    `${name.padEnd(34)} n=${String(values.length).padEnd(4)} p50=${
      pct(values, 0.5).toFixed(1)
    } ms  p99=${pct(values, 0.99).toFixed(1)} ms  max=${
      Math.max(...values).toFixed(1)
    } ms`,
  );
}

async function soleLeader(c: Cluster): Promise<number> {
  while (true) {
    const open = c.guardIntervals().filter((i) => i.end === Infinity);
    if (open.length === 1) return open[0].id;
    await c.waitFor((e) => e.event === "guard", { since: c.events.length });
  }
}

async function stable(c: Cluster): Promise<number> {
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

async function rejoin(c: Cluster, id: number): Promise<void> {
  const p = c.start(id);
  await p.waitFor((e: NodeEvent) => e.event === "role" && e.leader !== null);
}

async function failover(c: Cluster): Promise<void> {
  const guard: number[] = [];
  const elected: number[] = [];
  for (let i = 0; i < kills; i++) {
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
    elected.push(role.t - t0);
    guard.push((g.start as number) - t0);
    await rejoin(c, leader);
  }
  line("failover, kill -9 → new leader", elected);
  line("failover, kill -9 → guard leader", guard);
}

async function handover(c: Cluster): Promise<void> {
  const guard: number[] = [];
  const elected: number[] = [];
  for (let i = 0; i < handovers; i++) {
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
    elected.push(role.t - t0);
    guard.push((g.start as number) - t0);
    await p.exited;
    c.procs.delete(leader);
    await rejoin(c, leader);
  }
  line("handover, SIGTERM → new leader", elected);
  line("handover, SIGTERM → guard leader", guard);
}

async function throughput(c: Cluster): Promise<void> {
  for (const concurrency of clients) {
    const count = Math.min(writes, 200 * concurrency);
    const leader = await stable(c);
    const r = await c.procs.get(leader)!.command(
      { op: "load", count, concurrency },
      300_000,
    );
    const load = c.procs.get(leader)!.events.findLast((e) =>
      e.event === "load"
    )!;
    if (r.ok !== true) {
      console.log(`load failed: ${JSON.stringify(r)}`);
      continue;
    }
    const perSecond = count / (load.seconds as number);
    const name = `writes, ${replicas} processes, fsync, ${concurrency} clients`;
    reportRow({ name, unit: "writes/s", ours: perSecond, better: "higher" });
    for (const p of ["p50", "p99"] as const) {
      reportRow({
        name: `${name}, commit ${p}`,
        unit: "ms",
        ours: load[p] as number,
        better: "lower",
      });
    }
    console.log(
      `writes, ${replicas} processes, fsync, ${concurrency} in flight: ${
        perSecond.toFixed(0)
      } writes/s  commit p50=${(load.p50 as number).toFixed(1)} ms  p99=${
        (load.p99 as number).toFixed(1)
      } ms`,
    );
  }
}

const c = await Cluster.create({ voters });
try {
  for (const id of voters) c.start(id);
  await stable(c);
  console.log(
    `Raft runtime, ${replicas} processes on loopback, tick 50 ms, election timeout 300–600 ms`,
  );
  await throughput(c);
  await failover(c);
  await handover(c);
} finally {
  await c.close();
}
