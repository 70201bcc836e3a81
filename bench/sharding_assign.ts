/**
 * `deno task bench:sharding-assign`: the figures of the shard planner
 * (`sharding/assignment.ts`). Deterministic (no timing): balance (most and
 * fewest shards per member, and the objects per replica for 10,000 objects),
 * and the shards a join or a leave moves against the ideal (`S/N` for the
 * member count that owns the moving share: `S/(N+1)` on a join to `N+1`,
 * `S/N` on a leave from `N`), for the planner (sticky rendezvous with the
 * load bound `⌈S/N⌉`), and, for comparison, the same planner without the
 * previous assignment (stateless, as a pure function of the members would
 * be) and plain rendezvous hashing without a bound.
 *
 * ```sh
 * deno task bench:sharding-assign                # 256 and 1024 shards, 1..10 members
 * deno task bench:sharding-assign --shards 64    # one shard count
 * ```
 *
 * @module
 */
import process from "node:process";
import {
  type Assignment,
  movedShards,
  ownedCounts,
  planAssignment,
  rendezvousScore,
  shardOf,
} from "../sharding/mod.ts";
import { reportRow } from "./_report.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Plain rendezvous hashing: each shard to its top scorer, no load bound. */
function plainRendezvous(shardCount: number, members: number[]): Assignment {
  const owners = range(shardCount).map((s) =>
    members.reduce((best, m) =>
      rendezvousScore(s, m) > rendezvousScore(s, best) ? m : best
    )
  );
  return { epoch: 1, shardCount, members, owners };
}

interface Row {
  n: number;
  max: number;
  min: number;
  objMax: number;
  objMean: number;
  join: number;
  joinIdeal: number;
  leave: number;
  leaveIdeal: number;
  joinStateless: number;
  leaveStateless: number;
  plainMax: number;
  plainMin: number;
}

function measure(shardCount: number, n: number, objects: number[]): Row {
  const members = range(n);
  const a = planAssignment({ shardCount, members });
  const counts = [...ownedCounts(a).values()];
  const perMember = new Map<number, number>(members.map((m) => [m, 0]));
  for (const s of objects) {
    perMember.set(a.owners[s]!, perMember.get(a.owners[s]!)! + 1);
  }
  // Join: n → n + 1.
  const joined = planAssignment({
    shardCount,
    members: range(n + 1),
    previous: a,
  });
  const joinedStateless = planAssignment({ shardCount, members: range(n + 1) });
  // Leave: n → n − 1, averaged over which member leaves.
  let leave = 0;
  let leaveStateless = 0;
  if (n > 1) {
    for (const gone of members) {
      const rest = members.filter((m) => m !== gone);
      leave += movedShards(
        a,
        planAssignment({ shardCount, members: rest, previous: a }),
      ).length;
      leaveStateless +=
        movedShards(a, planAssignment({ shardCount, members: rest })).length;
    }
    leave /= n;
    leaveStateless /= n;
  }
  const plain = [...ownedCounts(plainRendezvous(shardCount, members)).values()];
  return {
    n,
    max: Math.max(...counts),
    min: Math.min(...counts),
    objMax: Math.max(...perMember.values()),
    objMean: objects.length / n,
    join: movedShards(a, joined).length,
    joinIdeal: shardCount / (n + 1),
    leave,
    leaveIdeal: shardCount / n,
    joinStateless: movedShards(a, joinedStateless).length,
    leaveStateless,
    plainMax: Math.max(...plain),
    plainMin: Math.min(...plain),
  };
}

function shardCounts(): number[] {
  const i = process.argv.indexOf("--shards");
  if (i < 0) return [256, 1024];
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 1 || v > 65_536) {
    throw new Error(
      `Expected --shards to be an integer from 1 to 65536, found ${
        process.argv[i + 1]
      }`,
    );
  }
  return [v];
}

const OBJECTS = 10_000;
let worstRatio = 0;
for (const shardCount of shardCounts()) {
  const objects = range(OBJECTS).map((i) =>
    shardOf(`namespace-${i % 50}/website-${i}`, shardCount)
  );
  console.log(
    `\n${shardCount} shards, ${OBJECTS} objects (moved = shards whose owner changes; ideal = S/N of the member count owning the moving share)`,
  );
  console.log(
    "  N | shards max/min |   objects max/mean | join moved/ideal (ratio) | leave moved/ideal (ratio) | stateless join, leave ratio | plain rendezvous max/min",
  );
  for (let n = 1; n <= 10; n++) {
    const r = measure(shardCount, n, objects);
    const joinRatio = r.join / r.joinIdeal;
    const leaveRatio = n > 1 ? r.leave / r.leaveIdeal : NaN;
    worstRatio = Math.max(worstRatio, joinRatio, n > 1 ? leaveRatio : 0);
    console.log(
      `${String(n).padStart(3)} | ${`${r.max}/${r.min}`.padStart(14)} | ${
        `${r.objMax}/${r.objMean.toFixed(0)} (${
          (r.objMax / r.objMean).toFixed(2)
        })`
          .padStart(18)
      } | ${
        `${r.join}/${r.joinIdeal.toFixed(1)} (${joinRatio.toFixed(2)})`
          .padStart(24)
      } | ${
        (n > 1
          ? `${r.leave.toFixed(1)}/${r.leaveIdeal.toFixed(1)} (${
            leaveRatio.toFixed(2)
          })`
          : "-").padStart(25)
      } | ${
        `${(r.joinStateless / r.joinIdeal).toFixed(2)}, ${
          n > 1 ? (r.leaveStateless / r.leaveIdeal).toFixed(2) : "-"
        }`.padStart(27)
      } | ${`${r.plainMax}/${r.plainMin}`.padStart(24)}`,
    );
    if (shardCount === 256 && (n === 3 || n === 5)) {
      reportRow({
        name:
          `sharding, ${n} replicas, 256 shards: shards moved on a join / ideal`,
        unit: "×",
        ours: joinRatio,
        better: "lower",
      });
      reportRow({
        name:
          `sharding, ${n} replicas, 256 shards: objects on the busiest replica / mean`,
        unit: "×",
        ours: r.objMax / r.objMean,
        better: "lower",
      });
    }
  }
}
console.log(
  `\nworst moved/ideal over every join and leave above: ${
    worstRatio.toFixed(2)
  } (goal ≤ 1.3)`,
);
