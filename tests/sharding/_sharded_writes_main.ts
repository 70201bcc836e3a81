/**
 * A replica's main for the fault process tests: an Operator with one
 * sharded controller of ConfigMaps labelled `sharded-test=yes`, run by the
 * reconciler of `_records.ts`. It reports, on the system clock
 * (`testing/raft/wall_clock.ts`), to `$SHARD_RUNS_DIR`:
 *
 * - `<node>.writes.jsonl`, `<node>.entered.jsonl`, `<node>.grants.jsonl`:
 *   see `_records.ts`;
 * - `<node>.roles.jsonl`: its node's role changes (`role`, `term`,
 *   `leader`, `at`).
 */
import { appendFileSync } from "node:fs";
import { env } from "node:process";
import { Operator } from "../../mod.ts";
import { configMaps } from "../controller/_server.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import { type Data, recordGrants, writesReconciler } from "./_records.ts";

const dir = env.SHARD_RUNS_DIR!;
// RAFT_NODE_ID in process mode; in StatefulSet mode (the netns tests) the
// pod name's ordinal.
const node = Number(env.RAFT_NODE_ID ?? env.POD_NAME?.split("-").pop());
// The system clock, with performance.now()'s resolution: a process's
// `performance.timeOrigin` can be off by milliseconds under load.
const clock = wallClock();
const offset = clock() - performance.now();
const wall = (t = performance.now()) => offset + t;

recordGrants({ dir, wall });
const running = await Operator.fromEnv({ sharding: { shards: 32 } })
  .controller<Data>(configMaps, writesReconciler({ dir, wall }), {
    sharded: true,
  })
  .start();
running.node.onRoleChange((change) =>
  appendFileSync(
    `${dir}/${node}.roles.jsonl`,
    JSON.stringify({ ...change, at: wall() }) + "\n",
  )
);
await running.finished;
