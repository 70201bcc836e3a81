/**
 * One Raft node as an OS process, for the multi-process tests and the
 * benchmarks. Configured by one JSON argument:
 *
 * `{ id, voters, dataDir, clusterDir, storage?: "file" | "memory",
 *    tickMs?, electionTicks?, fsync?, snapshotEvery?, proxied?,
 *    reads?: "barrier" | "local" | "leader-local" }`
 *
 * It listens on a free loopback port and writes its URL to
 * `clusterDir/<id>.url`, where peers look it up; with `proxied`, it sends
 * to peer `p` through the URL in `clusterDir/link-<id>-<p>.url` instead (a
 * proxy the test can cut: `tests/jepsen/_proxy.ts`). It prints JSON lines on
 * stdout (`listening`, `role`, `guard`, `result`, `snapshot` when the
 * state machine is snapshotted, `restore` when it is replaced by a
 * snapshot, `stopping`, `stopped` with the leader it handed to) and
 * takes commands as JSON lines on stdin (`put`, `get`, `cas`, `status`,
 * `members`, `transfer`, `load` of writes or reads, `trace`). A `put` or `cas` that fails says whether
 * it was `proposed`: `false` only when this node was not the leader and
 * never handed it to Raft (it certainly had no effect); `true` means its
 * outcome is unknown (it may still commit). `reads: "local"` and
 * `"leader-local"` are deliberately broken builds for the linearizability
 * test (see `brokenRead`). A probe samples the leader guard every 2 ms; each
 * `guard` line carries the interval `[start, end]` in which the guard said
 * "leader", as observed: the first and the last sample that found it so,
 * stamped on the system clock (`testing/raft/wall_clock.ts`), which all processes
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
import { setImmediate } from "node:timers";
import { LeaderElection } from "../../controller/leader_election.ts";
import { args, exit, onSignal } from "../../platform/mod.ts";
import { FileStorage } from "../../raft/file_storage.ts";
import { KeyValueStore, ReplicatedKv } from "../../raft/kv.ts";
import type { StateMachine } from "../../raft/kv.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { NotLeaderError } from "../../raft/errors.ts";
import { RaftNode } from "../../raft/node.ts";
import { HttpTransport } from "../../raft/transport.ts";
import { setTraceSink, type TraceEvent } from "../../raft/trace.ts";
import type { Storage } from "../../raft/storage.ts";
import { wallClock } from "./wall_clock.ts";

interface Config {
  id: number;
  voters: number[];
  dataDir: string;
  clusterDir: string;
  storage?: "file" | "memory";
  tickMs?: number;
  electionTicks?: number;
  fsync?: boolean;
  snapshotEvery?: number;
  proxied?: boolean;
  reads?: "barrier" | "local" | "leader-local";
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
      const name = config.proxied ? `link-${config.id}-${id}.url` : `${id}.url`;
      url = readFileSync(join(config.clusterDir, name), "utf8");
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
// The store, reporting snapshots taken and installed.
const stateMachine: StateMachine = {
  apply: (entry) => store.apply(entry),
  snapshot: () => {
    emit({ event: "snapshot" });
    return store.snapshot();
  },
  restore: (data) => {
    store.restore(data);
    emit({ event: "restore" });
  },
};
node = await RaftNode.start({
  id: config.id,
  storage,
  bootstrap: { voters: config.voters, learners: [] },
  stateMachine,
  snapshotEvery: config.snapshotEvery,
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
  // The leader it heard from before stopping (null when it was no leader or
  // the handover timed out): proof of the handover that does not depend on
  // when another process gets round to printing its own role change.
  const handedTo = wasLeader ? await node!.transferLeadership() : null;
  await node!.stop({ transfer: false });
  probe();
  emit({ event: "stopped", wasLeader, handedTo });
  await transport.close();
  exit(0);
});

function errorOf(error: unknown): Record<string, unknown> {
  const e = error as { name?: string; message?: string; leader?: number };
  return { error: e.name ?? "Error", message: e.message, leader: e.leader };
}

/**
 * Runs a write unless this node is not the leader: then it answers
 * `NotLeaderError` with `proposed: false` without handing anything to Raft,
 * so the caller knows the write had no effect. A failure once proposed
 * carries `proposed: true`: the entry may still commit.
 */
async function write(
  rid: unknown,
  run: () => Promise<Record<string, unknown>>,
): Promise<void> {
  const s = node!.status();
  if (s.role !== "leader") {
    emit({
      event: "result",
      rid,
      ...errorOf(new NotLeaderError(s.leader)),
      proposed: false,
    });
    return;
  }
  try {
    emit({ event: "result", rid, ...await run() });
  } catch (error) {
    emit({ event: "result", rid, ...errorOf(error), proposed: true });
  }
}

/**
 * The broken read paths: `local` answers from the local store on any node;
 * `leader-local` does so on a node whose core says it leads, with neither
 * the lease nor the wait for the commit index. Either answers with the term
 * it was served in.
 */
function brokenRead(key: string): { value: string | null; term: number } {
  const s = node!.status();
  if (config.reads === "leader-local" && s.role !== "leader") {
    throw new NotLeaderError(s.leader);
  }
  return { value: store.get(key) ?? null, term: s.term };
}

/**
 * `count` key-value operations by `concurrency` workers, each awaiting its
 * operation before the next: writes (`put`) or linearizable reads (`get`,
 * through the leader lease).
 */
async function load(
  count: number,
  options: { concurrency: number; kind: "put" | "get" },
): Promise<void> {
  const { concurrency, kind } = options;
  const latencies: number[] = [];
  let next = 0;
  let failed = false;
  const started = performance.now();
  const worker = async () => {
    while (next < count && !failed) {
      const i = next++;
      // A read through the lease answers without I/O: a worker that never
      // waited for the event loop would starve the node's clock and
      // sockets (its lease would lapse). A client over the network yields
      // between reads; so does this one, outside the measured latency.
      if (kind === "get") await new Promise((r) => setImmediate(r));
      const t = performance.now();
      try {
        if (kind === "get") await kv.get(`load-${i % 1000}`);
        else await kv.put(`load-${i % 1000}`, String(i));
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
    kind,
    count,
    seconds: elapsed / 1000,
    p50: latencies[Math.floor(latencies.length * 0.5)],
    p99: latencies[Math.floor(latencies.length * 0.99)],
  });
}

/**
 * `trace` with `on: true` starts recording the write path's stages
 * (`raft/trace.ts`); without, it stops and returns what was recorded, each
 * stage stamped on the shared wall clock.
 */
let recorded: TraceEvent[] = [];
function traceCommand(on: boolean): TraceEvent[] {
  const events = recorded;
  recorded = [];
  if (on) {
    setTraceSink((e) => recorded.push(e));
    return [];
  }
  setTraceSink(null);
  // The anchor itself: a difference of two reads in a row would be early
  // by any preemption between them.
  const offset = wall(0);
  return events.map((e) => ({ ...e, at: e.at + offset }));
}

const lines = createInterface({ input: process.stdin });
// The test process that started this one is gone: do not linger.
lines.on("close", () => exit(0));
lines.on("line", async (line) => {
  const cmd = JSON.parse(line) as Record<string, unknown>;
  const rid = cmd.rid;
  try {
    switch (cmd.op) {
      case "put":
        await write(rid, async () => {
          await kv.put(String(cmd.key), String(cmd.value));
          return { ok: true };
        });
        break;
      case "cas":
        await write(rid, async () => ({
          ok: await kv.compareAndSet(
            String(cmd.key),
            cmd.expected as string | null,
            cmd.value as string | null,
          ),
        }));
        break;
      case "get":
        // A broken read also says the term it was served in, so a stale
        // one can be traced to a leader already deposed.
        emit({
          event: "result",
          rid,
          ...config.reads === "barrier" || config.reads === undefined
            ? { value: await kv.get(String(cmd.key)) ?? null }
            : brokenRead(String(cmd.key)),
        });
        break;
      case "transfer":
        emit({
          event: "result",
          rid,
          leader: await node!.transferLeadership(
            cmd.to === undefined ? undefined : Number(cmd.to),
          ),
        });
        break;
      case "status":
        emit({ event: "result", rid, status: node!.status() });
        break;
      case "members":
        await node!.reconcileMembers(cmd.voters as number[], {
          timeoutMs: cmd.timeoutMs as number | undefined,
        });
        emit({ event: "result", rid, conf: node!.status().conf });
        break;
      case "load":
        await load(Number(cmd.count), {
          concurrency: Number(cmd.concurrency),
          kind: cmd.kind === "get" ? "get" : "put",
        });
        emit({ event: "result", rid, ok: true });
        break;
      case "trace":
        emit({ event: "result", rid, trace: traceCommand(cmd.on === true) });
        break;
    }
  } catch (error) {
    emit({ event: "result", rid, ...errorOf(error) });
  }
});
