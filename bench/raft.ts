/**
 * Raft runtime benchmarks with real processes on loopback (printed, not
 * asserted):
 *
 * - failover after `kill -9` of the leader: from the kill until another
 *   node's leader guard says "leader" (and until it is elected), p50/p99;
 * - handover on SIGTERM: from the signal until the next leader is elected
 *   and its guard says "leader", p50/p99;
 * - committed key-value writes per second and commit latency p50/p99,
 *   3 processes with fsync on, for 1, 8 and 64 concurrent clients (writers
 *   inside the leader process, each awaiting its write before the next, so
 *   the figures are Raft's and not a client transport's).
 *
 * Usage: `deno task bench:raft [kills] [handovers] [writes]`
 * (defaults 30, 30, 20000; a level of `c` clients runs
 * `min(writes, 1000 * c)` writes).
 *
 * @module
 */
import process from "node:process";
import { Cluster } from "../tests/raft/_cluster.ts";
import { pct, raftFailover, raftHandover, stable } from "./_raft_failover.ts";

const [kills = 30, handovers = 30, writes = 20_000] = process.argv.slice(2)
  .map(Number);

function line(name: string, values: number[]): void {
  console.log(
    `${name.padEnd(34)} n=${String(values.length).padEnd(4)} p50=${
      pct(values, 0.5).toFixed(1)
    } ms  p99=${pct(values, 0.99).toFixed(1)} ms  max=${
      Math.max(...values).toFixed(1)
    } ms`,
  );
}

async function failover(c: Cluster): Promise<void> {
  const { elected, guard } = await raftFailover(c, kills);
  line("failover, kill -9 → new leader", elected);
  line("failover, kill -9 → guard leader", guard);
}

async function handover(c: Cluster): Promise<void> {
  const { elected, guard } = await raftHandover(c, handovers);
  line("handover, SIGTERM → new leader", elected);
  line("handover, SIGTERM → guard leader", guard);
}

async function throughput(c: Cluster): Promise<void> {
  for (const concurrency of [1, 8, 64]) {
    const count = Math.min(writes, 1000 * concurrency);
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
    console.log(
      `writes, 3 processes, fsync, ${
        String(concurrency).padStart(2)
      } clients: ${(count / (load.seconds as number)).toFixed(0)}
      } writes/s  commit p50=${(load.p50 as number).toFixed(1)} ms  p99=${
        (load.p99 as number).toFixed(1)
      } ms`,
    );
  }
}

const c = await Cluster.create({ voters: [0, 1, 2] });
try {
  for (const id of [0, 1, 2]) c.start(id);
  await stable(c);
  console.log(
    "Raft runtime, 3 processes on loopback, tick 50 ms, election timeout 300–600 ms",
  );
  await throughput(c);
  await failover(c);
  await handover(c);
} finally {
  await c.close();
}
