/**
 * What a replica of the sharded fault tests records, for `_grants.ts` to
 * check: its holder's grants and releases, and every write its reconciler
 * tries. Used by the process main (`_sharded_writes_main.ts`) and by the
 * in-process tests (`scaling_sharded_test.ts`), each with its own clock.
 *
 * A reconcile of `site-N` at `data.v` writes `out-site-N` (server-side
 * apply, field manager `r<node>-v<v>`, so the API server's request log
 * tells who wrote which version) unless it already has that `v`. A
 * reconcile of version `slow-<node>` by that node waits 3 s first,
 * heedless of its signal (the worst reconciler, which only the synchronous
 * fence check stops).
 */
import { appendFileSync } from "node:fs";
import { setInterval } from "node:timers";
import {
  type KubeObject,
  type OperatorReconciler,
  ReconcileResult,
} from "../../mod.ts";
import {
  ApiError,
  FencedError,
  type KubeClient,
} from "../../controller/mod.ts";
import { GrantHolder } from "../../sharding/mod.ts";
import { configMaps } from "../controller/_server.ts";

/** Where and on which clock (a monotonic reading → the shared time) to record. */
export interface RecordOptions {
  dir: string;
  wall: (monotonic?: number) => number;
}

function append(dir: string, node: number, file: string, line: unknown) {
  appendFileSync(`${dir}/${node}.${file}.jsonl`, JSON.stringify(line) + "\n");
}

/**
 * Wraps `GrantHolder`'s methods so that every holder of this process
 * records to `<node>.grants.jsonl` the shards held after each grant
 * message (with when each one's grant ends) and its releases; returns the
 * undo. The runtime's holders are instances of this very class (one
 * module).
 */
export function recordGrants(options: RecordOptions): () => void {
  const { dir, wall } = options;
  const onGrant = GrantHolder.prototype.onGrant;
  const release = GrantHolder.prototype.release;
  GrantHolder.prototype.onGrant = function (grant, now) {
    const outcome = onGrant.call(this, grant, now);
    const held = grant.granted.flatMap((shard) => {
      const until = this.validUntil(shard, now);
      return until === null ? [] : [[shard, wall(until)]];
    });
    if (held.length > 0) {
      append(dir, this.id, "grants", { at: wall(now), held });
    }
    return outcome;
  };
  GrantHolder.prototype.release = function (shards) {
    release.call(this, shards);
    if (shards.length > 0) {
      append(dir, this.id, "grants", { at: wall(), released: [...shards] });
    }
  };
  return () => {
    GrantHolder.prototype.onGrant = onGrant;
    GrantHolder.prototype.release = release;
  };
}

/**
 * Records to `<node>.stalls.jsonl` every span of more than 50 ms in which
 * this process's event loop ran no timer (`from`, `to`: a ticker due every
 * 10 ms came late), for the scaling test to tell a replica that could not
 * act (starved of CPU, on a loaded machine) from one that was not asked.
 * The ticker keeps no process alive.
 */
export function recordStalls(options: RecordOptions & { node: number }): void {
  const { dir, wall, node } = options;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 50) {
      append(dir, node, "stalls", { from: wall(last), to: wall(now) });
    }
    last = now;
  }, 10).unref();
}

/** A ConfigMap of the tests: `data.v` is its version. */
export type Data = KubeObject & { data?: { v?: string } };

/** Creates ConfigMaps `site-0..count-1` in `default`, labelled for the tests, at `v` 1. */
export async function createSites(
  client: KubeClient,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await client.create(configMaps, {
      metadata: {
        name: `site-${i}`,
        namespace: "default",
        labels: { "sharded-test": "yes" },
      },
      data: { v: "1" },
    } as KubeObject);
  }
}

/**
 * The reconciler of the module comment; it records each write it tries to
 * `<node>.writes.jsonl` (`t1` just before the client was called: the
 * fence check comes after; `t2` after the answer or the error; `ok`;
 * `fenced`) and each slow reconcile as it starts to `<node>.entered.jsonl`.
 */
export function writesReconciler(
  options: RecordOptions,
): OperatorReconciler<Data> {
  const { dir, wall } = options;
  return {
    labelSelector: "sharded-test=yes",
    async reconcile(object, ctx) {
      const node = ctx.guard.nodeId;
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
        append(dir, node, "entered", { node, key: ctx.key, v, at: wall() });
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
        append(dir, node, "writes", {
          ...attempt,
          t2: wall(),
          ok: false,
          fenced,
        });
        throw error;
      }
      append(dir, node, "writes", { ...attempt, t2: wall(), ok: true });
      return ReconcileResult.done();
    },
  };
}
