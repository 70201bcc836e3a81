/**
 * A replica's main for the process test: an Operator with one sharded
 * controller of ConfigMaps labelled `sharded-test=yes`. Every reconcile
 * that completes appends a JSON line (node, key, data.v, shard, start and
 * end on the system clock) to `$SHARD_RUNS_DIR/<node>.jsonl`.
 */
import { appendFileSync } from "node:fs";
import { env } from "node:process";
import { type KubeObject, Operator, ReconcileResult } from "../../mod.ts";
import { configMaps } from "../controller/_server.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";

const dir = env.SHARD_RUNS_DIR!;
const node = Number(env.RAFT_NODE_ID);
// The system clock (`performance.timeOrigin` alone can be off by
// milliseconds in a process started under load).
const wall = wallClock();

await Operator.fromEnv({ sharding: { shards: 32 } }).controller<KubeObject>(
  configMaps,
  {
    labelSelector: "sharded-test=yes",
    async reconcile(object, ctx) {
      const start = wall();
      await new Promise((resolve) => setTimeout(resolve, 5));
      ctx.signal.throwIfAborted();
      const v = (object as { data?: { v?: string } }).data?.v ?? "";
      const line = { node, key: ctx.key, v, shard: ctx.shard, start };
      appendFileSync(
        `${dir}/${node}.jsonl`,
        JSON.stringify({ ...line, end: wall() }) + "\n",
      );
      return ReconcileResult.done();
    },
  },
  { sharded: true },
).run();
