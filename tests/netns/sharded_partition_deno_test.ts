/**
 * Sharded controllers across a real network partition: three replicas, then
 * five, of `tests/sharding/_sharded_writes_main.ts` (StatefulSet discovery
 * by DNS)
 * as "hosts" in network namespaces, the test API server in a host of its
 * own (`_lab_deno.ts`, `_cluster_deno.ts`). A shard owner is cut from its
 * peers with blackhole routes while it still reaches the API server: the
 * dangerous case, since it keeps its watch and would go on writing the
 * objects of its shards if only its grants' clock stopped it. First an
 * owner that is not the Raft leader, in the middle of a reconcile that
 * ignores its signal and writes 3 s later; then the leader itself. From the
 * records (every write the API server received, each replica's attempts
 * and grant intervals, on the system clock): no two replicas' grants of a
 * shard overlap, every write was sent under its writer's grant of the
 * object's shard, the late write is refused by the fence, the cut owner's
 * shards are granted to others (the times printed beside issue 19's goals,
 * 1 s for a member and 1.5 s for the leader; asserted within liveness
 * bounds), and every object converges, before and after the heal.
 *
 * Skipped, saying why, where network namespaces cannot be made (not root,
 * no `ip`, no dnsmasq). Everything the lab made is removed, also on failure
 * (`NetLab.destroy`, checked with `remainsOf`).
 */
import { after, before, describe, it } from "node:test";
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
  type ServerWrite,
  serverWriteOf,
  takenOverAtCut,
  unrecordedWrites,
} from "../sharding/_grants.ts";
import { NetCluster, wall } from "./_cluster_deno.ts";
import { netnsSkipReason, remainsOf } from "./_lab_deno.ts";

const MAIN = fileURLToPath(
  new URL("../sharding/_sharded_writes_main.ts", import.meta.url),
);
const OBJECTS = 30;
const SHARDS = 32; // as _sharded_writes_main.ts
/**
 * Liveness bounds on the takeover of a cut owner's shards: a member's, and
 * the leader's (which also waits for an election and for every grant the old
 * leader could have issued). Issue 19's goals (1 s and 1.5 s at p99) are
 * speed goals, measured by `deno task bench:sharding` and printed here, not
 * asserted: under `deno test --parallel` on 2 cores the leader's takeover
 * was seen at 1.13 s. A takeover beyond these bounds is broken whatever the
 * load.
 */
const MEMBER_BOUND_MS = 3000;
const LEADER_BOUND_MS = 4500;
/**
 * How long a wait may take before the test fails: it bounds waiting only
 * (Deno processes start in seconds on the shared machine).
 */
const WAIT_MS = 30_000;

const skip = netnsSkipReason();
if (skip) console.warn(`Skipping the sharded network-namespace test: ${skip}`);

async function jsonLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** Polls `check` every 50 ms until it returns a value; throws after `WAIT_MS`. */
async function waitFor<T>(
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

const ms = (values: readonly number[]) =>
  `p50 ${Math.round(percentile(values, 0.5))} ms, max ${
    Math.round(Math.max(...values))
  } ms over ${values.length} shards`;

for (const replicas of [3, 5]) suite(replicas);

function suite(replicas: number): void {
  const NODES = [...Array(replicas).keys()];
  describe(
    `${replicas} sharded replicas in network namespaces, an owner cut from its peers`,
    {
      skip,
    },
    () => {
      let cluster: NetCluster;
      let dir: string;

      /** The writes of `out-site-N` the API server received. */
      const serverWrites = (): ServerWrite[] =>
        cluster.api.lines.flatMap((l) => {
          if (l.event !== "write" || l.method !== "PATCH") return [];
          return serverWriteOf(l.path as string, l.t) ?? [];
        });

      const patchAll = async (v: string) => {
        for (let i = 0; i < OBJECTS; i++) {
          await cluster.command({ op: "configMap", name: `site-${i}`, v });
        }
      };

      const converged = (v: string) =>
        waitFor(`every object written at v${v}`, async () => {
          const { configMaps } = await cluster.command({ op: "configMaps" });
          return (configMaps as { name: string; v: string | null }[]).filter((
            o,
          ) => o.name.startsWith("out-") && o.v === v).length === OBJECTS;
        });

      /** The leader every replica names in its last role change, once they agree. */
      const leader = () =>
        waitFor("one leader all replicas agree on", async () => {
          const last = await Promise.all(
            NODES.map(async (n) =>
              (await jsonLines<{ role: string; term: number; leader: number }>(
                join(dir, `${n}.roles.jsonl`),
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

      /** Cuts `node` from its peers (the API server stays reachable); returns when. */
      const cut = (node: number) => {
        for (const peer of NODES.filter((n) => n !== node)) {
          cluster.lab.cut(`r${node}`, `r${peer}`);
        }
        return wall();
      };

      /** Waits until each shard `node` held at `at` was granted to another replica. */
      const takeover = (node: number, at: number) =>
        waitFor(
          `the shards of cut replica ${node} granted to others`,
          async () => {
            const t = takenOverAtCut(
              await readAllGrants(dir, NODES),
              node,
              at,
            );
            const values = [...t.values()];
            return values.length > 0 && values.every(Number.isFinite) && values;
          },
        );

      /**
       * Undoes the cuts; returns when the heal began. Not when it ended:
       * the routes go one `ip` call at a time, and on a loaded machine the
       * cut replica can reach the leader and be granted shards before the
       * last one is gone. Its grants, renewed on every heartbeat, then make
       * one interval that started before the end of the heal, and a wait
       * for a grant starting after it would never end. Nothing is granted
       * to it before the first route goes: it reaches no peer.
       */
      const heal = () => {
        const at = wall();
        cluster.lab.heal();
        return at;
      };

      /** Waits until `node` holds a grant that started after `since`. */
      const grantedAgain = (node: number, since: number) =>
        waitFor(
          `replica ${node} granted shards again after the heal`,
          async () => {
            const g = (await readAllGrants(dir, [node])).get(node)!;
            return [...g.intervals.values()].some((list) =>
              list.some((i) => i.start > since)
            );
          },
        );

      before(async () => {
        dir = await mkdtemp(join(tmpdir(), "shard-netns-"));
        cluster = await NetCluster.start({ SHARD_RUNS_DIR: dir }, {
          main: MAIN,
          replicas,
        });
        await leader();
        await patchAll("1");
        await converged("1");
      });

      after(async () => {
        const id = cluster?.lab.id;
        cluster?.destroy();
        await rm(dir, { recursive: true, force: true });
        if (id) {
          assert.deepEqual(remainsOf(id), [], "the lab left things behind");
        }
      });

      it("a member that owns shards, cut from its peers mid-reconcile while it reaches the API server: its shards go to others, its late write is fenced", async () => {
        const lead = await leader();
        const victim = NODES.find((n) => n !== lead)!;
        // Waited for, not read once: on the loaded machine a replica's
        // renewals can stall past its grants' end for a moment.
        const slow = await waitFor(
          `replica ${victim} holding an object's shard`,
          async () => {
            const now = wall();
            const held = (await readAllGrants(dir, [victim])).get(victim)!;
            return [...Array(OBJECTS).keys()].map((i) => `default/site-${i}`)
              .find((key) =>
                (held.intervals.get(shardOf(key, SHARDS)) ?? []).some((i) =>
                  i.end > now + 100
                )
              );
          },
        );
        await cluster.command({
          op: "configMap",
          name: slow.split("/")[1],
          v: `slow-${victim}`,
        });
        await waitFor(
          `replica ${victim} in the middle of reconciling ${slow}`,
          async () =>
            (await jsonLines<{ key: string }>(
              join(dir, `${victim}.entered.jsonl`),
            ))
              .some((l) => l.key === slow),
        );
        const cutAt = cut(victim);
        let healedAt = 0;
        try {
          await cutMember(victim, { cutAt, slow });
        } finally {
          healedAt = heal();
        }
        await grantedAgain(victim, healedAt);
        await patchAll("3");
        await converged("3");
      });

      /** The checks while member `victim` is cut, mid-reconcile of `slow`. */
      async function cutMember(
        victim: number,
        { cutAt, slow }: { cutAt: number; slow: string },
      ): Promise<void> {
        await takenWithin(`member ${victim}`, {
          node: victim,
          cutAt,
          boundMs: MEMBER_BOUND_MS,
        });
        await patchAll("2");
        await converged("2");
        const late = await waitFor(
          `replica ${victim}'s write of ${slow} after its 3 s wait`,
          async () =>
            (await readWrites(dir, [victim])).find((w) =>
              w.key === slow && w.v === `slow-${victim}`
            ),
        );
        assert.ok(late.fenced, `the fence refused ${JSON.stringify(late)}`);
        assert.ok(
          !serverWrites().some((w) =>
            w.key === slow && w.node === victim && w.v === `slow-${victim}`
          ),
          `the API server received no write of ${slow} from the cut replica`,
        );
      }

      it("the leader, owner of shards, cut from its peers while it reaches the API server: its shards go to others", async () => {
        const lead = await leader();
        const cutAt = cut(lead);
        let healedAt = 0;
        try {
          await takenWithin(`leader ${lead}`, {
            node: lead,
            cutAt,
            boundMs: LEADER_BOUND_MS,
          });
          await patchAll("4");
          await converged("4");
        } finally {
          healedAt = heal();
        }
        await grantedAgain(lead, healedAt);
        await patchAll("5");
        await converged("5");
      });

      /**
       * Waits until every shard `node` held at the cut was granted to another
       * replica, and asserts each was within `boundMs`.
       */
      async function takenWithin(
        who: string,
        { node, cutAt, boundMs }: {
          node: number;
          cutAt: number;
          boundMs: number;
        },
      ): Promise<void> {
        const taken = await takeover(node, cutAt);
        console.log(
          `${who} cut from its peers: its shards granted to others ${
            ms(taken)
          } after the cut`,
        );
        assert.ok(
          Math.max(...taken) <= boundMs,
          `every shard of the cut ${who} granted again within ${boundMs} ms, found ${
            ms(taken)
          }`,
        );
      }

      it("over both cuts: no two replicas' grants of a shard overlap, every write was sent under its writer's grant", async () => {
        const server = serverWrites();
        // A replica records its write after the answer: wait for the records.
        await waitFor(
          "every write the API server received recorded by its writer",
          async () =>
            unrecordedWrites(server, { replica: await readWrites(dir, NODES) })
              .length === 0,
        );
        const replica = await readWrites(dir, NODES);
        const grants = await readAllGrants(dir, NODES);
        assertGrantsDisjoint(grants);
        assert.ok(
          server.length >= 5 * OBJECTS,
          "the API server recorded writes",
        );
        assertWritesFenced(server, {
          replica,
          grants,
          shardOf: (key) => shardOf(key, SHARDS),
        });
        console.log(
          `${server.length} writes received, each under its writer's grant; ${
            [...grants.values()].reduce(
              (n, g) =>
                n + [...g.intervals.values()].reduce((m, l) => m + l.length, 0),
              0,
            )
          } grant intervals without overlap`,
        );
      });
    },
  );
}
