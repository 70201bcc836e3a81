/**
 * A sharded operator's StatefulSet scaled 3 → 5 → 3 online, each replica
 * its own OS process (`deno run` of `_sharded_writes_main.ts`) with its own
 * Raft endpoint over HTTP on loopback, against the test API server, while
 * a steady stream of object changes runs. The replicas run as the
 * StatefulSet's pods (`POD_NAME`, `RAFT_REPLICAS=3`; the harness's
 * `statefulSet` mode), finding each other by ordinal at the harness's
 * ports in place of the headless Service's DNS names; the leader follows
 * the StatefulSet's `spec.replicas`. As `deploy/statefulset.yaml`
 * (`podManagementPolicy: Parallel`) makes Kubernetes do: scaling up, the
 * spec changes and pods 3 and 4 start at once (they wait as non-members,
 * are added as learners and promoted); scaling down, the spec changes,
 * pod 4 gets SIGTERM at once, while still a voter (racing the leader that
 * removes it from the membership), and pod 3 once the leader has removed
 * it (as when its kubelet is slower than the leader's watch). A stopped
 * pod's address then refuses connections, as its DNS name would answer
 * nothing.
 *
 * From the records (every holder's grant intervals and releases, the
 * releases each leader took in, every write each replica tried, every
 * write the API server received, on the system clock): no two replicas'
 * grants of a shard overlap, every write was sent under its writer's grant
 * of the object's shard, every object converges; the new ordinals get
 * their share and reconcile; the shards moved each way are at most 1.3
 * times the ideal (2 of every 5); and every moved shard was handed over
 * (a leader took in its old holder's release before granting it anew),
 * except where the records prove a stall before the new grant: every
 * grant of every replica lapsed at one instant (the leader stalled past
 * the grants, or a leader change), or the old holder held no shard at all
 * while its own event loop ran no timer for 100 ms or more (each replica
 * records such spans: a process starved of CPU, as a pod just started on
 * a loaded machine is). No handover is possible then; a shard waited out
 * while its holder ran and the others were renewed (a lost release, or a
 * member removed before its release arrived) fails. The time each moved
 * shard had no holder is printed. With `SHARD_RUNS_KEEP` set to a
 * directory, the run's records and every replica's log lines are copied
 * there. Deno-only: the replicas run `deno run` on a `.ts` main.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { env } from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardOf } from "../../sharding/mod.ts";
import {
  type Replicas,
  startReplicas,
  TestApiServer,
} from "../../testing/mod.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import { configMaps } from "../controller/_server.ts";
import {
  assertGrantsDisjoint,
  assertWritesFenced,
  readAllGrants,
  readWrites,
  type ServerWrite,
  serverWriteOf,
  unrecordedWrites,
} from "./_grants.ts";
import {
  createStatefulSet,
  scaleStatefulSet,
  ScalingRecords,
} from "./_scaling.ts";
import { createSites } from "./_records.ts";

const OBJECTS = 40;
const SHARDS = 32; // as _sharded_writes_main.ts
const NODES = [0, 1, 2, 3, 4];
/** Between two changes of the stream: 40 a second, every object once a second. */
const STREAM_GAP_MS = 25;
// The system clock, as the replicas read it.
const wall = wallClock();

/**
 * Patches `site-0`, `site-1`, … in turn, round after round (`data.v` is
 * `s<round>`), one every {@linkcode STREAM_GAP_MS} (a rate, not a wait for
 * anything), until `stop()`.
 */
class Stream {
  changes = 0;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(replicas: Replicas) {
    this.#done = (async () => {
      while (!this.#stopped) {
        const i = this.changes % OBJECTS;
        const v = `s${Math.floor(this.changes / OBJECTS)}`;
        await replicas.client.patch(configMaps, `site-${i}`, {
          data: { v },
        }, { namespace: "default" });
        this.changes++;
        await new Promise((resolve) => setTimeout(resolve, STREAM_GAP_MS));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

describe("a sharded operator StatefulSet of processes scaled 3 → 5 → 3 online", () => {
  let api: TestApiServer;
  let replicas: Replicas;
  let dir: string;
  let stream: Stream | undefined;
  let records: ScalingRecords;
  const server: ServerWrite[] = [];
  /** When each replica logged that the membership follows the StatefulSet, and its voters. */
  const followed: { id: number; at: number; voters: unknown }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "shard-scaling-processes-"));
    api = await TestApiServer.start({
      onRequest: (request) => {
        const write = serverWriteOf(request.path, wall());
        if (request.method === "PATCH" && write !== null) server.push(write);
      },
    });
    replicas = await startReplicas({
      controlPlane: api,
      replicas: 5,
      initial: 3,
      statefulSet: { name: "sop", namespace: "default" },
      main: new URL("./_sharded_writes_main.ts", import.meta.url),
      env: { SHARD_RUNS_DIR: dir },
      onLog: (id, line) => {
        appendFileSync(
          join(dir, `${id}.log.jsonl`),
          JSON.stringify({ at: wall(), ...line }) + "\n",
        );
        if (line.message === "membership follows the StatefulSet") {
          followed.push({ id, at: wall(), voters: line.fields.voters });
        }
      },
      // Only bounds waiting: five Deno processes starting, electing and
      // changing membership on a shared 2-core machine under --parallel.
      timeoutMs: 45_000,
    });
    await createStatefulSet(replicas.client, { name: "sop", replicas: 3 });
    records = new ScalingRecords({
      replicas,
      client: replicas.client,
      dir,
      wall,
      nodes: NODES,
      scaling: [3, 4],
      objects: OBJECTS,
      shards: SHARDS,
    });
    await createSites(replicas.client, OBJECTS);
    await records.converged("1");
  });

  after(async () => {
    await stream?.stop().catch(() => {});
    await replicas?.stop();
    await api?.stop();
    // SHARD_RUNS_KEEP=<dir>: the run's records (and every replica's log
    // lines, `<node>.log.jsonl`) are copied there, to study a failed run.
    const keep = env.SHARD_RUNS_KEEP;
    if (keep) {
      await cp(dir, join(keep, `run-${Date.now()}`), { recursive: true });
    }
    await rm(dir, { recursive: true, force: true });
  });

  const scale = (to: number) =>
    scaleStatefulSet(replicas.client, { name: "sop", replicas: to });

  it("scaled up: pods 3 and 4 start, join, take their share from the others, each handed over, with at most 1.3 × the ideal moves", async () => {
    const since = await records.settledOn([0, 1, 2]);
    stream = new Stream(replicas);
    await scale(5);
    await Promise.all([replicas.start(3), replicas.start(4)]);
    const until = await records.settledOn(NODES);
    console.log(`3 → 5: ${stream.changes} changes of the stream meanwhile`);
    await records.checkMoves("3 → 5", { since, until });
    await replicas.waitFor(
      "replicas 3 and 4 to write objects of the stream",
      async () => {
        const writes = await readWrites(dir, [3, 4]);
        return [3, 4].every((id) =>
          writes.some((w) => w.node === id && w.ok && w.t1 > until)
        );
      },
    );
  });

  it("scaled down: pod 4 gets SIGTERM while a voter, pod 3 once the leader removed it; their shards go to the others, each handed over, with at most 1.3 × the ideal moves", async () => {
    const since = await records.settledOn(NODES);
    const changes = stream!.changes;
    await scale(3);
    // Highest ordinal first. Pod 4's SIGTERM comes before the leader acts
    // (it leaves as a voter: its release rides on its heartbeat answers);
    // pod 3's once the leader has removed it from the membership (as when
    // its kubelet is slower than the leader's watch): it hears no
    // heartbeat then, so only the leader's handover before the removal
    // (`ShardRuntime.handOverTo`) spares its shards the wait for their
    // grants to run out.
    const termAt = wall();
    const stopped = [replicas.stop(4)];
    const removed = await replicas.waitFor(
      "the leader's log: membership follows the StatefulSet, voters 0..2",
      () =>
        followed.find((f) =>
          f.at > since && JSON.stringify(f.voters) === "[0,1,2]"
        ),
    );
    stopped.push(replicas.stop(3));
    // Bounded: a pod that outlives SIGTERM would be killed by the kubelet
    // (terminationGracePeriodSeconds) and fail here.
    await replicas.waitFor(
      "pods 4 and 3 to exit after SIGTERM",
      () => [3, 4].every((id) => replicas.state(id).role === "down"),
    );
    await Promise.all(stopped);
    const until = await records.settledOn([0, 1, 2]);
    console.log(
      `5 → 3: replica ${removed.id} (leader) removed 3 and 4 from the membership ${
        Math.round(removed.at - termAt)
      } ms after SIGTERM of 4; every shard on 0..2 ${
        Math.round(until - termAt)
      } ms after it; ${
        stream!.changes - changes
      } changes of the stream meanwhile`,
    );
    await records.checkMoves("5 → 3", { since, until });
  });

  it("over both: every object converges, no two replicas' grants of a shard overlap, every write was sent under its writer's grant", async () => {
    await stream!.stop();
    for (let i = 0; i < OBJECTS; i++) {
      await replicas.client.patch(configMaps, `site-${i}`, {
        data: { v: "final" },
      }, { namespace: "default" });
    }
    await records.converged("final");
    await replicas.waitFor(
      "every write the API server received recorded by its writer",
      async () =>
        unrecordedWrites(server, { replica: await readWrites(dir, NODES) })
          .length === 0,
    );
    const grants = await readAllGrants(dir, NODES);
    assertGrantsDisjoint(grants);
    assert.ok(server.length >= 2 * OBJECTS, "the API server recorded writes");
    assertWritesFenced(server, {
      replica: await readWrites(dir, NODES),
      grants,
      shardOf: (key) => shardOf(key, SHARDS),
    });
  });
});
