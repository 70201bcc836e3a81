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
import { netnsSkipReason } from "./_lab_deno.ts";
import { OBJECTS, ShardedNet } from "./_sharded_deno.ts";

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

const skip = netnsSkipReason();
if (skip) console.warn(`Skipping the sharded network-namespace test: ${skip}`);

for (const replicas of [3, 5]) suite(replicas);

function suite(replicas: number): void {
  describe(
    `${replicas} sharded replicas in network namespaces, an owner cut from its peers`,
    {
      skip,
    },
    () => {
      let net: ShardedNet;

      before(async () => {
        net = await ShardedNet.start(replicas);
      });

      after(async () => {
        await net?.destroy();
      });

      it("a member that owns shards, cut from its peers mid-reconcile while it reaches the API server: its shards go to others, its late write is fenced", async () => {
        const lead = await net.leader();
        const victim = net.nodes.find((n) => n !== lead)!;
        const slow = await net.slowReconcile(victim);
        const cutAt = net.cut(victim, net.peersOf(victim));
        let healedAt = 0;
        try {
          await net.takenWithin(`member ${victim} cut from its peers`, {
            node: victim,
            cutAt,
            boundMs: MEMBER_BOUND_MS,
          });
          await net.patchAll("2");
          await net.converged("2");
          await net.assertLateWriteFenced(victim, slow);
        } finally {
          healedAt = net.heal();
        }
        await net.grantedAgain(victim, healedAt);
        await net.patchAll("3");
        await net.converged("3");
      });

      it("the leader, owner of shards, cut from its peers while it reaches the API server: its shards go to others", async () => {
        const lead = await net.leader();
        const cutAt = net.cut(lead, net.peersOf(lead));
        let healedAt = 0;
        try {
          await net.takenWithin(`leader ${lead} cut from its peers`, {
            node: lead,
            cutAt,
            boundMs: LEADER_BOUND_MS,
          });
          await net.patchAll("4");
          await net.converged("4");
        } finally {
          healedAt = net.heal();
        }
        await net.grantedAgain(lead, healedAt);
        await net.patchAll("5");
        await net.converged("5");
      });

      it("over both cuts: no two replicas' grants of a shard overlap, every write was sent under its writer's grant", async () => {
        console.log(await net.assertRecords(5 * OBJECTS));
      });
    },
  );
}
