/**
 * Sharded controllers when a replica loses the API server (issue 19): three
 * replicas of `tests/sharding/_sharded_writes_main.ts` as "hosts" in
 * network namespaces, the test API server in a host of its own
 * (`_sharded_deno.ts`, `_cluster_deno.ts`), cut with blackhole routes.
 *
 * (a) Full isolation (a node losing its network): a shard owner, in the
 * middle of a reconcile that ignores its signal and writes 3 s later, is
 * cut from its peers and from the API server. Its grants run out, the
 * others take its shards within the liveness bound of a cut member, the API
 * server receives nothing from it while it is cut, its late write is
 * refused by the fence, and once healed it is granted shards again.
 *
 * (b) The API server alone (a broken route or NetworkPolicy on one node):
 * a shard owner, then the leader, is cut from the API server while it
 * reaches its peers, so its grants would go on being renewed. Once its
 * requests have failed for `OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS` it
 * hands its shards over (`operator/_api_stand_aside.ts`): they are granted
 * to others within the bound below, every object converges while it is
 * cut, it is granted nothing until the heal, and after it gets shards
 * again. The leader also hands leadership over
 * (`OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS`); the test checks that a
 * replica that reaches the API server leads in the end, and prints the role
 * changes.
 *
 * Over the run, from the records (every write the API server received,
 * each replica's attempts and grant intervals): no two replicas' grants of
 * a shard overlap, every write was sent under its writer's grant.
 *
 * Skipped, saying why, where network namespaces cannot be made (not root,
 * no `ip`, no dnsmasq). Everything the lab made is removed, also on failure.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  PROBE_INTERVAL_MS,
  PROBE_TIMEOUT_MS,
} from "../../operator/_api_health.ts";
import { wall } from "./_cluster_deno.ts";
import { netnsSkipReason } from "./_lab_deno.ts";
import { join } from "node:path";
import { jsonLines, OBJECTS, ShardedNet, waitFor } from "./_sharded_deno.ts";

/** The replicas' `OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS` (default 10 s). */
const RELEASE_AFTER_MS = 2000;
/**
 * The replicas' `OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS` (default 10 s):
 * later than the takeover of a cut leader's shards, so that the leader
 * change (an election, then the new leader's wait) does not fall inside the
 * takeover it measures.
 */
const TRANSFER_AFTER_MS = 5000;
/** `_sharded_writes_main.ts`'s `grantMs`: the default. */
const GRANT_MS = 500;
/**
 * (a): the liveness bound on the takeover of a cut member's shards, as in
 * `sharded_partition_deno_test.ts` (its grants run out after 0.5 s).
 */
const ISOLATED_BOUND_MS = 3000;
/**
 * (b): the liveness bound on the takeover of the shards of a replica cut
 * from the API server. The probe that first fails starts at most
 * `PROBE_INTERVAL_MS` after the cut and is known failed `PROBE_TIMEOUT_MS`
 * later; the streak, dated from that probe's start, reaches
 * `RELEASE_AFTER_MS` then or later, and the policy checks every 250 ms. The
 * replica's reconciles are awaited at most `GRANT_MS`, then the release
 * rides on the next heartbeat and the new owners are planned, committed and
 * granted: 1 s for those steps on the loaded machine (about 0.1 s when
 * quiet). A takeover beyond it is broken whatever the load.
 */
const API_CUT_BOUND_MS = PROBE_INTERVAL_MS +
  Math.max(PROBE_TIMEOUT_MS, RELEASE_AFTER_MS) + 250 + GRANT_MS + 1000;
/**
 * (b), the leader: as {@linkcode API_CUT_BOUND_MS}, and 1.5 s more for a
 * leader change on the way (an election, then the new leader's wait for
 * every grant of the old one), as `sharded_partition_deno_test.ts` allows:
 * on the loaded machine a follower that missed the leader's heartbeats for
 * an election timeout was seen to win an election 1.45 s after the cut.
 */
const API_CUT_LEADER_BOUND_MS = API_CUT_BOUND_MS + 1500;

const skip = netnsSkipReason();
if (skip) {
  console.warn(`Skipping the sharded API-loss network test: ${skip}`);
}

describe(
  "3 sharded replicas in network namespaces, a replica loses the API server",
  {
    skip,
  },
  () => {
    let net: ShardedNet;

    before(async () => {
      net = await ShardedNet.start(3, {
        OPERATOR_API_UNREACHABLE_RELEASE_AFTER_MS: String(RELEASE_AFTER_MS),
        OPERATOR_API_UNREACHABLE_TRANSFER_AFTER_MS: String(TRANSFER_AFTER_MS),
      });
    });

    after(async () => {
      await net?.destroy();
    });

    it("(a) a member cut from its peers and the API server mid-reconcile: its shards go to others, it writes nothing, its late write is fenced, it rejoins", async () => {
      const lead = await net.leader();
      const victim = net.nodes.find((n) => n !== lead)!;
      const slow = await net.slowReconcile(victim);
      const cutAt = net.cut(victim, [...net.peersOf(victim), "api"]);
      let healedAt = 0;
      try {
        await net.takenWithin(`member ${victim} isolated`, {
          node: victim,
          cutAt,
          boundMs: ISOLATED_BOUND_MS,
        });
        await net.patchAll("2");
        await net.converged("2");
      } finally {
        healedAt = net.heal();
      }
      const late = await net.assertLateWriteFenced(victim, slow);
      console.log(
        `its slow reconcile's write came ${
          Math.round(late.t1 - healedAt)
        } ms after the heal began, refused by the fence`,
      );
      assert.deepEqual(
        net.serverWrites().filter((w) =>
          w.node === victim && w.at >= cutAt && w.at <= healedAt
        ),
        [],
        "the API server received nothing from it while it was cut",
      );
      await net.grantedAgain(victim, healedAt);
      await net.patchAll("3");
      await net.converged("3");
    });

    it("(b) a member cut from the API server only: it hands its shards over within the bound, the others reconcile them, it gets shards back after the heal", async () => {
      const lead = await net.leader();
      const victim = net.nodes.find((n) => n !== lead)!;
      const cutAt = net.cut(victim, ["api"]);
      let healedAt = 0;
      let takenAt = 0;
      try {
        // Written at once: the objects of its shards wait for it to let go.
        await net.patchAll("4");
        takenAt = await net.takenWithin(
          `member ${victim} cut from the API server`,
          {
            node: victim,
            cutAt,
            boundMs: API_CUT_BOUND_MS,
          },
        );
        await net.converged("4");
        console.log(
          `every object reconciled ${
            Math.round(wall() - cutAt)
          } ms after the cut`,
        );
      } finally {
        healedAt = net.heal();
      }
      assert.deepEqual(
        await net.grantsStarted(victim, takenAt, healedAt),
        [],
        "standing aside, it was granted nothing until the heal",
      );
      await net.grantedAgain(victim, healedAt);
      await net.patchAll("5");
      await net.converged("5");
    });

    it("(b) the leader cut from the API server only: its shards go to others within the bound, leadership goes to a replica that reaches the API server, it gets shards back after the heal", async () => {
      const lead = await net.leader();
      const cutAt = net.cut(lead, ["api"]);
      let healedAt = 0;
      try {
        await net.patchAll("6");
        await net.takenWithin(`leader ${lead} cut from the API server`, {
          node: lead,
          cutAt,
          boundMs: API_CUT_LEADER_BOUND_MS,
        });
        await net.converged("6");
        // Handed over once its requests have failed for TRANSFER_AFTER_MS
        // (or, on a loaded machine, taken earlier by an election).
        await waitFor(
          "leadership handed to a replica that reaches the API server",
          async () => (await net.leader()) !== lead,
        );
        const changes = (await Promise.all(
          net.nodes.map((n) =>
            jsonLines<
              { role: string; term: number; leader: number; at: number }
            >(
              join(net.dir, `${n}.roles.jsonl`),
            )
          ),
        )).flat().filter((r) => r.at > cutAt);
        console.log(
          "role changes after the cut:",
          changes.map((r) =>
            `${r.role} t${r.term} leader ${r.leader} +${
              Math.round(r.at - cutAt)
            } ms`
          ).join("; "),
        );
      } finally {
        healedAt = net.heal();
      }
      await net.grantedAgain(lead, healedAt);
      await net.patchAll("7");
      await net.converged("7");
    });

    it("over the run: no two replicas' grants of a shard overlap, every write was sent under its writer's grant", async () => {
      console.log(await net.assertRecords(7 * OBJECTS));
    });
  },
);
