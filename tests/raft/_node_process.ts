/**
 * One Raft node as an OS process, for the multi-process tests and the
 * benchmarks. Configured by one JSON argument:
 *
 * `{ id, voters, dataDir, clusterDir, storage?: "file" | "memory",
 *    tickMs?, electionTicks?, fsync? }`
 *
 * It listens on a free loopback port and writes its URL to
 * `clusterDir/<id>.url`, where peers look it up. It prints JSON lines on
 * stdout (`listening`, `role`, `guard`, `result`, `stopping`, `stopped`) and
 * takes commands as JSON lines on stdin (`put`, `get`, `cas`, `status`,
 * `members`, `load`). A probe samples the leader guard every 2 ms; each
 * `guard` line carries the interval `[start, end]` in which the guard said
 * "leader", as observed: the first and the last sample that found it so,
 * stamped on the system clock (`_wall_clock.ts`), which all processes
 * share. A sample sees the guard no earlier than it turned true and no later
 * than it turned false, so an interval lies within the truth: sampling can
 * hide an overlap shorter than a sampling gap, never invent one.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import process from "node:process";
import { LeaderElection } from "../../controller/leader_election.ts";
import { args, exit, onSignal } from "../../platform/mod.ts";
import { FileStorage } from "../../raft/file_storage.ts";
import { KeyValueStore, ReplicatedKv } from "../../raft/kv.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import { HttpTransport } from "../../raft/transport.ts";
import type { Storage } from "../../raft/storage.ts";
import { wallClock } from "./_wall_clock.ts";

interface Config {
  id: number;
  voters: number[];
  dataDir: string;
  clusterDir: string;
  storage?: "file" | "memory";
  tickMs?: number;
  electionTicks?: number;
  fsync?: boolean;
}

const config = JSON.parse(args()[0]) as Config;
const wall = wallClock();
const emit = (event: Record<string, unknown>) =>
  console.log(JSON.stringify({ ...event, id: config.id, t: wall() }));

const urls = new Map<number, string>();
function peerUrl(id: number): string | undefined {
  let url = urls.get(id);
  if (url === undefined) {
    try {
      url = readFileSync(join(config.clusterDir, `${id}.url`), "utf8");
      urls.set(id, url);
    } catch {
      return undefined;
    }
  }
  return url;
}

const election = new LeaderElection(config.id, { requireLease: true });
const guard = election.guard();
let node: RaftNode | null = null;
const transport = new HttpTransport({
  id: config.id,
  clusterId: "test-cluster",
  secret: "test-secret",
  peerUrl,
  onMessages: (messages) => node?.receive(messages),
  onSendError: (peer) => urls.delete(peer),
});
const port = await transport.listen({ port: 0, hostname: "127.0.0.1" });

const storage: Storage = config.storage === "memory"
  ? new MemoryStorage()
  : await FileStorage.open(config.dataDir, { fsync: config.fsync ?? true });
const store = new KeyValueStore();
node = await RaftNode.start({
  id: config.id,
  storage,
  bootstrap: { voters: config.voters, learners: [] },
  stateMachine: store,
  send: (messages) => transport.send(messages),
  tickMs: config.tickMs,
  electionTicks: config.electionTicks,
  election,
});
const kv = new ReplicatedKv(node, store);
node.onRoleChange((c) => emit({ event: "role", ...c }));
transport.connect(config.voters);

let guardStart: number | null = null;
let guardLast = 0;
function probe(): void {
  const t = wall();
  if (guard.isLeader()) {
    if (guardStart === null) {
      guardStart = t;
      emit({ event: "guard", leader: true, start: t, term: guard.term });
    }
    guardLast = t;
  } else if (guardStart !== null) {
    emit({ event: "guard", leader: false, start: guardStart, end: guardLast });
    guardStart = null;
  }
}
setInterval(probe, 2);
election.subscribe(() => probe());

const url = `http://127.0.0.1:${port}`;
const file = join(config.clusterDir, `${config.id}.url`);
await writeFile(`${file}.tmp`, url);
await rename(`${file}.tmp`, file);
emit({ event: "listening", url, term: node.status().term });

let stopping = false;
onSignal("SIGTERM", async () => {
  if (stopping) return;
  stopping = true;
  const wasLeader = node!.status().role === "leader";
  emit({ event: "stopping", wasLeader });
  await node!.stop({ transfer: true });
  probe();
  emit({ event: "stopped", wasLeader });
  await transport.close();
  exit(0);
});

function errorOf(error: unknown): Record<string, unknown> {
  const e = error as { name?: string; message?: string; leader?: number };
  return { error: e.name ?? "Error", message: e.message, leader: e.leader };
}

async function load(count: number, concurrency: number): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let failed = false;
  const started = performance.now();
  const worker = async () => {
    while (next < count && !failed) {
      const i = next++;
      const t = performance.now();
      try {
        await kv.put(`load-${i % 1000}`, String(i));
      } catch (error) {
        failed = true; // the other workers stop too
        throw error;
      }
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  emit({
    event: "load",
    count,
    seconds: elapsed / 1000,
    p50: latencies[Math.floor(latencies.length * 0.5)],
    p99: latencies[Math.floor(latencies.length * 0.99)],
  });
}

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const cmd = JSON.parse(line) as Record<string, unknown>;
  const rid = cmd.rid;
  try {
    switch (cmd.op) {
      case "put":
        await kv.put(String(cmd.key), String(cmd.value));
        emit({ event: "result", rid, ok: true });
        break;
      case "cas":
        emit({
          event: "result",
          rid,
          ok: await kv.compareAndSet(
            String(cmd.key),
            cmd.expected as string | null,
            cmd.value as string | null,
          ),
        });
        break;
      case "get":
        emit({
          event: "result",
          rid,
          value: await kv.get(String(cmd.key)) ?? null,
        });
        break;
      case "status":
        emit({ event: "result", rid, status: node!.status() });
        break;
      case "members":
        await node!.reconcileMembers(cmd.voters as number[]);
        emit({ event: "result", rid, conf: node!.status().conf });
        break;
      case "load":
        await load(Number(cmd.count), Number(cmd.concurrency));
        emit({ event: "result", rid, ok: true });
        break;
    }
  } catch (error) {
    emit({ event: "result", rid, ...errorOf(error) });
  }
});
