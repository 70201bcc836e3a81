import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Controller, generationChanged } from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import {
  type Reconciler,
  ReconcileResult,
} from "../../controller/reconciler.ts";
import { StatusPatch } from "../../controller/status.ts";
import { FencedError, isApiError } from "../../client/errors.ts";
import type { KubeObject, ResourceType } from "../../client/objects.ts";
import { ManualClock } from "../../common/clock.ts";
import {
  configMaps,
  createWidgets,
  ensureNamespace,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "./_server.ts";
import { until } from "./_helpers.ts";

const F = "example.com/cleanup";
const secrets: ResourceType = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
  namespaced: true,
};

describe("Controller lifecycle against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  it("runs cleanup once on deletion, keeps other finalizers, and the object disappears", async () => {
    const ns = "fin";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "a", namespace: ns, finalizers: ["other.io/keep"] },
      spec: { size: 1 },
    });
    let cleanups = 0;
    let failuresLeft = 3;
    const reconciler: Reconciler<Widget> = {
      reconcile: () => Promise.resolve(ReconcileResult.done()),
      cleanup: () => {
        cleanups++;
        if (failuresLeft-- > 0) {
          return Promise.reject(new Error("cleanup failed"));
        }
        return Promise.resolve(ReconcileResult.done());
      },
    };
    const election = new LeaderElection(0);
    election.setRole("leader", 1);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      finalizer: F,
      queue: { maxDelayMs: 50 },
    });
    const done = controller.run(reconciler, { signal: stop.signal });
    try {
      await until(async () => {
        const w = await h.client.get<Widget>(widgets, "a", { namespace: ns });
        return w.metadata.finalizers?.includes(F) ?? false;
      }, { everyMs: 20 });
      const withBoth = await h.client.get<Widget>(widgets, "a", {
        namespace: ns,
      });
      assert.deepEqual(withBoth.metadata.finalizers, ["other.io/keep", F]);

      await h.client.delete(widgets, "a", { namespace: ns });
      await until(() => cleanups >= 1);
      const during = await h.client.get<Widget>(widgets, "a", {
        namespace: ns,
      });
      assert.ok(
        during.metadata.finalizers?.includes(F),
        "a failing cleanup keeps the finalizer",
      );
      await until(async () => {
        const w = await h.client.get<Widget>(widgets, "a", { namespace: ns });
        return !w.metadata.finalizers?.includes(F);
      }, { everyMs: 20 });
      assert.equal(cleanups, 4, "retried until it succeeded, then not again");
      const rest = await h.client.get<Widget>(widgets, "a", { namespace: ns });
      assert.deepEqual(rest.metadata.finalizers, ["other.io/keep"]);

      await h.client.patch(widgets, "a", [
        { op: "test", path: "/metadata/finalizers/0", value: "other.io/keep" },
        { op: "remove", path: "/metadata/finalizers/0" },
      ], { namespace: ns, type: "json" });
      await until(async () => {
        try {
          await h.client.get(widgets, "a", { namespace: ns });
          return false;
        } catch (error) {
          return isApiError(error, 404);
        }
      }, { everyMs: 20 });
      await until(() => controller.reflector.store.size === 0);
      assert.equal(cleanups, 4);
    } finally {
      stop.abort();
      await done;
    }
  });

  it("aborts a reconcile when leadership is lost, makes no further writes, keeps the cache warm and resumes on regaining it", async () => {
    const ns = "lead";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "slow", namespace: ns },
      spec: { size: 1 },
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => release = resolve);
    let entered = () => {};
    const inside = new Promise<void>((resolve) => entered = resolve);
    const writeErrors: unknown[] = [];
    let abortedSignal: AbortSignal | undefined;
    const counts = new Map<string, number>();
    const reconciler: Reconciler<Widget> = {
      async reconcile(widget, ctx) {
        counts.set(ctx.key, (counts.get(ctx.key) ?? 0) + 1);
        if (ctx.key === `${ns}/slow` && counts.get(ctx.key) === 1) {
          abortedSignal = ctx.signal;
          entered();
          await gate;
          try {
            await ctx.client.patch(widgets, "slow", {
              metadata: { annotations: { written: "after-loss" } },
            }, { namespace: ns });
          } catch (error) {
            writeErrors.push(error);
            throw error;
          }
        }
        await new StatusPatch(widget, { client: ctx.client, resource: widgets })
          .observedGeneration().apply();
        return ReconcileResult.done();
      },
    };
    const election = new LeaderElection(0);
    election.setRole("leader", 1);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      predicate: generationChanged,
    });
    const done = controller.run(reconciler, { signal: stop.signal });
    try {
      await inside;
      election.setRole("follower", 2);
      assert.equal(abortedSignal?.aborted, true, "ctx.signal aborted at once");
      release();
      await until(() => writeErrors.length === 1);
      assert.ok(writeErrors[0] instanceof FencedError);
      const slow = await h.client.get<Widget>(widgets, "slow", {
        namespace: ns,
      });
      assert.equal(slow.metadata.annotations?.written, undefined);
      assert.equal(
        slow.status?.observedGeneration,
        undefined,
        "no write from the deposed replica",
      );

      await h.client.create<Widget>(widgets, {
        metadata: { name: "while-follower", namespace: ns },
        spec: { size: 1 },
      });
      await until(() =>
        controller.reflector.store.getBy("while-follower", ns) !== undefined
      );
      assert.equal(
        counts.get(`${ns}/while-follower`),
        undefined,
        "followers do not reconcile",
      );

      const regained = performance.now();
      election.setRole("leader", 3);
      await until(() =>
        (counts.get(`${ns}/while-follower`) ?? 0) >= 1 &&
        (counts.get(`${ns}/slow`) ?? 0) >= 2
      );
      const takeoverMs = performance.now() - regained;
      assert.ok(takeoverMs < 5_000, `took over in ${takeoverMs.toFixed(0)} ms`);
      await until(async () => {
        const w = await h.client.get<Widget>(widgets, "slow", {
          namespace: ns,
        });
        return w.status?.observedGeneration === w.metadata.generation;
      }, { everyMs: 20 });
    } finally {
      release();
      stop.abort();
      await done;
    }
  });

  it("reconciles the owner when an owned child changes, and what a watches() mapper names", async () => {
    const ns = "owns";
    await ensureNamespace(h.client, ns);
    const a = await h.client.create<Widget>(widgets, {
      metadata: { name: "a", namespace: ns },
      spec: { size: 1 },
    });
    const counts = new Map<string, number>();
    const election = new LeaderElection(0);
    election.setRole("leader", 1);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      predicate: generationChanged,
    })
      .owns(configMaps)
      .watches<KubeObject>(secrets, (secret) => {
        const target = secret.metadata.labels?.widget;
        return target
          ? [{ name: target, namespace: secret.metadata.namespace }]
          : [];
      });
    const done = controller.run({
      async reconcile(widget, ctx) {
        counts.set(ctx.key, (counts.get(ctx.key) ?? 0) + 1);
        try {
          await ctx.client.create(configMaps, {
            metadata: {
              name: `${widget.metadata.name}-cm`,
              namespace: ns,
              ownerReferences: [{
                apiVersion: "example.com/v1",
                kind: "Widget",
                name: widget.metadata.name!,
                uid: widget.metadata.uid!,
                controller: true,
              }],
            },
            data: { size: String(widget.spec.size) },
          } as KubeObject);
        } catch (error) {
          if (!isApiError(error, 409)) throw error;
        }
        return ReconcileResult.done();
      },
    }, { signal: stop.signal });
    const key = `${ns}/a`;
    try {
      await until(() =>
        (counts.get(key) ?? 0) >= 1 && controller.queue.length === 0
      );
      await until(async () => {
        try {
          await h.client.get(configMaps, "a-cm", { namespace: ns });
          return true;
        } catch {
          return false;
        }
      }, { everyMs: 20 });
      const afterCreate = counts.get(key)!;
      await h.client.delete(configMaps, "a-cm", { namespace: ns });
      await until(() => counts.get(key)! > afterCreate);
      await until(async () => {
        try {
          const cm = await h.client.get<KubeObject>(configMaps, "a-cm", {
            namespace: ns,
          });
          return cm.metadata.ownerReferences?.[0]?.uid === a.metadata.uid;
        } catch {
          return false;
        }
      }, {
        everyMs: 20,
        message: "the child recreated by the owner's reconcile",
      });
      const afterChild = counts.get(key)!;
      await h.client.create(secrets, {
        metadata: { name: "s", namespace: ns, labels: { widget: "a" } },
      });
      await until(() => counts.get(key)! > afterChild, {
        message: "the mapped primary reconciled",
      });
      assert.deepEqual([...counts.keys()], [key]);
    } finally {
      stop.abort();
      await done;
    }
  });

  it("survives the API server paused for a simulated minute: no leadership change, no exit, every pending change reconciled after", async () => {
    const ns = "pause";
    await createWidgets(h.client, { count: 20, namespace: ns });
    const clock = new ManualClock();
    const election = new LeaderElection(0);
    election.setRole("leader", 7);
    const stop = new AbortController();
    const reconciled = new Map<string, number>();
    const warnings: string[] = [];
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      predicate: generationChanged,
      clock,
      watch: { idleTimeoutMs: 10_000 },
      logger: {
        info: () => {},
        warn: (message) => warnings.push(message),
        error: (message) => warnings.push(message),
      },
    });
    let exited = false;
    const done = controller.run({
      async reconcile(widget, ctx) {
        await new StatusPatch(widget, { client: ctx.client, resource: widgets })
          .observedGeneration().apply();
        reconciled.set(ctx.key, widget.metadata.generation ?? 0);
        return ReconcileResult.done();
      },
    }, { signal: stop.signal }).finally(() => exited = true);
    const leadership: boolean[] = [];
    const off = election.subscribe((s) => leadership.push(s.isLeader));
    try {
      await until(() => reconciled.size === 20);
      for (let i = 0; i < 20; i += 2) {
        await h.client.patch(widgets, `w-${i}`, { spec: { size: 2 } }, {
          namespace: ns,
        });
      }
      h.server.faults.pause();
      for (let second = 0; second < 60; second++) {
        clock.advance(1_000);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.equal(exited, false, "the controller is still running");
      assert.ok(
        warnings.includes("watch failed, retrying"),
        "the simulated minute reached the watch loop (idle timeout, retry)",
      );
      assert.equal(election.guard().isLeader(), true);
      assert.equal(election.guard().term, 7);
      h.server.faults.resume();
      await until(async () => {
        clock.advance(1_000);
        const list = await h.client.list<Widget>(widgets, { namespace: ns });
        return list.items.every((w) =>
          w.status?.observedGeneration === w.metadata.generation
        );
      }, { everyMs: 20, timeoutMs: 30_000 });
      assert.deepEqual(leadership, [], "no leadership change");
      assert.equal(exited, false);
    } finally {
      off();
      stop.abort();
      await done;
    }
  });
});
