/**
 * `Operator.controller(resource, reconciler, { sharded: true })` end to
 * end: three operators in this process (their Raft over the HTTP transport
 * on loopback, shard bytes in real frames) against the test control plane.
 * Every object is reconciled; all three replicas take part; no two
 * replicas' reconciles of one object overlap in time; a replica stopped
 * gracefully hands its shards over and the others reconcile its objects.
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
  type OperatorReconciler,
  ReconcileResult,
} from "../../mod.ts";
import { KubeClient } from "../../controller/mod.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";
import { configMaps } from "../controller/_server.ts";
import { createSites } from "./_records.ts";
import { assertNoOverlap, type RunRecord } from "./_runs.ts";

const OBJECTS = 30;

interface Run extends RunRecord {
  node: number;
  key: string;
  shard: number | undefined;
  version: string;
  start: number;
  end: number | null;
}

function recorder(runs: Run[]): OperatorReconciler<KubeObject> {
  return {
    labelSelector: "sharded-test=yes",
    async reconcile(object, ctx) {
      const run: Run = {
        node: ctx.guard.nodeId,
        key: ctx.key,
        shard: ctx.shard,
        version: (object as { data?: { v?: string } }).data?.v ?? "",
        start: performance.now(),
        end: null,
      };
      runs.push(run);
      await new Promise((resolve) => setTimeout(resolve, 5));
      ctx.signal.throwIfAborted();
      run.end = performance.now();
      return ReconcileResult.done();
    },
  };
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

describe(
  `three operators with a sharded controller (${plane.kind} control plane)`,
  {
    skip: skipUnlessRunnable("the sharded operator test"),
  },
  () => {
    let server: TestControlPlane;
    let client: KubeClient;
    let replicas: Replicas;
    const runs: Run[] = [];

    before(async () => {
      server = await startTestControlPlane({ kind: plane.kind });
      client = KubeClient.fromKubeConfig(server.kubeConfig());
      replicas = await startReplicas({
        controlPlane: server,
        operator: (options) =>
          Operator.fromEnv({ ...options, sharding: { shards: 32 } })
            .controller(configMaps, recorder(runs), { sharded: true }),
      });
    });

    after(async () => {
      await replicas?.stop();
      await server?.stop();
    });

    const reconciledAll = (version: string, nodes?: number[]) => () => {
      const keys = new Set(
        runs.filter((r) =>
          r.end !== null && r.version === version &&
          (nodes === undefined || nodes.includes(r.node))
        ).map((r) => r.key),
      );
      return keys.size === OBJECTS;
    };

    it("reconciles every object, spread over the three replicas, never two at once", async () => {
      await createSites(client, OBJECTS);
      await until("every object reconciled", reconciledAll("1"));
      const nodes = new Set(runs.map((r) => r.node));
      assert.equal(nodes.size, 3, `reconciled by ${[...nodes]}`);
      assert.ok(runs.every((r) => r.shard !== undefined), "ctx.shard is set");
      assertNoOverlap(runs);
      // Each replica's /metrics says how many shards it holds: every one
      // holds some (waited for: a stall on this loaded machine can let a
      // replica's grants lapse for a moment until its next renewal).
      const scrape = async (id: number) => {
        const port = replicas.running(id)!.httpPort;
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`))
          .text();
        const line = /^sharding_shards_held\{[^}]*\} (\d+)$/m.exec(text);
        assert.ok(line !== null, text);
        assert.match(text, /^sharding_assignment_epoch\{[^}]*\} [1-9]/m);
        return Number(line[1]);
      };
      const deadline = performance.now() + 30_000;
      let counts = await Promise.all([0, 1, 2].map(scrape));
      while (counts.some((n) => n === 0) && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        counts = await Promise.all([0, 1, 2].map(scrape));
      }
      assert.ok(counts.every((n) => n > 0), `shards held: ${counts}`);
      const held = counts.reduce((a, b) => a + b, 0);
      assert.ok(held <= 32 && held > 0, `${held} shards held`);
    });

    it("a replica stopped gracefully hands its shards to the others", async () => {
      const gone = replicas.running(1)!;
      await gone.stop();
      await gone.finished;
      for (let i = 0; i < OBJECTS; i++) {
        await client.patch(configMaps, `site-${i}`, { data: { v: "2" } }, {
          namespace: "default",
        });
      }
      await until(
        "every object reconciled by the two left",
        reconciledAll("2", [0, 2]),
      );
      assert.ok(
        runs.filter((r) => r.version === "2").every((r) => r.node !== 1),
      );
      assertNoOverlap(runs);
    });
  },
);
