/**
 * Figures of the pure Raft core, in memory (no I/O): commit throughput of a
 * three-node cluster with one proposal per round trip against 64 per round
 * trip (the batching ratio), and the ticks a five-node cluster takes to elect
 * a new leader after its leader crashes.
 *
 * Throughput is counted per second of CPU time used by this process (user +
 * system), so that other processes on a shared machine do not skew it; the
 * wall-clock rate is printed beside it.
 *
 * Run with `deno task bench:raft-core`.
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { MemoryStorage } from "../raft/memory_storage.ts";
import { RaftCore } from "../raft/core.ts";
import type { Message } from "../raft/types.ts";
import { reportRow, reportSamples } from "./_report.ts";

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Cluster {
  cores = new Map<number, RaftCore>();
  storages = new Map<number, MemoryStorage>();
  queue: Message[] = [];
  applied = 0;

  constructor(ids: number[], seed: number) {
    for (const id of ids) {
      const storage = new MemoryStorage();
      this.storages.set(id, storage);
      this.cores.set(
        id,
        new RaftCore({
          id,
          state: storage.load(),
          bootstrap: { voters: ids, learners: [] },
          random: seeded(seed * 100 + id),
        }),
      );
    }
  }

  flush(): void {
    for (const [id, core] of this.cores) {
      while (core.hasReady()) {
        const ready = core.ready();
        this.storages.get(id)!.save(ready);
        this.queue.push(...ready.messages);
        this.applied += ready.committedEntries.length;
        core.advance();
      }
    }
  }

  deliver(): void {
    this.flush();
    while (this.queue.length > 0) {
      for (const m of this.queue.splice(0)) this.cores.get(m.to)?.step(m);
      this.flush();
    }
  }

  leader(): number | undefined {
    for (const [id, core] of this.cores) {
      if (core.status().role === "leader") return id;
    }
    return undefined;
  }

  /** Ticks the new (empty) cluster until it has bootstrapped a leader. */
  bootstrap(): RaftCore {
    for (let t = 0; t < 1000 && this.leader() === undefined; t++) {
      for (const core of this.cores.values()) core.tick();
      this.deliver();
    }
    const id = this.leader();
    if (id === undefined) throw new Error("Expected a leader, found none");
    return this.cores.get(id)!;
  }
}

interface Rate {
  cpu: number;
  wall: number;
}

function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
}

function throughput(batch: number, total: number): Rate {
  const cluster = new Cluster([1, 2, 3], 1);
  const leader = cluster.bootstrap();
  cluster.deliver();
  cluster.applied = 0;
  const data = new Uint8Array(64);
  const start = performance.now();
  const startCpu = cpuSeconds();
  for (let done = 0; done < total; done += batch) {
    for (let i = 0; i < batch; i++) leader.propose(data);
    cluster.deliver();
  }
  if (cluster.applied < total * 3) {
    throw new Error(
      `Expected ${total * 3} entries applied, found ${cluster.applied}`,
    );
  }
  return {
    cpu: total / (cpuSeconds() - startCpu),
    wall: total / ((performance.now() - start) / 1000),
  };
}

function electionTicks(seed: number): number {
  const cluster = new Cluster([1, 2, 3, 4, 5], seed);
  const first = cluster.bootstrap().id;
  for (let t = 0; t < 30; t++) { // everyone holds the log
    for (const core of cluster.cores.values()) core.tick();
    cluster.deliver();
  }
  cluster.cores.delete(first);
  for (let ticks = 1; ticks < 1000; ticks++) {
    for (const core of cluster.cores.values()) core.tick();
    cluster.deliver();
    if (cluster.leader() !== undefined) return ticks;
  }
  return Infinity;
}

throughput(1, 2_000);
throughput(64, 10_000);
const single = throughput(1, 10_000);
const batched = throughput(64, 100_000);
const show = (r: Rate) =>
  `${Math.round(r.cpu)} entries per CPU second (${
    Math.round(r.wall)
  } per wall second)`;
console.log(`3 nodes, 1 proposal per round trip:   ${show(single)}`);
console.log(`3 nodes, 64 proposals per round trip: ${show(batched)}`);
console.log(`batching ratio (CPU): ${(batched.cpu / single.cpu).toFixed(1)}x`);

const ticks = Array.from({ length: 200 }, (_, i) => electionTicks(i + 1))
  .sort((a, b) => a - b);
console.log(
  `5 nodes, ticks from leader crash to new leader (electionTicks 10, 200 seeds): median ${
    ticks[100]
  }, p99 ${ticks[197]}, max ${ticks[199]}`,
);
reportRow({
  name:
    "Raft core, 3 nodes in memory: commit throughput per CPU second, 64 per round trip",
  unit: "entries/s",
  ours: batched.cpu,
  baseline: single.cpu,
  baselineName: "1 proposal per round trip",
  better: "higher",
});
reportRow({
  name: "Raft core, 5 nodes: ticks from leader crash to new leader, median",
  unit: "ticks",
  ours: ticks[100],
  better: "lower",
});
reportSamples({
  name: "core: ticks from crash to new leader (5 nodes)",
  unit: "ticks",
  samples: ticks,
});
