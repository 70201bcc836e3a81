/**
 * Sharded controllers on three real `RaftNode`s with their sharding
 * runtimes, against the test API server, in real time. Each replica runs
 * `Controller` with `shards: runtime`; the reconciler records every
 * reconcile (replica, key, shard, start, end) and writes the object's
 * status. Checked: every object is reconciled, by the replica that holds
 * its shard; no shard is ever held by two processes (at every 5 ms poll);
 * and no two replicas' completed reconciles of one object overlap in time,
 * also across a kill of a replica while reconciles run.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Controller, generationChanged } from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import {
  type Reconciler,
  ReconcileResult,
} from "../../controller/reconciler.ts";
import type { NodeId } from "../../common/leadership.ts";
import { startServer, type Widget, widgets } from "../controller/_server.ts";
import type { Harness } from "../controller/_server.ts";
import { ShardCluster } from "./_cluster.ts";

const SHARDS = 16;
const OBJECTS = 40;
const NS = "default";

interface Run {
  replica: NodeId;
  key: string;
  shard: number;
  size: number;
  start: number;
  end: number;
  holders: NodeId[];
  ok: boolean;
}

describe("sharded controllers on three replicas", () => {
  let c: ShardCluster;
  let h: Harness;
  const stops = new Map<NodeId, AbortController>();
  const running: Promise<void>[] = [];
  beforeEach(async () => {
    h = await startServer();
    c = new ShardCluster({ shards: SHARDS, realTime: true });
  });
  afterEach(async () => {
    for (const stop of stops.values()) stop.abort();
    await Promise.allSettled(running);
    stops.clear();
    running.length = 0;
    await c.stopAll();
    await h.stop();
  });

  function startController(id: NodeId, runs: Run[]): void {
    const runtime = c.members.get(id)!.runtime;
    const reconciler: Reconciler<Widget> = {
      async reconcile(widget, ctx) {
        const run: Run = {
          replica: id,
          key: ctx.key,
          shard: ctx.shard!,
          size: widget.spec.size,
          start: performance.now(),
          end: 0,
          holders: c.holdersOf(ctx.shard!),
          ok: false,
        };
        runs.push(run);
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 10);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            reject(ctx.signal.reason);
          }, { once: true });
        });
        await ctx.client.patch(widgets, widget.metadata.name!, {
          status: { size: widget.spec.size, by: id },
        }, { namespace: NS, subresource: "status" });
        run.end = performance.now();
        run.ok = true;
        return ReconcileResult.done();
      },
    };
    const stop = new AbortController();
    stops.set(id, stop);
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: new LeaderElection(id).guard(),
      shards: runtime,
      predicate: generationChanged,
      concurrency: 4,
    });
    running.push(controller.run(reconciler, { signal: stop.signal }));
  }

  /** Each object's last successful reconcile saw `size`. */
  function allReconciled(runs: Run[], size: number): boolean {
    const done = new Set(
      runs.filter((r) => r.ok && r.size === size).map((r) => r.key),
    );
    return done.size === OBJECTS;
  }

  function checkRuns(runs: Run[]): void {
    for (const r of runs) {
      assert.deepEqual(
        r.holders,
        [r.replica],
        `${r.key} (shard ${r.shard}) reconciled by ${r.replica} while held by ${r.holders}`,
      );
    }
    const byKey = Map.groupBy(runs.filter((r) => r.ok), (r) => r.key);
    for (const [key, list] of byKey) {
      for (const a of list) {
        for (const b of list) {
          if (a.replica === b.replica) continue;
          assert.ok(
            a.end <= b.start || b.end <= a.start,
            `${key} reconciled by ${a.replica} [${a.start}, ${a.end}] and ${b.replica} [${b.start}, ${b.end}]`,
          );
        }
      }
    }
  }

  /** Checks the runs so far at every poll, so that a violation fails at once. */
  function checked(runs: Run[]): boolean {
    checkRuns(runs);
    return true;
  }

  it("reconciles every object once per change, each by the replica holding its shard, also across a kill", async () => {
    for (let i = 0; i < OBJECTS; i++) {
      await h.client.create<Widget>(widgets, {
        metadata: { name: `w-${i}`, namespace: NS },
        spec: { size: 1 },
      });
    }
    await c.start();
    const runs: Run[] = [];
    for (const id of [0, 1, 2]) startController(id, runs);
    // Waits for convergence and the reconciles: bounded by the deadline only.
    await c.waitFor(
      () => checked(runs) && c.settled([0, 1, 2]) && allReconciled(runs, 1),
      {
        limitMs: 20_000,
      },
    );
    const replicas = new Set(runs.map((r) => r.replica));
    assert.equal(replicas.size, 3, "all three replicas reconcile");
    checkRuns(runs);

    // Change every object and kill a replica that holds shards meanwhile.
    const victim = [...c.members.values()].find((m) => m !== c.leader())!.id;
    for (let i = 0; i < OBJECTS; i++) {
      await h.client.patch(widgets, `w-${i}`, { spec: { size: 2 } }, {
        namespace: NS,
      });
    }
    stops.get(victim)!.abort();
    await c.kill(victim);
    const others = [0, 1, 2].filter((id) => id !== victim);
    await c.waitFor(
      () => checked(runs) && c.settled(others) && allReconciled(runs, 2),
      {
        limitMs: 20_000,
      },
    );
    checkRuns(runs);
    const after = await h.client.list<Widget>(widgets, { namespace: NS });
    for (const w of after.items) {
      const status = w.status as { size?: number; by?: number };
      assert.equal(status.size, 2, `${w.metadata.name} has the new size`);
    }
  });
});
