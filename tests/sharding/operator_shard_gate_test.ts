/**
 * `RunningOperator.shards`: a controller built by hand with
 * `Controller.for(resource, { shards: running.shards })` on three
 * operators started with `sharding: { enabled: true }` and no controller
 * of their own (Raft over the HTTP transport on loopback, the test control
 * plane). Every object is reconciled, by all three replicas, each reconcile
 * of a shard its replica holds then, never two replicas' reconciles of one
 * object at once; a write after the grant ended is fenced. Sharding is off
 * (`shards` is `null`) unless enabled or a controller is sharded, and
 * `enabled: false` with a sharded controller is refused.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Replicas,
  startReplicas,
  startTestControlPlane,
  type TestControlPlane,
} from "../../testing/mod.ts";
import {
  type KubeObject,
  Operator,
  ReconcileResult,
  type RunningOperator,
} from "../../mod.ts";
import {
  Controller,
  FencedError,
  KubeClient,
  type ShardGate,
} from "../../controller/mod.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";
import { configMaps } from "../controller/_server.ts";
import { createSites } from "./_records.ts";
import { assertNoOverlap, type RunRecord } from "./_runs.ts";

const OBJECTS = 30;
const ENV = {
  RAFT_NODE_ID: "0",
  RAFT_PEERS: "0=127.0.0.1:7000",
  RAFT_SECRET: "0123456789abcdef",
};

interface Run extends RunRecord {
  shard: number | undefined;
  v: string | undefined;
  /** `running.shards.holds(ctx.shard)` as the reconcile started. */
  held: boolean;
}

async function until(what: string, check: () => boolean): Promise<void> {
  // Bounds the wait only: three operators on a loaded shared machine.
  const deadline = performance.now() + 30_000;
  while (!check()) {
    if (performance.now() > deadline) {
      throw new Error(`Expected ${what} within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("RunningOperator.shards, off by default", () => {
  it("refuses sharding.enabled false with a sharded controller", () => {
    assert.throws(
      () =>
        Operator.fromEnv({ env: ENV, sharding: { enabled: false } })
          .controller(configMaps, {
            reconcile: () => Promise.resolve(ReconcileResult.done()),
          }, { sharded: true }),
      (error: unknown) =>
        error instanceof TypeError &&
        /Expected sharding enabled for the sharded controller of ConfigMap, found sharding.enabled false/
          .test(error.message),
    );
  });
});

describe(
  `a controller built on RunningOperator.shards, three operators (${plane.kind} control plane)`,
  { skip: skipUnlessRunnable("the RunningOperator.shards test") },
  () => {
    let server: TestControlPlane;
    let client: KubeClient;
    let replicas: Replicas;
    let plain: Replicas;
    const runs: Run[] = [];
    const stop = new AbortController();
    const controllers: Promise<void>[] = [];

    before(async () => {
      server = await startTestControlPlane({ kind: plane.kind });
      client = KubeClient.fromKubeConfig(server.kubeConfig());
      replicas = await startReplicas({
        controlPlane: server,
        operator: (options) =>
          Operator.fromEnv({
            ...options,
            sharding: { enabled: true, shards: 32 },
          }),
      });
      for (let id = 0; id < 3; id++) {
        const running = replicas.running(id)!;
        controllers.push(handBuilt(running, running.shards!));
      }
    });

    after(async () => {
      stop.abort();
      await Promise.allSettled(controllers);
      await replicas?.stop();
      await plain?.stop();
      await server?.stop();
    });

    function handBuilt(
      running: RunningOperator,
      gate: ShardGate,
    ): Promise<void> {
      return Controller.for<KubeObject & { data?: { v?: string } }>(
        configMaps,
        {
          client: KubeClient.fromKubeConfig(server.kubeConfig()),
          guard: running.election.guard(),
          shards: gate,
          labelSelector: "sharded-test=yes",
          concurrency: 2,
        },
      ).run({
        async reconcile(object, ctx) {
          const run: Run = {
            node: running.config.raft.nodeId,
            key: ctx.key,
            shard: ctx.shard,
            v: object.data?.v,
            held: ctx.shard !== undefined && gate.holds(ctx.shard),
            start: performance.now(),
            end: null,
          };
          runs.push(run);
          if (object.data?.v === "fence") {
            // Waits past the grant's end (the signal aborts when it ends),
            // then writes: the grant check before the send refuses it.
            await new Promise((resolve) =>
              ctx.signal.addEventListener("abort", resolve, { once: true })
            );
            const error = await ctx.client.patch(
              configMaps,
              `${object.metadata.name}-late`,
              { data: { v: "late" } },
              { namespace: "default" },
            ).then(() => null, (e) => e);
            fenced.push(error);
            return ReconcileResult.done();
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
          ctx.signal.throwIfAborted();
          run.end = performance.now();
          return ReconcileResult.done();
        },
      }, { signal: stop.signal });
    }
    const fenced: unknown[] = [];

    it("reconciles every object on all three replicas, each under its shard's grant, never two at once", async () => {
      await createSites(client, OBJECTS);
      await until(
        "every object reconciled",
        () =>
          new Set(runs.filter((r) => r.end !== null).map((r) => r.key))
            .size === OBJECTS,
      );
      assert.deepEqual(
        new Set(runs.map((r) => r.node)),
        new Set([0, 1, 2]),
        "all three replicas reconciled",
      );
      assert.ok(
        runs.every((r) => r.held),
        `every reconcile held its shard: ${
          JSON.stringify(runs.filter((r) => !r.held))
        }`,
      );
      for (const r of runs) {
        const gate = replicas.running(r.node)!.shards!;
        const object = await client.get<KubeObject>(
          configMaps,
          r.key.split("/")[1],
          { namespace: "default" },
        );
        assert.equal(r.shard, gate.shardOf(object), `${r.key}'s shard`);
      }
      assertNoOverlap(runs);
    });

    it("fences a write of a hand-built controller sent after its replica stopped holding the shard", async () => {
      const key = "default/site-0";
      await client.patch(configMaps, "site-0", { data: { v: "fence" } }, {
        namespace: "default",
      });
      await until(
        `a replica reconciling ${key} at v fence`,
        () => runs.some((r) => r.key === key && r.v === "fence"),
      );
      const owner = runs.find((r) => r.key === key && r.v === "fence")!.node;
      // A graceful stop releases every shard: the reconcile's signal
      // aborts and its write must not leave.
      await replicas.stop(owner);
      await until("the late write tried", () => fenced.length > 0);
      assert.ok(
        fenced[0] instanceof FencedError,
        `the late write was fenced, found ${String(fenced[0])}`,
      );
      await assert.rejects(
        client.get(configMaps, "site-0-late", { namespace: "default" }),
        /404|not found/i,
      );
    });

    it("is null when sharding is not enabled and no controller is sharded", async () => {
      plain = await startReplicas({
        controlPlane: server,
        replicas: 1,
        operator: (options) => Operator.fromEnv(options),
      });
      assert.equal(plain.running(0)!.shards, null);
    });
  },
);
