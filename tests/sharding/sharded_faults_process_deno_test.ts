/**
 * Sharded controllers in real processes (`deno run`, Raft over HTTP on
 * loopback) against the test API server, under the faults a pod meets:
 * SIGSTOP past a grant and SIGCONT, SIGTERM of a follower and of the
 * leader, kill -9 of the leader of five. From the records (the writes the
 * API server received, who sent them, and the grant intervals each replica
 * reports, all on the system clock): no two replicas' grants of
 * a shard overlap, every write was sent under its writer's grant of the
 * object's shard, and every object converges. The handover and takeover
 * times are printed, not asserted. Deno-only: the replicas run `deno run`
 * on a `.ts` main (`_sharded_writes_main.ts`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "../../mod.ts";
import { shardOf } from "../../sharding/mod.ts";
import { configMaps } from "../controller/_server.ts";
import { createSites } from "./_records.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import {
  assertGrantsDisjoint,
  assertWritesFenced,
  handovers,
  percentile,
  readAllGrants,
  readWrites,
  type ReplicaGrants,
  type ReplicaWrite,
  type ServerWrite,
  serverWriteOf,
  takenOverAtCut,
  unrecordedWrites,
} from "./_grants.ts";
import {
  type Replicas,
  startReplicas,
  TestApiServer,
} from "../../testing/mod.ts";

const OBJECTS = 40;

async function lines(
  dir: string,
  node: number,
  file: string,
): Promise<{ key: string }[]> {
  const text = await readFile(join(dir, `${node}.${file}.jsonl`), "utf8")
    .catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}
const SHARDS = 32; // as _sharded_writes_main.ts
// The system clock, as the replicas read it (`performance.timeOrigin` can
// be off by milliseconds in a process started under load).
const wall = wallClock();

interface Cluster {
  replicas: Replicas;
  dir: string;
  server: ServerWrite[];
  nodes: number[];
}

let api: TestApiServer;
let serverWrites: ServerWrite[] = [];

async function startCluster(
  count: number,
  initial = count,
): Promise<Cluster> {
  serverWrites = [];
  const dir = await mkdtemp(join(tmpdir(), "shard-faults-"));
  const replicas = await startReplicas({
    controlPlane: api,
    replicas: count,
    initial,
    main: new URL("./_sharded_writes_main.ts", import.meta.url),
    env: { SHARD_RUNS_DIR: dir },
  });
  await createSites(replicas.client, OBJECTS);
  const nodes = [...Array(count).keys()];
  const cluster = { replicas, dir, server: serverWrites, nodes };
  await converged(cluster, "1");
  return cluster;
}

async function stopCluster(c: Cluster): Promise<void> {
  await c.replicas.stop();
  for (let i = 0; i < OBJECTS; i++) {
    for (const name of [`site-${i}`, `out-site-${i}`]) {
      await c.replicas.client.delete(configMaps, name, {
        namespace: "default",
      }).catch(() => {});
    }
  }
  await rm(c.dir, { recursive: true, force: true });
}

async function patchAll(c: Cluster, v: string): Promise<void> {
  for (let i = 0; i < OBJECTS; i++) {
    await c.replicas.client.patch(configMaps, `site-${i}`, {
      data: { v },
    }, { namespace: "default" });
  }
}

/** Waits until every `out-site-N` says `v` (the harness's 30 s only bounds the wait). */
async function converged(c: Cluster, v: string): Promise<void> {
  await c.replicas.waitFor(`every object written at v${v}`, async () => {
    const list = await c.replicas.client.list<
      KubeObject & { data?: { v?: string } }
    >(configMaps, { namespace: "default" });
    return list.items.filter((o) =>
      o.metadata.name?.startsWith("out-") && o.data?.v === v
    ).length === OBJECTS;
  });
}

/**
 * For each shard `node` held when it was sent SIGTERM at `at` (or, its
 * grants run out just before, those of its last grant): the handover from
 * its release to another replica's grant, or, for a shard whose grant ran
 * out before the release (a renewal stalled under load; nothing to
 * release then), the takeover after `at`. Handovers alone would find none
 * when every grant had lapsed, and a wait for them would never end.
 */
function handedOver(
  grants: ReadonlyMap<number, ReplicaGrants>,
  node: number,
  at: number,
): Map<number, number> {
  return new Map([
    ...takenOverAtCut(grants, node, at),
    ...handovers(grants, node, at),
  ]);
}

/** Waits until every shard in `times` has a finite time, and returns them. */
async function awaitAll(
  c: Cluster,
  what: string,
  times: () => Promise<Map<number, number>>,
): Promise<number[]> {
  return await c.replicas.waitFor(what, async () => {
    const t = await times();
    const values = [...t.values()];
    return values.length > 0 && values.every(Number.isFinite) && values;
  });
}

async function assertRecords(
  c: Cluster,
  killed: readonly number[] = [],
): Promise<void> {
  // A replica records its write after the answer: the object may say `v`
  // before the record is in the file.
  const unrecorded = (replica: ReplicaWrite[]) =>
    unrecordedWrites(c.server, { replica, killed });
  await c.replicas.waitFor(
    "every write the API server received recorded by its writer",
    async () => unrecorded(await readWrites(c.dir, c.nodes)).length === 0,
  ).catch(() => {});
  const replica = await readWrites(c.dir, c.nodes);
  assert.deepEqual(
    unrecorded(replica).map((w) => ({
      ...w,
      attempts: replica.filter((r) =>
        r.node === w.node && r.key === w.key && r.v === w.v
      ),
    })),
    [],
    "writes the API server received that their writer did not record (with the writer's attempts of that object and version)",
  );
  const grants = await readAllGrants(c.dir, c.nodes);
  assertGrantsDisjoint(grants);
  assert.ok(c.server.length >= OBJECTS, "the API server recorded the writes");
  assertWritesFenced(c.server, {
    replica,
    grants,
    shardOf: (key) => shardOf(key, SHARDS),
    killed,
  });
}

const ms = (values: readonly number[]) =>
  `p50 ${Math.round(percentile(values, 0.5))} ms, p99 ${
    Math.round(percentile(values, 0.99))
  } ms, max ${Math.round(Math.max(...values))} ms over ${values.length} shards`;

describe("sharded controllers in processes, under faults", () => {
  before(async () => {
    api = await TestApiServer.start({
      onRequest: (request) => {
        const write = serverWriteOf(request.path, wall());
        if (request.method === "PATCH" && write !== null) {
          serverWrites.push(write);
        }
      },
    });
  });
  after(async () => {
    await api.stop();
  });

  it("SIGSTOP of an owner past its grant, SIGCONT, then SIGTERM of the leader: no overlap, every object converges", async () => {
    const c = await startCluster(3);
    try {
      const { id: leader } = await c.replicas.waitForLeader();
      const victim = (leader + 1) % 3;
      // The victim is stopped in the middle of a reconcile that ignores its
      // signal: after SIGCONT it goes on to write, long after its grant.
      // Awaited, not read once: a renewal stalled under load can leave the
      // victim holding nothing for a moment.
      const slow = await c.replicas.waitFor(
        `replica ${victim} holds an object's shard`,
        async () => {
          const now = wall();
          const victimGrants = (await readAllGrants(c.dir, [victim])).get(
            victim,
          )!;
          return [...Array(OBJECTS).keys()].map((i) => `default/site-${i}`)
            .find((key) =>
              (victimGrants.intervals.get(shardOf(key, SHARDS)) ?? []).some((
                i,
              ) => i.end > now + 100)
            );
        },
      );
      const slowName = slow.split("/")[1];
      await c.replicas.client.patch(configMaps, slowName, {
        data: { v: `slow-${victim}` },
      }, { namespace: "default" });
      await c.replicas.waitFor(
        `replica ${victim} in the middle of reconciling ${slow}`,
        async () =>
          (await lines(c.dir, victim, "entered")).some((l) => l.key === slow),
      );
      const stoppedAt = wall();
      c.replicas.pause(victim);
      const taken = await awaitAll(
        c,
        `the shards of stopped replica ${victim} granted to the others`,
        async () =>
          takenOverAtCut(
            await readAllGrants(c.dir, c.nodes),
            victim,
            stoppedAt,
          ),
      );
      console.log(
        `SIGSTOP of a follower: its shards granted again ${
          ms(taken)
        } after the stop`,
      );
      await patchAll(c, "2");
      await converged(c, "2");
      const resumedAt = wall();
      c.replicas.resume(victim);
      const late = await c.replicas.waitFor(
        `replica ${victim}'s write of ${slow} after SIGCONT`,
        async () =>
          (await readWrites(c.dir, [victim])).find((w) =>
            w.key === slow && w.v === `slow-${victim}`
          ),
      );
      assert.ok(late.fenced, `the fence refused ${JSON.stringify(late)}`);
      assert.deepEqual(
        c.server.filter((w) => w.key === slow && w.node === victim).map((w) =>
          w.v
        ),
        ["1"],
        `the stopped replica wrote ${slow} only before it was stopped`,
      );
      await c.replicas.waitFor(
        `replica ${victim} granted shards again after SIGCONT`,
        async () => {
          const g = await readAllGrants(c.dir, [victim]);
          return [...g.get(victim)!.intervals.values()].some((list) =>
            list.some((i) => i.start > resumedAt)
          );
        },
      );
      await patchAll(c, "3");
      await converged(c, "3");
      const v3 = (await readWrites(c.dir, c.nodes)).filter((w) =>
        w.v === "3" && w.ok
      );
      assert.ok(
        v3.some((w) => w.node === victim),
        `replica ${victim} reconciles again after SIGCONT`,
      );

      const { id: last } = await c.replicas.waitForLeader();
      const termAt = wall();
      await c.replicas.stop(last);
      const handed = await awaitAll(
        c,
        `the shards of leader ${last} granted to the others after SIGTERM`,
        async () =>
          handedOver(await readAllGrants(c.dir, c.nodes), last, termAt),
      );
      console.log(
        `SIGTERM of the leader: per-shard handover (release to new grant; takeover for a lapsed grant) ${
          ms(handed)
        }`,
      );
      await patchAll(c, "4");
      await converged(c, "4");
      await assertRecords(c);
    } finally {
      await stopCluster(c);
    }
  });

  it("five replicas: kill -9 of the leader, SIGTERM of a follower, it rejoins, SIGSTOP of the leader and SIGCONT: no overlap, every object converges", async () => {
    const c = await startCluster(5);
    try {
      const { id: leader } = await c.replicas.waitForLeader();
      const killedAt = wall();
      await c.replicas.kill(leader);
      const taken = await awaitAll(
        c,
        `the shards of killed leader ${leader} granted to the others`,
        async () =>
          takenOverAtCut(await readAllGrants(c.dir, c.nodes), leader, killedAt),
      );
      console.log(
        `kill -9 of the leader of five: its shards granted again ${
          ms(taken)
        } after the kill`,
      );
      await patchAll(c, "3");
      await converged(c, "3");

      const { id: next } = await c.replicas.waitForLeader({ not: leader });
      const follower = c.nodes.find((n) => n !== leader && n !== next)!;
      const termAt = wall();
      await c.replicas.stop(follower);
      const handed = await awaitAll(
        c,
        `the shards of follower ${follower} granted to the others after SIGTERM`,
        async () =>
          handedOver(await readAllGrants(c.dir, c.nodes), follower, termAt),
      );
      console.log(
        `SIGTERM of a follower of five: per-shard handover (release to new grant; takeover for a lapsed grant) ${
          ms(handed)
        }`,
      );
      await patchAll(c, "4");
      await converged(c, "4");

      // It starts again (a new member: memory storage), is re-added, and
      // takes its share from the others (a scale-up from 3 to 4 running).
      const rejoinedAt = wall();
      await c.replicas.start(follower);
      await c.replicas.waitForReady(follower);
      // Every shard held again, not every release handed to another
      // replica: a leader elected meanwhile may move shards and move some
      // back to the replica that released them (its release is then no
      // handover, and waiting for one would never end).
      const moved = await c.replicas.waitFor(
        `replica ${follower} granted its share again, every shard held`,
        async () => {
          const grants = await readAllGrants(c.dir, c.nodes);
          const now = wall();
          const holds = (n: number, shard: number) =>
            (grants.get(n)!.intervals.get(shard) ?? []).some((i) =>
              i.start <= now && now < i.end
            );
          const share = [...grants.get(follower)!.intervals.values()].filter(
            (list) => list.some((i) => i.start > rejoinedAt && i.end > now),
          ).length;
          const unheld = [...Array(SHARDS).keys()].filter((shard) =>
            !c.nodes.some((n) => holds(n, shard))
          );
          const times = c.nodes.flatMap((n) => [
            ...handovers(grants, n, rejoinedAt).values(),
          ]).filter(Number.isFinite);
          return share >= 8 && unheld.length === 0 && times;
        },
      );
      console.log(
        `a replica joins (3 → 4 running): per-shard handover (release to new grant) ${
          ms(moved)
        }`,
      );
      await patchAll(c, "5");
      await converged(c, "5");
      assert.ok(
        (await readWrites(c.dir, [follower])).some((w) => w.v === "5" && w.ok),
        `replica ${follower} reconciles again`,
      );

      // SIGSTOP of the leader (as a partition would cut it off): the others
      // elect, wait out its grants, and take its shards; after SIGCONT it
      // is a stale leader until it hears the new term, and must grant
      // nothing to itself meanwhile.
      const { id: frozen } = await c.replicas.waitForLeader();
      const frozenAt = wall();
      c.replicas.pause(frozen);
      const retaken = await awaitAll(
        c,
        `the shards of stopped leader ${frozen} granted to the others`,
        async () =>
          takenOverAtCut(await readAllGrants(c.dir, c.nodes), frozen, frozenAt),
      );
      console.log(
        `SIGSTOP of the leader of five: its shards granted again ${
          ms(retaken)
        } after the stop`,
      );
      await patchAll(c, "6");
      await converged(c, "6");
      const thawedAt = wall();
      c.replicas.resume(frozen);
      await c.replicas.waitFor(
        `replica ${frozen} granted shards again after SIGCONT`,
        async () => {
          const g = await readAllGrants(c.dir, [frozen]);
          return [...g.get(frozen)!.intervals.values()].some((list) =>
            list.some((i) => i.start > thawedAt)
          );
        },
      );
      await patchAll(c, "7");
      await converged(c, "7");
      await assertRecords(c, [leader]);
    } finally {
      await stopCluster(c);
    }
  });
});
