/**
 * A replica's main for the fault process tests: an Operator with one
 * sharded controller of ConfigMaps labelled `sharded-test=yes`. A
 * reconcile of `site-N` at `data.v` writes `out-site-N` (server-side
 * apply, field manager `r<node>-v<v>`, so the API server's request log
 * tells who wrote which version) unless it already has that `v`.
 *
 * It reports, on the system clock (`testing/raft/wall_clock.ts`), to
 * `$SHARD_RUNS_DIR`:
 *
 * - `<node>.writes.jsonl`: every write it tried, with `t1` (just before
 *   the client was called: the fence check comes after), `t2` (after the
 *   answer or the error), `ok`, and `fenced` (the fence refused it);
 * - `<node>.entered.jsonl`: its reconciles of version `slow-<node>`, as
 *   they start: such a reconcile (of this replica) then waits 3 s, heedless of its signal (the
 *   worst reconciler, which only the synchronous fence check stops), and
 *   writes;
 * - `<node>.grants.jsonl`: the holder's grants as it takes them in (the
 *   shards held after each grant message, with when each one's grant
 *   ends) and its releases. `GrantHolder`'s methods are wrapped for this:
 *   the runtime's holder is an instance of this very class (one module);
 * - `<node>.roles.jsonl`: its node's role changes (`role`, `term`,
 *   `leader`, `at`).
 */
import { appendFileSync } from "node:fs";
import { env } from "node:process";
import { type KubeObject, Operator, ReconcileResult } from "../../mod.ts";
import { ApiError, FencedError } from "../../controller/mod.ts";
import { GrantHolder } from "../../sharding/mod.ts";
import { configMaps } from "../controller/_server.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";

const dir = env.SHARD_RUNS_DIR!;
// RAFT_NODE_ID in process mode; in StatefulSet mode (the netns tests) the
// pod name's ordinal.
const node = Number(env.RAFT_NODE_ID ?? env.POD_NAME?.split("-").pop());
// The system clock, with performance.now()'s resolution: a process's
// `performance.timeOrigin` can be off by milliseconds under load.
const clock = wallClock();
const offset = clock() - performance.now();
const wall = (t = performance.now()) => offset + t;
const record = (file: string, line: unknown) =>
  appendFileSync(`${dir}/${node}.${file}.jsonl`, JSON.stringify(line) + "\n");

const onGrant = GrantHolder.prototype.onGrant;
GrantHolder.prototype.onGrant = function (grant, now) {
  const outcome = onGrant.call(this, grant, now);
  const held = grant.granted.flatMap((shard) => {
    const until = this.validUntil(shard, now);
    return until === null ? [] : [[shard, wall(until)]];
  });
  if (held.length > 0) record("grants", { at: wall(now), held });
  return outcome;
};
const release = GrantHolder.prototype.release;
GrantHolder.prototype.release = function (shards) {
  release.call(this, shards);
  if (shards.length > 0) {
    record("grants", { at: wall(), released: [...shards] });
  }
};

type Data = KubeObject & { data?: { v?: string } };

const running = await Operator.fromEnv({ sharding: { shards: 32 } }).controller<
  Data
>(
  configMaps,
  {
    labelSelector: "sharded-test=yes",
    async reconcile(object, ctx) {
      const v = object.data?.v ?? "";
      const out = `out-${object.metadata.name}`;
      const current = await ctx.client.get<Data>(configMaps, out, {
        namespace: "default",
      }).catch((error) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      });
      if (current?.data?.v === v) return ReconcileResult.done();
      if (v === `slow-${node}`) {
        record("entered", { node, key: ctx.key, v, at: wall() });
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
      const attempt = { node, key: ctx.key, v, shard: ctx.shard, t1: wall() };
      try {
        await ctx.client.patch(configMaps, out, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: out, namespace: "default" },
          data: { v },
        }, {
          namespace: "default",
          type: "apply",
          fieldManager: `r${node}-v${v}`,
          force: true,
        });
      } catch (error) {
        const fenced = error instanceof FencedError;
        record("writes", { ...attempt, t2: wall(), ok: false, fenced });
        throw error;
      }
      record("writes", { ...attempt, t2: wall(), ok: true });
      return ReconcileResult.done();
    },
  },
  { sharded: true },
).start();
running.node.onRoleChange((change) =>
  record("roles", { ...change, at: wall() })
);
await running.finished;
