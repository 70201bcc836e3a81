/**
 * Raft runtime benchmarks with real processes on loopback (printed, not
 * asserted):
 *
 * - the disk's write + fdatasync latency (what one commit waits for at
 *   least once: a follower's sync, while the leader's runs beside it), and
 *   the latency of `FileStorage.save` of a 64-entry batch in three logs at
 *   once (as three nodes on one disk), appended (`preallocate: 0`) and
 *   written over zeros written ahead (the default);
 * - committed key-value writes per second and commit latency p50/p99,
 *   with fsync on (and again with it off, to show what is the disk's), for
 *   1, 8 and 64 concurrent clients (writers inside the leader process, each
 *   awaiting its write before the next, so the figures are Raft's and not a
 *   client transport's), after 1,000 unmeasured writes (steady state: the
 *   code compiled hot, streams and files open);
 * - linearizable reads through the leader lease (no log round trip):
 *   latency p50/p99 and reads per second, 1 and 64 clients;
 * - failover after `kill -9` of the leader: from the kill until another
 *   node's leader guard says "leader" (and until it is elected), p50/p99;
 * - handover on SIGTERM: from the signal until the next leader is elected
 *   and its guard says "leader", p50/p99;
 * - the write path's goals (issue 18), each said to hold or not: 1 client
 *   commit p50 ≤ 1.5 ms (where the disk's fdatasync p50 is ≤ 0.3 ms) and
 *   ≥ 600 writes/s; 64 clients with fsync on ≥ 80 % of fsync off, p99 ≤ 20
 *   ms, and, with `--baseline`, ≥ 1.5× the baseline's.
 *
 * Usage: `deno task bench:raft [kills] [handovers] [writes] [--baseline DIR]`
 * (defaults 30, 30, 20000; a level of `c` clients runs
 * `min(writes, 200 * c)` writes). `--baseline DIR` first runs
 * `deno task bench:raft 0 0 <writes>` in the checkout `DIR` (the code before
 * issue 18, e.g. a worktree of commit 1d415a4) with 1 and 64 clients, and
 * compares. `--trace` instead prints the breakdown of one commit, stage by
 * stage, with fsync on and off (`bench/results/write_path.md`);
 * `BENCH_TRACE_DUMP=prefix` writes the raw stages to files. Environment:
 * `BENCH_REPLICAS` (default 3) and `BENCH_CLIENTS` (the client levels,
 * default `1,8,64`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ProcessCluster } from "../testing/raft/processes.ts";
import { FileStorage } from "../raft/file_storage.ts";
import { pct, raftFailover, raftHandover, stable } from "./_raft_failover.ts";
import { reportRow, reportSamples } from "./_report.ts";
import { breakdown, breakdownTable } from "./_write_path.ts";
import type { TraceEvent } from "../raft/trace.ts";

const argv = process.argv.slice(2);
const traceOnly = argv.includes("--trace");
const baselineAt = argv.indexOf("--baseline");
const baselineDir = baselineAt >= 0 ? argv[baselineAt + 1] : undefined;
const [kills = 30, handovers = 30, writes = 20_000] = argv
  .filter((a, i) =>
    !a.startsWith("--") && (baselineAt < 0 || i !== baselineAt + 1)
  )
  .map(Number);
const replicas = Number(process.env.BENCH_REPLICAS ?? 3);
const voters = Array.from({ length: replicas }, (_, i) => i);
const clients = (process.env.BENCH_CLIENTS ?? "1,8,64").split(",").map(Number);

/** What one load of writes or reads measured. */
interface Load {
  rate: number;
  p50: number;
  p99: number;
}

/** Per fsync setting, per client level: the writes measured. */
const measured = {
  on: new Map<number, Load>(),
  off: new Map<number, Load>(),
};

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

/** Runs `count` operations of `kind` by `concurrency` clients on the leader. */
async function run(
  c: ProcessCluster,
  work: { kind: "put" | "get"; count: number; concurrency: number },
): Promise<Load | null> {
  // A leader change under load fails the run: try again on the next leader.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const leader = await stable(c);
    const p = c.procs.get(leader)!;
    const r = await p.command({ op: "load", ...work }, 300_000);
    if (r.ok !== true) {
      console.log(
        `  (${work.concurrency} clients, attempt ${attempt}: ${r.error}: ${r.message})`,
      );
      continue;
    }
    const load = p.events.findLast((e) => e.event === "load")!;
    return {
      rate: work.count / (load.seconds as number),
      p50: load.p50 as number,
      p99: load.p99 as number,
    };
  }
  return null;
}

function report(name: string, load: Load, unit: string): void {
  reportRow({ name, unit, ours: load.rate, better: "higher" });
  for (const q of ["p50", "p99"] as const) {
    reportRow({
      name: `${name}, ${unit === "reads/s" ? "read" : "commit"} ${q}`,
      unit: "ms",
      ours: load[q],
      better: "lower",
    });
  }
}

async function throughput(c: ProcessCluster, fsync: boolean): Promise<void> {
  // Unmeasured: the code compiled hot, the streams and files open, as a
  // cluster that has been running is.
  await run(c, { kind: "put", count: Math.min(writes, 1000), concurrency: 8 });
  for (const concurrency of clients) {
    const count = Math.min(writes, 200 * concurrency);
    const load = await run(c, { kind: "put", count, concurrency });
    if (load === null) continue;
    measured[fsync ? "on" : "off"].set(concurrency, load);
    report(
      `writes, ${replicas} processes, fsync ${
        fsync ? "on" : "off"
      }, ${concurrency} clients`,
      load,
      "writes/s",
    );
    console.log(
      `writes, fsync ${fsync ? "on " : "off"}, ${
        String(concurrency).padStart(2)
      } clients: ${load.rate.toFixed(0)} writes/s  commit p50=${
        load.p50.toFixed(2)
      } ms  p99=${load.p99.toFixed(1)} ms`,
    );
  }
}

async function reads(c: ProcessCluster): Promise<void> {
  for (const concurrency of [1, 64]) {
    const count = Math.min(writes, 500 * concurrency);
    const load = await run(c, { kind: "get", count, concurrency });
    if (load === null) continue;
    report(
      `reads through the lease, ${replicas} processes, ${concurrency} clients`,
      load,
      "reads/s",
    );
    console.log(
      `reads (lease),  ${String(concurrency).padStart(2)} clients: ${
        load.rate.toFixed(0)
      } reads/s  p50=${load.p50.toFixed(3)} ms  p99=${load.p99.toFixed(2)} ms`,
    );
  }
}

async function fdatasyncLatency(dir: string): Promise<number> {
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
  return pct(times, 0.5);
}

/**
 * `FileStorage.save` of 64 entries of 40 bytes, 300 times in each of three
 * logs at once (three nodes on one disk), with `preallocate` bytes of zeros
 * written ahead (0: each save appends, growing the file).
 */
async function saveLatency(dir: string, preallocate: number): Promise<void> {
  const one = async (n: number): Promise<number[]> => {
    const storage = await FileStorage.open(join(dir, `${preallocate}-${n}`), {
      preallocate,
    });
    const times: number[] = [];
    let index = 1;
    try {
      for (let i = 0; i < 300; i++) {
        const entries = Array.from({ length: 64 }, () => ({
          index: index++,
          term: 1,
          type: "normal" as const,
          data: new Uint8Array(40).fill(index & 0xff),
        }));
        const t = performance.now();
        await storage.save({
          hardState: { term: 1, vote: 0, commit: index - 65 },
          entries,
          snapshot: null,
        });
        times.push(performance.now() - t);
      }
    } finally {
      await storage.close();
    }
    return times;
  };
  const times = (await Promise.all([0, 1, 2].map(one))).flat();
  line(
    `disk: save of 64 entries, 3 logs, ${
      preallocate === 0 ? "appended" : "over zeros"
    }`,
    times,
    false,
  );
}

/**
 * The baseline's writes per second with 1 and 64 clients, fsync on, from
 * its own `bench:raft` in `dir`, run now on this machine.
 */
async function baseline(dir: string): Promise<Map<number, number>> {
  console.log(`baseline: deno task bench:raft 0 0 ${writes} in ${dir}`);
  const env: Record<string, string | undefined> = {
    ...process.env,
    BENCH_CLIENTS: "1,64",
    BENCH_REPLICAS: String(replicas),
  };
  delete env.BENCH_RESULTS;
  const child = spawn("deno", ["task", "bench:raft", "0", "0", `${writes}`], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d) => out += String(d));
  await new Promise((resolve) => child.on("exit", resolve));
  const rates = new Map<number, number>();
  for (
    const m of out.matchAll(/fsync on\s*,\s*(\d+) clients: (\d+) writes\/s/g)
  ) {
    rates.set(Number(m[1]), Number(m[2]));
  }
  for (const l of out.split("\n")) {
    if (l.startsWith("writes,")) console.log(`baseline ${l}`);
  }
  return rates;
}

/** Says whether each goal of the write path holds in this run. */
function goals(
  disk: number,
  before: Map<number, number> | null,
): void {
  const on1 = measured.on.get(1);
  const on64 = measured.on.get(64);
  const off64 = measured.off.get(64);
  const verdict = (ok: boolean) => ok ? "holds" : "MISSED";
  console.log(
    `\ngoals (fdatasync p50 of this disk: ${disk.toFixed(2)} ms)${
      replicas === 3
        ? ""
        : `: set for 3 processes, shown for ${replicas} for comparison`
    }`,
  );
  if (on1 !== undefined) {
    console.log(
      `  1 client, fsync on: commit p50 ${on1.p50.toFixed(2)} ms ≤ 1.5 ms: ${
        disk > 0.3
          ? "not judged (the disk's fdatasync p50 is above 0.3 ms)"
          : verdict(on1.p50 <= 1.5)
      }; ${on1.rate.toFixed(0)} writes/s ≥ 600: ${verdict(on1.rate >= 600)}`,
    );
  }
  if (on64 !== undefined && off64 !== undefined) {
    const ratio = on64.rate / off64.rate;
    reportRow({
      name:
        `writes, ${replicas} processes, 64 clients: fsync on over fsync off`,
      unit: "×",
      ours: ratio,
      better: "higher",
    });
    console.log(
      `  64 clients: fsync on ${on64.rate.toFixed(0)} / off ${
        off64.rate.toFixed(0)
      } writes/s = ${(100 * ratio).toFixed(1)} % ≥ 80 %: ${
        verdict(ratio >= 0.8)
      }; commit p99 ${on64.p99.toFixed(1)} ms ≤ 20 ms: ${
        verdict(on64.p99 <= 20)
      }`,
    );
  }
  const was64 = before?.get(64);
  if (on64 !== undefined && was64 !== undefined) {
    reportRow({
      name: `writes, ${replicas} processes, fsync on, 64 clients, vs before`,
      unit: "writes/s",
      ours: on64.rate,
      baseline: was64,
      baselineName: "the write path before issue 18, run just before",
      better: "higher",
    });
    console.log(
      `  64 clients, fsync on: ${on64.rate.toFixed(0)} writes/s, ${
        (on64.rate / was64).toFixed(2)
      }× the baseline's ${was64} ≥ 1.5×: ${verdict(on64.rate >= 1.5 * was64)}`,
    );
  }
  const was1 = before?.get(1);
  if (on1 !== undefined && was1 !== undefined) {
    reportRow({
      name: `writes, ${replicas} processes, fsync on, 1 client, vs before`,
      unit: "writes/s",
      ours: on1.rate,
      baseline: was1,
      baselineName: "the write path before issue 18, run just before",
      better: "higher",
    });
  }
}

/**
 * One client's writes with every process recording the write path's
 * stages; prints the breakdown of a commit (`bench/results/write_path.md`).
 */
async function traced(c: ProcessCluster, label: string): Promise<void> {
  const count = Math.min(writes, 500);
  const leader = await stable(c);
  for (const p of c.procs.values()) await p.command({ op: "trace", on: true });
  const r = await c.procs.get(leader)!.command(
    { op: "load", kind: "put", count, concurrency: 1 },
    300_000,
  );
  const events: TraceEvent[] = [];
  for (const p of c.procs.values()) {
    const t = await p.command({ op: "trace" });
    events.push(...t.trace as TraceEvent[]);
  }
  if (r.ok !== true) throw new Error(`${r.error}: ${r.message}`);
  const dump = process.env.BENCH_TRACE_DUMP;
  if (dump) {
    await writeFile(
      `${dump}-${label.replace(/\W+/g, "-")}.json`,
      JSON.stringify({ leader, events }),
    );
  }
  const load = c.procs.get(leader)!.events.findLast((e) => e.event === "load")!;
  console.log(
    `\n${label}: ${count} writes of 1 client, commit p50 ${
      (load.p50 as number).toFixed(2)
    } ms (traced)\n`,
  );
  console.log(
    breakdownTable(
      breakdown(events, { leader, quorum: Math.floor(replicas / 2) + 1 }),
    ),
  );
}

const before = baselineDir === undefined ? null : await baseline(baselineDir);
const probeDir = await mkdtemp(join(tmpdir(), "raft-bench-"));
let disk: number;
try {
  disk = await fdatasyncLatency(probeDir);
  await saveLatency(probeDir, 0);
  await saveLatency(probeDir, 1 << 20);
} finally {
  await rm(probeDir, { recursive: true, force: true });
}
console.log(
  `Raft runtime, ${replicas} processes on loopback, tick 50 ms, election timeout 300–600 ms`,
);
if (traceOnly) {
  for (const fsync of [true, false]) {
    const t = await ProcessCluster.create({ voters, fsync });
    try {
      for (const id of voters) t.start(id);
      await traced(t, `${replicas} processes, fsync ${fsync ? "on" : "off"}`);
    } finally {
      await t.close();
    }
  }
  process.exit(0);
}
const c = await ProcessCluster.create({ voters });
try {
  for (const id of voters) c.start(id);
  await stable(c);
  await throughput(c, true);
  await reads(c);
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
  await throughput(nosync, false);
} finally {
  await nosync.close();
}
goals(disk, before);
