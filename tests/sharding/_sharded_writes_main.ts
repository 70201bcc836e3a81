/**
 * A replica's main for the fault process tests: an Operator with one
 * sharded controller of ConfigMaps labelled `sharded-test=yes`, run by the
 * reconciler of `_records.ts`. It reports, on the system clock
 * (`testing/raft/wall_clock.ts`), to `$SHARD_RUNS_DIR`:
 *
 * - `<node>.writes.jsonl`, `<node>.entered.jsonl`, `<node>.grants.jsonl`:
 *   see `_records.ts`;
 * - `<node>.taken.jsonl`: the releases it took in while it led (see
 *   `_scaling.ts`);
 * - `<node>.stalls.jsonl`: the spans its event loop stalled (`_records.ts`);
 * - `<node>.roles.jsonl`: its node's role changes (`role`, `term`,
 *   `leader`, `at`).
 *
 * As a StatefulSet's pod of the replica harness it finds its peers at the
 * addresses of `REPLICA_PEER_ADDRESSES` (`testing/replica_types.ts`).
 */
import { appendFileSync } from "node:fs";
import { env } from "node:process";
import { Operator } from "../../mod.ts";
import { StaticDiscovery } from "../../discovery/mod.ts";
import { configMaps } from "../controller/_server.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import {
  type Data,
  recordGrants,
  recordStalls,
  writesReconciler,
} from "./_records.ts";
import { recordReleasesTakenIn } from "./_scaling.ts";

const dir = env.SHARD_RUNS_DIR!;
// RAFT_NODE_ID in process mode; in StatefulSet mode (the netns tests, the
// scaling test) the pod name's ordinal.
const node = Number(env.RAFT_NODE_ID ?? env.POD_NAME?.split("-").pop());
// The system clock, with performance.now()'s resolution: a process's
// `performance.timeOrigin` can be off by milliseconds under load.
// One anchor: the converter takes a performance.now() reading (the
// grants' times are such readings). Deriving an offset from two reads in a
// row (`clock() - performance.now()`) put this process's every record early
// by however long it was preempted between them.
const wall = wallClock();
const addresses = env.REPLICA_PEER_ADDRESSES;
const peers = addresses === undefined
  ? undefined
  : StaticDiscovery.parse(addresses).peers();

recordGrants({ dir, wall });
recordStalls({ dir, wall, node });
recordReleasesTakenIn({ dir, wall, name: String(node) });
const running = await Operator.fromEnv({
  sharding: { shards: 32 },
  peerAddress: peers && ((id) => peers.get(id)),
})
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
