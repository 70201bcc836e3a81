/**
 * Raft runtime benchmarks with real processes on loopback (printed, not
 * asserted):
 *
 * - failover after `kill -9` of the leader: from the kill until another
 *   node's leader guard says "leader" (and until it is elected), p50/p99;
 * - handover on SIGTERM: from the signal until the next leader is elected
 *   and its guard says "leader", p50/p99;
 * - the disk's write + fdatasync latency (each commit waits for two: the
 *   leader's, then a follower's);
 * - committed key-value writes per second and commit latency p50/p99,
 *   3 processes with fsync on (and again with it off, to show what is the
 *   disk's), for 1, 8 and 64 concurrent clients (writers
 *   inside the leader process, each awaiting its write before the next, so
 *   the figures are Raft's and not a client transport's).
 *
 * Usage: `deno task bench:raft [kills] [handovers] [writes]`
 * (defaults 30, 30, 20000; a level of `c` clients runs
 * `min(writes, 200 * c)` writes). Environment: `BENCH_REPLICAS` (default 3)
 * and `BENCH_CLIENTS` (the client levels, default `1,8,64`).
 *
 * @module
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ProcessCluster } from "../testing/raft/processes.ts";
import { pct, raftFailover, raftHandover, stable } from "./_raft_failover.ts";
import { reportRow, reportSamples } from "./_report.ts";

const [kills = 30, handovers = 30, writes = 20_000] = process.argv.slice(2)
  .map(Number);
const replicas = Number(process.env.BENCH_REPLICAS ?? 3);
const voters = Array.from({ length: replicas }, (_, i) => i);
const clients = (process.env.BENCH_CLIENTS ?? "1,8,64").split(",").map(Number);

function line(name: string, values: number[], report = true): void {
  if (report) {
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
  }
  console.log(
    `${name.padEnd(34)} n=${String(values.length).padEnd(4)} p50=${
      pct(values, 0.5).toFixed(1)
    } ms  p99=${pct(values, 0.99).toFixed(1)} ms  max=${
      Math.max(...values).toFixed(1)
    } ms`,
  );
}

async function failover(c: ProcessCluster): Promise<void> {
  const { elected, guard } = await raftFailover(c, kills);
  line("failover, kill -9 → new leader", elected);
  line("failover, kill -9 → guard leader", guard);
}

async function handover(c: ProcessCluster): Promise<void> {
  const { elected, guard } = await raftHandover(c, handovers);
  line("handover, SIGTERM → new leader", elected);
  line("handover, SIGTERM → guard leader", guard);
}

async function throughput(
  c: ProcessCluster,
  options: { label: string; fsync: boolean },
): Promise<void> {
  for (const concurrency of clients) {
    const count = Math.min(writes, 200 * concurrency);
    // A leader change under load fails the run: try again on the next leader.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const leader = await stable(c);
      const p = c.procs.get(leader)!;
      const r = await p.command({ op: "load", count, concurrency }, 300_000);
      if (r.ok !== true) {
        console.log(
          `  (${concurrency} clients, attempt ${attempt}: ${r.error}: ${r.message})`,
        );
        continue;
      }
      const load = p.events.findLast((e) => e.event === "load")!;
      const rate = count / (load.seconds as number);
      const name = `writes, ${replicas} processes, fsync ${
        options.fsync ? "on" : "off"
      }, ${concurrency} clients`;
      reportRow({ name, unit: "writes/s", ours: rate, better: "higher" });
      for (const q of ["p50", "p99"] as const) {
        reportRow({
          name: `${name}, commit ${q}`,
          unit: "ms",
          ours: load[q] as number,
          better: "lower",
        });
      }
      const p50 = (load.p50 as number).toFixed(1);
      const p99 = (load.p99 as number).toFixed(1);
      console.log(
        `writes, ${options.label}, ${
          String(concurrency).padStart(2)
        } clients: ` +
          `${rate.toFixed(0)} writes/s  commit p50=${p50} ms  p99=${p99} ms`,
      );
      break;
    }
  }
}

async function fdatasyncLatency(dir: string): Promise<void> {
  const h = await open(join(dir, "fsync-probe"), "a");
  const times: number[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      await h.write(new Uint8Array(128));
      await h.datasync();
      times.push(performance.now() - t);
    }
  } finally {
    await h.close();
  }
  line("disk: 128-byte write + fdatasync", times, false);
}

const probeDir = await mkdtemp(join(tmpdir(), "raft-bench-"));
try {
  await fdatasyncLatency(probeDir);
} finally {
  await rm(probeDir, { recursive: true, force: true });
}
console.log(
  `Raft runtime, ${replicas} processes on loopback, tick 50 ms, election timeout 300–600 ms`,
);
const c = await ProcessCluster.create({ voters });
try {
  for (const id of voters) c.start(id);
  await stable(c);
  await throughput(c, { label: "fsync on ", fsync: true });
  if (kills > 0) await failover(c);
  if (handovers > 0) await handover(c);
} finally {
  await c.close();
}
// The same cluster without fsync: what the runtime costs apart from the disk.
const nosync = await ProcessCluster.create({ voters, fsync: false });
try {
  for (const id of voters) nosync.start(id);
  await stable(nosync);
  await throughput(nosync, { label: "fsync off", fsync: false });
} finally {
  await nosync.close();
}
