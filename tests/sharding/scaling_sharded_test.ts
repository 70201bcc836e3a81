/**
 * A sharded operator's StatefulSet scaled 3 → 5 → 3 online: replicas in
 * this process as the pods of a StatefulSet (the leader follows its
 * `spec.replicas`: new ordinals join as learners and are promoted, removed
 * ones leave the membership), Raft over HTTP on loopback, the test API
 * server. Objects are written while the membership changes. From the
 * records (every holder's grant intervals, every write each replica tried,
 * every write the API server received, on one clock): no two replicas'
 * grants of a shard overlap, every write was sent under its writer's grant
 * of the object's shard, every object converges; the new ordinals get
 * their share; the shards moved (grants that passed to another replica)
 * are at most 1.3 times the ideal (2 of every 5 shards, both ways); and
 * every shard that moved was handed over: the leader took in its old
 * holder's release before granting it anew (recorded where the leader's
 * `GrantIssuer` takes requests in), so it was not waited out (the failover
 * path, which a lost release takes). The one exception is a stall of the
 * whole process, which runs every replica: when every grant of every
 * replica lapsed at some instant before the new grant, no handover was
 * possible; the test prints how many shards moved so. The time each moved
 * shard had no holder is printed.
 *
 * The scale-down removes the ordinals from the Raft membership before
 * their pods stop, as the StatefulSet controller may: a member removed
 * first hears no more heartbeats, so unless the leader moved its shards
 * before removing it (`ShardRuntime.handOverTo`), its release on SIGTERM
 * never arrives and its shards wait for its grants to run out.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Operator, type ResourceType } from "../../mod.ts";
import { KubeClient } from "../../controller/mod.ts";
import { GrantIssuer, shardOf } from "../../sharding/mod.ts";
import {
  type Replicas,
  startReplicas,
  TestApiServer,
} from "../../testing/mod.ts";
import { configMaps } from "../controller/_server.ts";
import {
  assertGrantsDisjoint,
  assertWritesFenced,
  type Interval,
  percentile,
  readAllGrants,
  readWrites,
  type ReplicaGrants,
  type ServerWrite,
  serverWriteOf,
  unrecordedWrites,
} from "./_grants.ts";
import {
  createSites,
  type Data,
  recordGrants,
  writesReconciler,
} from "./_records.ts";

const OBJECTS = 40;
const SHARDS = 32;
const GRANT_MS = 500;
const NODES = [0, 1, 2, 3, 4];
const statefulSets: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
};

/** Who held each shard at `at` (`-1`: no one). */
function holdersAt(
  grants: ReadonlyMap<number, ReplicaGrants>,
  at: number,
): number[] {
  const out = Array.from({ length: SHARDS }, () => -1);
  for (const [node, g] of grants) {
    for (const [shard, list] of g.intervals) {
      if (list.some((i) => i.start <= at && at < i.end)) out[shard] = node;
    }
  }
  return out;
}

/**
 * Wraps `GrantIssuer.onRequest` so that every release a leader took in is
 * recorded to `releases.jsonl` (`at`, `from`, `released`); returns the
 * undo. The runtime's issuers are instances of this very class.
 */
function recordReleasesTakenIn(
  dir: string,
  wall: (t: number) => number,
): () => void {
  const onRequest = GrantIssuer.prototype.onRequest;
  GrantIssuer.prototype.onRequest = function (request, options) {
    if (request.released.length > 0) {
      const line = {
        at: wall(options.now),
        from: request.from,
        released: request.released,
      };
      appendFileSync(join(dir, "releases.jsonl"), JSON.stringify(line) + "\n");
    }
    return onRequest.call(this, request, options);
  };
  return () => {
    GrantIssuer.prototype.onRequest = onRequest;
  };
}

/** The releases leaders took in, by shard: when, and from whom. */
async function readReleasesTakenIn(
  dir: string,
): Promise<Map<number, { at: number; from: number }[]>> {
  const text = await readFile(join(dir, "releases.jsonl"), "utf8").catch(
    () => "",
  );
  const out = new Map<number, { at: number; from: number }[]>();
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const r = JSON.parse(line) as {
      at: number;
      from: number;
      released: number[];
    };
    for (const shard of r.released) {
      out.set(shard, [...out.get(shard) ?? [], { at: r.at, from: r.from }]);
    }
  }
  return out;
}

/**
 * Whether some instant in `[from, to]` saw no replica hold any shard: a
 * renewal outage of the whole cluster, as when the one process that runs
 * every replica stalls (on a loaded machine) past the grants' ends. The
 * set of holders only shrinks at an interval's end, so those instants are
 * the ones to look at.
 */
function outage(
  grants: ReadonlyMap<number, ReplicaGrants>,
  from: number,
  to: number,
): boolean {
  const ends = [from];
  for (const g of grants.values()) {
    for (const list of g.intervals.values()) {
      for (const i of list) if (from <= i.end && i.end <= to) ends.push(i.end);
    }
  }
  return ends.some((at) => holdersAt(grants, at).every((h) => h === -1));
}

/**
 * Every grant of a shard that passed to another replica in
 * `[since, until]`, with the time the shard had no holder in between,
 * whether it was handed over (a leader took in the old holder's release
 * of that grant before the new one began: judged from the records, not
 * from how long the messages took) and, if not, whether
 * the old grant lapsed in a renewal outage of the whole cluster (see
 * {@linkcode outage}) rather than while the others were renewed.
 */
function moves(
  grants: ReadonlyMap<number, ReplicaGrants>,
  options: {
    releases: ReadonlyMap<number, { at: number; from: number }[]>;
    since: number;
    until: number;
  },
): {
  shard: number;
  from: number;
  to: number;
  gapMs: number;
  handedOver: boolean;
  inOutage: boolean;
}[] {
  const byShard = new Map<number, (Interval & { node: number })[]>();
  for (const [node, g] of grants) {
    for (const [shard, list] of g.intervals) {
      byShard.set(shard, [
        ...byShard.get(shard) ?? [],
        ...list.map((i) => ({ ...i, node })),
      ]);
    }
  }
  const { releases, since, until } = options;
  const out = [];
  for (const [shard, list] of byShard) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1], list[i]];
      if (a.node === b.node || b.start < since || b.start > until) continue;
      const handedOver = (releases.get(shard) ?? []).some((r) =>
        r.from === a.node && a.start <= r.at && r.at <= b.start
      );
      out.push({
        shard,
        from: a.node,
        to: b.node,
        gapMs: b.start - a.end,
        handedOver,
        inOutage: !handedOver && outage(grants, a.end, b.start),
      });
    }
  }
  return out;
}

describe("a sharded operator StatefulSet scaled 3 → 5 → 3 online", () => {
  let api: TestApiServer;
  let client: KubeClient;
  let replicas: Replicas;
  let dir: string;
  let undo: () => void;
  const server: ServerWrite[] = [];
  const wall = (t = performance.now()) => t;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "shard-scaling-"));
    const undoGrants = recordGrants({ dir, wall });
    const undoReleases = recordReleasesTakenIn(dir, wall);
    undo = () => {
      undoGrants();
      undoReleases();
    };
    api = await TestApiServer.start({
      onRequest: (request) => {
        const write = serverWriteOf(request.path, wall());
        if (request.method === "PATCH" && write !== null) server.push(write);
      },
    });
    client = KubeClient.fromKubeConfig(api.kubeConfig());
    const labels = { app: "sop" };
    await client.create(statefulSets, {
      metadata: { name: "sop", namespace: "default" },
      spec: {
        replicas: 3,
        serviceName: "sop",
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "operator", image: "operator:test" }] },
        },
      },
    } as never);
    replicas = await startReplicas({
      controlPlane: api,
      replicas: 5,
      initial: 3,
      statefulSet: { name: "sop", namespace: "default" },
      operator: (options) =>
        Operator.fromEnv({
          ...options,
          sharding: { shards: SHARDS, grantMs: GRANT_MS },
        }).controller<Data>(configMaps, writesReconciler({ dir, wall }), {
          sharded: true,
        }),
      // Only bounds waiting: elections and membership changes of five
      // replicas in one process on a shared 2-core machine.
      timeoutMs: 60_000,
    });
    await createSites(client, OBJECTS);
    await converged("1");
  });

  after(async () => {
    await replicas?.stop();
    await api?.stop();
    undo?.();
    await rm(dir, { recursive: true, force: true });
  });

  async function patchAll(v: string): Promise<void> {
    for (let i = 0; i < OBJECTS; i++) {
      await client.patch(configMaps, `site-${i}`, { data: { v } }, {
        namespace: "default",
      });
    }
  }

  async function converged(v: string): Promise<void> {
    await replicas.waitFor(`every object written at v${v}`, async () => {
      const list = await client.list<Data>(configMaps, {
        namespace: "default",
      });
      return list.items.filter((o) =>
        o.metadata.name?.startsWith("out-") && o.data?.v === v
      ).length === OBJECTS;
    });
  }

  /** Waits until each shard is held by one of `members`, each holding its share. */
  async function settledOn(members: number[]): Promise<number> {
    const share = Math.floor(SHARDS / members.length);
    return await replicas.waitFor(
      `every shard held by one of ${members}, each holding ${share} or more`,
      async () => {
        const now = wall();
        const holders = holdersAt(await readAllGrants(dir, NODES), now);
        const counts = members.map((m) =>
          holders.filter((h) => h === m).length
        );
        return holders.every((h) => members.includes(h)) &&
          counts.every((c) => c >= share) && now;
      },
    );
  }

  /**
   * Checks the shards that moved between `since` and `until` (one
   * direction of the scaling, named `what`): at most 1.3 times the ideal,
   * each handed over unless every grant lapsed in a stall of the process.
   */
  async function checkMoves(
    what: string,
    window: { since: number; until: number },
  ): Promise<void> {
    const found = moves(await readAllGrants(dir, NODES), {
      releases: await readReleasesTakenIn(dir),
      ...window,
    });
    const ideal = SHARDS * 2 / 5;
    const gaps = found.map((m) => m.gapMs);
    console.log(
      `${what}: ${found.length} shards moved (ideal ${ideal}), unowned between holders p50 ${
        Math.round(percentile(gaps, 0.5))
      } ms, max ${Math.round(Math.max(...gaps))} ms`,
    );
    assert.ok(
      found.length <= 1.3 * ideal,
      `${what}: at most ${1.3 * ideal} shards moved, found ${found.length}: ${
        JSON.stringify(found)
      }`,
    );
    // A stall of the whole process (every replica, the leader included)
    // past the grants' ends lets every grant lapse, released or not: no
    // handover is possible then, and the shards pass on the failover path.
    // A shard waited out while the others' grants were renewed is what a
    // lost release looks like, and fails.
    const lapsed = found.filter((m) => !m.handedOver && m.inOutage);
    if (lapsed.length > 0) {
      console.log(
        `${what}: ${lapsed.length} moved after every grant lapsed in a stall of the process`,
      );
    }
    assert.ok(
      found.every((m) => m.handedOver || m.inOutage),
      `${what}: every moved shard handed over, not waited out while the others were renewed, found ${
        JSON.stringify(found.filter((m) => !m.handedOver && !m.inOutage))
      }`,
    );
  }

  it("scaled up: ordinals 3 and 4 join, take their share from the others, each handed over, with at most 1.3 × the ideal moves", async () => {
    const before = await settledOn([0, 1, 2]);
    await replicas.start(3);
    await replicas.start(4);
    await client.patch(statefulSets, "sop", { spec: { replicas: 5 } }, {
      namespace: "default",
    });
    await patchAll("2");
    await checkMoves("3 → 5", {
      since: before,
      until: await settledOn(NODES),
    });
    await converged("2");
    const v2 = (await readWrites(dir, NODES)).filter((w) => w.ok);
    await patchAll("3");
    await converged("3");
    const v3 = (await readWrites(dir, NODES)).filter((w) =>
      w.ok && w.v === "3"
    );
    for (const id of [3, 4]) {
      assert.ok(
        v3.some((w) => w.node === id),
        `replica ${id} reconciles (its writes at v2: ${
          v2.filter((w) => w.node === id).length
        })`,
      );
    }
  });

  it("scaled down: ordinals 4 and 3 leave the membership, then stop; their shards go to the others, each handed over, with at most 1.3 × the ideal moves", async () => {
    const before = await settledOn(NODES);
    await client.patch(statefulSets, "sop", { spec: { replicas: 3 } }, {
      namespace: "default",
    });
    await patchAll("4");
    // The leader follows the StatefulSet: ordinals 3 and 4 leave the
    // membership, and only then do their pods stop (highest first).
    await replicas.waitFor(
      "the leader's voters to be 0..2",
      () =>
        NODES.some((id) => {
          const r = replicas.running(id);
          return r !== null && r.status().role === "leader" &&
            [...r.status().conf.voters].sort().join() === "0,1,2";
        }),
    );
    await replicas.stop(4);
    await replicas.stop(3);
    await checkMoves("5 → 3", {
      since: before,
      until: await settledOn([0, 1, 2]),
    });
    await converged("4");
    await patchAll("5");
    await converged("5");
  });

  it("over both: no two replicas' grants of a shard overlap, every write was sent under its writer's grant", async () => {
    await replicas.waitFor(
      "every write the API server received recorded by its writer",
      async () =>
        unrecordedWrites(server, { replica: await readWrites(dir, NODES) })
          .length === 0,
    );
    const grants = await readAllGrants(dir, NODES);
    assertGrantsDisjoint(grants);
    assert.ok(server.length >= 5 * OBJECTS, "the API server recorded writes");
    assertWritesFenced(server, {
      replica: await readWrites(dir, NODES),
      grants,
      shardOf: (key) => shardOf(key, SHARDS),
    });
  });
});
