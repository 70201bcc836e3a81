/**
 * Sharded replicas of `tests/sharding/_sharded_writes_main.ts` on a
 * {@linkcode NetCluster}, and what the sharded network tests do and check
 * with them: write every object and wait until all are reconciled, find
 * the leader, start a slow reconcile, wait until a cut replica's shards are
 * granted to others or to it again, and check the records over a whole run
 * (`tests/sharding/_grants.ts`): no two replicas' grants of a shard
 * overlap, every write the API server received was sent under its writer's
 * grant.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shardOf } from "../../sharding/mod.ts";
import {
  assertGrantsDisjoint,
  assertWritesFenced,
  percentile,
  readAllGrants,
  readWrites,
  type ReplicaWrite,
  type ServerWrite,
  serverWriteOf,
  takenOverAtCut,
  unrecordedWrites,
} from "../sharding/_grants.ts";
import { NetCluster, wall } from "./_cluster_deno.ts";
import { remainsOf } from "./_lab_deno.ts";

const MAIN = fileURLToPath(
  new URL("../sharding/_sharded_writes_main.ts", import.meta.url),
);
/** The objects `site-0..OBJECTS-1` every run writes. */
export const OBJECTS = 30;
/** The shard count of `_sharded_writes_main.ts`. */
export const SHARDS = 32;
/**
 * How long a wait may take before the test fails: it bounds waiting only
 * (Deno processes start in seconds on the shared machine).
 */
export const WAIT_MS = 30_000;

/** The JSON lines of a file (none when it does not exist yet). */
export async function jsonLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** Polls `check` every 50 ms until it returns a value; throws after `WAIT_MS`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined>,
): Promise<T> {
  const deadline = performance.now() + WAIT_MS;
  while (true) {
    const value = await check();
    if (value !== false && value !== undefined) return value;
    if (performance.now() > deadline) {
      throw new Error(`Expected ${what} within ${WAIT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Takeover times, for a message. */
export const ms = (values: readonly number[]): string =>
  `p50 ${Math.round(percentile(values, 0.5))} ms, max ${
    Math.round(Math.max(...values))
  } ms over ${values.length} shards`;

/** Sharded replicas in network namespaces and their records. */
export class ShardedNet {
  readonly cluster: NetCluster;
  /** Where the replicas record (`_sharded_writes_main.ts`). */
  readonly dir: string;
  /** The replicas' ids. */
  readonly nodes: number[];

  private constructor(cluster: NetCluster, dir: string, replicas: number) {
    this.cluster = cluster;
    this.dir = dir;
    this.nodes = [...Array(replicas).keys()];
  }

  /**
   * Starts `replicas` replicas with `env` added to their environment, waits
   * for a leader and for every object reconciled at version 1.
   */
  static async start(
    replicas: number,
    env: Record<string, string> = {},
  ): Promise<ShardedNet> {
    const dir = await mkdtemp(join(tmpdir(), "shard-netns-"));
    let cluster: NetCluster;
    try {
      cluster = await NetCluster.start({ ...env, SHARD_RUNS_DIR: dir }, {
        main: MAIN,
        replicas,
      });
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const net = new ShardedNet(cluster, dir, replicas);
    await net.leader();
    await net.patchAll("1");
    await net.converged("1");
    return net;
  }

  /** Removes the lab and the records; throws when the lab left anything behind. */
  async destroy(): Promise<void> {
    const id = this.cluster.lab.id;
    this.cluster.destroy();
    await rm(this.dir, { recursive: true, force: true });
    assert.deepEqual(remainsOf(id), [], "the lab left things behind");
  }

  /** The writes of `out-site-N` the API server received. */
  serverWrites(): ServerWrite[] {
    return this.cluster.api.lines.flatMap((l) => {
      if (l.event !== "write" || l.method !== "PATCH") return [];
      return serverWriteOf(l.path as string, l.t) ?? [];
    });
  }

  /** Sets every object's version to `v`. */
  async patchAll(v: string): Promise<void> {
    for (let i = 0; i < OBJECTS; i++) {
      await this.cluster.command({ op: "configMap", name: `site-${i}`, v });
    }
  }

  /** Waits until every object was reconciled at version `v`. */
  converged(v: string): Promise<true> {
    return waitFor(`every object written at v${v}`, async () => {
      const { configMaps } = await this.cluster.command({ op: "configMaps" });
      return (configMaps as { name: string; v: string | null }[]).filter((
        o,
      ) => o.name.startsWith("out-") && o.v === v).length === OBJECTS;
    });
  }

  /** The leader every replica names in its last role change, once they agree. */
  leader(): Promise<number> {
    return waitFor("one leader all replicas agree on", async () => {
      const last = await Promise.all(
        this.nodes.map(async (n) =>
          (await jsonLines<{ role: string; term: number; leader: number }>(
            join(this.dir, `${n}.roles.jsonl`),
          )).at(-1)
        ),
      );
      const first = last[0];
      if (last.some((r) => r === undefined)) return false;
      const agreed = last.every((r) =>
        r!.term === first!.term && r!.leader === first!.leader
      );
      return agreed && first!.leader !== null && first!.leader;
    });
  }

  /** Cuts host `r<node>` from each of `hosts`; returns when. */
  cut(node: number, hosts: readonly string[]): number {
    for (const host of hosts) this.cluster.lab.cut(`r${node}`, host);
    return wall();
  }

  /** The hosts of `node`'s peers. */
  peersOf(node: number): string[] {
    return this.nodes.filter((n) => n !== node).map((n) => `r${n}`);
  }

  /**
   * Undoes the cuts; returns when the heal began. Not when it ended: the
   * routes go one `ip` call at a time, and on a loaded machine the cut
   * replica can reach the leader and be granted shards before the last one
   * is gone. Its grants, renewed on every heartbeat, then make one
   * interval that started before the end of the heal, and a wait for a
   * grant starting after it would never end. Nothing is granted to it
   * before the first route goes: it reaches no peer, or (cut from the API
   * server only) it stands aside until it reaches the API server.
   */
  heal(): number {
    const at = wall();
    this.cluster.lab.heal();
    return at;
  }

  /**
   * Waits until each shard `node` held at `at` was granted to another
   * replica; returns, per shard, how long after `at`.
   */
  takeover(node: number, at: number): Promise<number[]> {
    return waitFor(
      `the shards of cut replica ${node} granted to others`,
      async () => {
        const t = takenOverAtCut(
          await readAllGrants(this.dir, this.nodes),
          node,
          at,
        );
        const values = [...t.values()];
        return values.length > 0 && values.every(Number.isFinite) && values;
      },
    );
  }

  /**
   * Waits until every shard `node` held at `cutAt` was granted to another
   * replica, asserts each within `boundMs` (`who` names the cut replica in
   * the log line and the message), and returns when the last one was.
   */
  async takenWithin(
    who: string,
    { node, cutAt, boundMs }: { node: number; cutAt: number; boundMs: number },
  ): Promise<number> {
    const taken = await this.takeover(node, cutAt);
    console.log(
      `${who}: its shards granted to others ${ms(taken)} after the cut`,
    );
    assert.ok(
      Math.max(...taken) <= boundMs,
      `every shard of ${who} granted to others within ${boundMs} ms, found ${
        ms(taken)
      }`,
    );
    return cutAt + Math.max(...taken);
  }

  /** Waits until `node` holds a grant that started after `since`. */
  grantedAgain(node: number, since: number): Promise<true> {
    return waitFor(
      `replica ${node} granted shards again after the heal`,
      async () => {
        const g = (await readAllGrants(this.dir, [node])).get(node)!;
        return [...g.intervals.values()].some((list) =>
          list.some((i) => i.start > since)
        );
      },
    );
  }

  /** The grant intervals of `node` that started in `[from, to]`. */
  async grantsStarted(node: number, from: number, to: number) {
    const g = (await readAllGrants(this.dir, [node])).get(node)!;
    return [...g.intervals].flatMap(([shard, list]) =>
      list.filter((i) => i.start >= from && i.start <= to).map((i) => ({
        shard,
        ...i,
      }))
    );
  }

  /**
   * Starts a slow reconcile on `node` (a non-leader): waits until it holds
   * an object's shard, sets that object to `slow-<node>` (its reconcile
   * there waits 3 s heedless of its signal, then writes) and waits until
   * the reconcile began. Returns the object's key.
   */
  async slowReconcile(node: number): Promise<string> {
    // Waited for, not read once: on the loaded machine a replica's
    // renewals can stall past its grants' end for a moment.
    const slow = await waitFor(
      `replica ${node} holding an object's shard`,
      async () => {
        const now = wall();
        const held = (await readAllGrants(this.dir, [node])).get(node)!;
        return [...Array(OBJECTS).keys()].map((i) => `default/site-${i}`)
          .find((key) =>
            (held.intervals.get(shardOf(key, SHARDS)) ?? []).some((i) =>
              i.end > now + 100
            )
          );
      },
    );
    await this.cluster.command({
      op: "configMap",
      name: slow.split("/")[1],
      v: `slow-${node}`,
    });
    await waitFor(
      `replica ${node} in the middle of reconciling ${slow}`,
      async () =>
        (await jsonLines<{ key: string }>(
          join(this.dir, `${node}.entered.jsonl`),
        )).some((l) => l.key === slow),
    );
    return slow;
  }

  /**
   * Waits for `node`'s write of `slow` at the end of its slow reconcile;
   * asserts the fence refused it and the API server never received it.
   */
  async assertLateWriteFenced(
    node: number,
    slow: string,
  ): Promise<ReplicaWrite> {
    const late = await waitFor(
      `replica ${node}'s write of ${slow} after its 3 s wait`,
      async () =>
        (await readWrites(this.dir, [node])).find((w) =>
          w.key === slow && w.v === `slow-${node}`
        ),
    );
    assert.ok(late.fenced, `the fence refused ${JSON.stringify(late)}`);
    assert.ok(
      !this.serverWrites().some((w) =>
        w.key === slow && w.node === node && w.v === `slow-${node}`
      ),
      `the API server received no write of ${slow} from the cut replica`,
    );
    return late;
  }

  /**
   * Over the whole run: no two replicas' grants of a shard overlap, and
   * every write the API server received (at least `minWrites`) was sent
   * under its writer's grant of the object's shard. Returns a summary.
   */
  async assertRecords(minWrites: number): Promise<string> {
    const server = this.serverWrites();
    // A replica records its write after the answer: wait for the records.
    await waitFor(
      "every write the API server received recorded by its writer",
      async () =>
        unrecordedWrites(server, {
          replica: await readWrites(this.dir, this.nodes),
        }).length === 0,
    );
    const replica = await readWrites(this.dir, this.nodes);
    const grants = await readAllGrants(this.dir, this.nodes);
    assertGrantsDisjoint(grants);
    assert.ok(server.length >= minWrites, "the API server recorded writes");
    assertWritesFenced(server, {
      replica,
      grants,
      shardOf: (key) => shardOf(key, SHARDS),
    });
    const intervals = [...grants.values()].reduce(
      (n, g) => n + [...g.intervals.values()].reduce((m, l) => m + l.length, 0),
      0,
    );
    return `${server.length} writes received, each under its writer's grant; ${intervals} grant intervals without overlap`;
  }
}
