import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Controller } from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import { jsonLogger } from "../../common/log.ts";
import { ReconcileResult } from "../../controller/reconciler.ts";
import { StatusPatch } from "../../controller/status.ts";
import { controllerMetrics, MetricsRegistry } from "../../metrics/mod.ts";
import {
  createWidgets,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "../controller/_server.ts";
import { until } from "../controller/_helpers.ts";
import { parseExposition, value } from "./_exposition.ts";

describe("controllerMetrics", () => {
  it("counts reconciles by result and times them in controller-runtime's buckets", async () => {
    const registry = new MetricsRegistry();
    const { observer } = controllerMetrics({ registry, controller: "widgets" });
    const outcomes = [
      ["success", 3],
      ["success", 7],
      ["requeue", 40],
      ["requeue_after", 200],
      ["error", 2000],
      ["cancelled", 1],
    ] as const;
    for (const [outcome, durationMs] of outcomes) {
      observer.reconciled!({ key: "default/w", term: 2, outcome, durationMs });
    }
    const p = parseExposition(await registry.render());
    const total = (result: string) =>
      value(p, "controller_runtime_reconcile_total", {
        controller: "widgets",
        result,
      });
    assert.deepEqual(
      ["success", "requeue", "requeue_after", "error", "cancelled"].map(total),
      [2, 1, 1, 1, 1],
    );
    assert.equal(
      value(p, "controller_runtime_reconcile_errors_total", {
        controller: "widgets",
      }),
      1,
    );
    const bucket = (le: string) =>
      value(p, "controller_runtime_reconcile_time_seconds_bucket", {
        controller: "widgets",
        le,
      });
    // 1 ms, 3 ms, 7 ms, 40 ms, 200 ms, 2 s; bounds are inclusive.
    assert.deepEqual(
      ["0.005", "0.01", "0.05", "0.2", "1.75", "2", "+Inf"].map(bucket),
      [2, 3, 4, 5, 5, 6, 6],
    );
    assert.ok(
      Math.abs(
        value(p, "controller_runtime_reconcile_time_seconds_sum", {
          controller: "widgets",
        })! - 2.251,
      ) < 1e-9,
    );
  });

  it("follows the work queue: depth, adds, queue wait, work time, retries, active workers", async () => {
    const registry = new MetricsRegistry();
    const { queue } = controllerMetrics({
      registry,
      controller: "widgets",
      concurrency: 8,
    });
    queue.added!("a", { depth: 1 });
    queue.added!("b", { depth: 2 });
    queue.taken!("a", { waitMs: 0.5, depth: 1 });
    let p = parseExposition(await registry.render());
    assert.equal(value(p, "workqueue_depth", { name: "widgets" }), 1);
    assert.equal(value(p, "workqueue_adds_total", { name: "widgets" }), 2);
    assert.equal(
      value(p, "controller_runtime_active_workers", { controller: "widgets" }),
      1,
    );
    assert.equal(
      value(p, "controller_runtime_max_concurrent_reconciles", {
        controller: "widgets",
      }),
      8,
    );
    queue.added!("c", { depth: 2 });
    queue.cleared!({ dropped: 2, depth: 0 });
    p = parseExposition(await registry.render());
    assert.equal(
      value(p, "workqueue_depth", { name: "widgets" }),
      0,
      "a cleared queue (leadership ended) has depth 0",
    );
    queue.added!("b", { depth: 1 });
    queue.done!("a", { workMs: 20 });
    queue.retried!("a", { delayMs: 5, requeues: 1 });
    queue.taken!("b", { waitMs: 3000, depth: 0 });
    p = parseExposition(await registry.render());
    assert.equal(value(p, "workqueue_depth", { name: "widgets" }), 0);
    assert.equal(value(p, "workqueue_retries_total", { name: "widgets" }), 1);
    const waited = (le: string) =>
      value(p, "workqueue_queue_duration_seconds_bucket", {
        name: "widgets",
        le,
      });
    assert.deepEqual(["0.001", "1", "10", "+Inf"].map(waited), [1, 1, 2, 2]);
    assert.equal(
      value(p, "workqueue_work_duration_seconds_bucket", {
        name: "widgets",
        le: "0.1",
      }),
      1,
    );
    assert.equal(
      value(p, "controller_runtime_active_workers", { controller: "widgets" }),
      1,
    );
  });

  it("counts watch restarts by reason, relists, and follows leadership", async () => {
    const registry = new MetricsRegistry();
    const hooks = controllerMetrics({ registry, controller: "widgets" });
    hooks.watch.listed!({
      resource: "widgets",
      objects: 3,
      durationMs: 12,
      relist: false,
    });
    hooks.watch.restarted!({
      resource: "widgets",
      reason: "closed",
      delayMs: 0,
    });
    hooks.watch.restarted!({
      resource: "widgets",
      reason: "expired",
      delayMs: 0,
    });
    hooks.watch.listed!({
      resource: "widgets",
      objects: 3,
      durationMs: 8,
      relist: true,
    });
    hooks.watch.restarted!({
      resource: "widgets",
      reason: "error",
      delayMs: 800,
    });
    hooks.observer.leadership!({ leading: true, term: 5 });
    let p = parseExposition(await registry.render());
    const restarts = (reason: string) =>
      value(p, "k8s_operator_watch_restarts_total", {
        resource: "widgets",
        reason,
      });
    assert.deepEqual(
      ["closed", "expired", "error", "idle"].map(restarts),
      [1, 1, 1, undefined],
    );
    assert.equal(
      value(p, "k8s_operator_watch_relists_total", { resource: "widgets" }),
      1,
    );
    assert.equal(
      value(p, "k8s_operator_watch_list_duration_seconds_count", {
        resource: "widgets",
      }),
      2,
    );
    assert.equal(
      value(p, "k8s_operator_controller_leading", { controller: "widgets" }),
      1,
    );
    assert.equal(
      value(p, "k8s_operator_controller_term", { controller: "widgets" }),
      5,
    );
    hooks.observer.leadership!({ leading: false, term: 5 });
    p = parseExposition(await registry.render());
    assert.equal(
      value(p, "k8s_operator_controller_leading", { controller: "widgets" }),
      0,
    );
  });

  it("gives two controllers on one registry their own labels", async () => {
    const registry = new MetricsRegistry();
    const a = controllerMetrics({ registry, controller: "a" });
    const b = controllerMetrics({ registry, controller: "b" });
    const event = {
      key: "k",
      term: 1,
      outcome: "success" as const,
      durationMs: 1,
    };
    a.observer.reconciled!(event);
    b.observer.reconciled!(event);
    b.observer.reconciled!(event);
    const p = parseExposition(await registry.render());
    assert.equal(
      value(p, "controller_runtime_reconcile_total", { controller: "a" }),
      1,
    );
    assert.equal(
      value(p, "controller_runtime_reconcile_total", { controller: "b" }),
      2,
    );
  });
});

describe("controllerMetrics: events", () => {
  it("counts Event writes by type and outcome, failures included (zero from the start)", async () => {
    const registry = new MetricsRegistry();
    const { events } = controllerMetrics({ registry, controller: "widgets" });
    let p = parseExposition(await registry.render());
    const count = (type: string, outcome: string) =>
      value(p, "k8s_operator_events_total", {
        controller: "widgets",
        type,
        outcome,
      });
    assert.equal(count("Warning", "failed"), 0);
    const recorded = [
      ["Normal", "created"],
      ["Normal", "updated"],
      ["Warning", "failed"],
      ["Warning", "failed"],
      ["Warning", "filtered"],
    ] as const;
    for (const [type, outcome] of recorded) {
      events.recorded!({ type, reason: "R", outcome });
    }
    p = parseExposition(await registry.render());
    assert.deepEqual(
      [
        count("Normal", "created"),
        count("Normal", "updated"),
        count("Warning", "failed"),
        count("Warning", "filtered"),
      ],
      [1, 1, 2, 1],
    );
  });
});

describe("controller metrics and logs against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  it("moves the metrics and writes a JSON line with key and term per reconcile while a controller works", async () => {
    const namespace = "metrics-it";
    const count = 20;
    await createWidgets(h.client, { count, namespace });
    const registry = new MetricsRegistry();
    const hooks = controllerMetrics({
      registry,
      controller: "widgets",
      concurrency: 4,
    });
    const lines: Record<string, unknown>[] = [];
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace,
      concurrency: 4,
      observer: hooks.observer,
      queue: { observer: hooks.queue },
      watch: { observer: hooks.watch },
      logger: jsonLogger({
        level: "debug",
        write: (line) => lines.push(JSON.parse(line)),
      }),
    });
    const reconciled = new Set<string>();
    let failedOnce = false;
    const run = controller.run({
      async reconcile(w, ctx) {
        if (w.metadata.name === "w-3" && !failedOnce) {
          failedOnce = true;
          throw new Error("transient");
        }
        await new StatusPatch(w, { client: ctx.client, resource: widgets })
          .observedGeneration()
          .apply();
        reconciled.add(ctx.key);
        return ReconcileResult.done();
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      let p = parseExposition(await registry.render());
      assert.equal(
        value(p, "controller_runtime_reconcile_total", { result: "success" }),
        undefined,
      );
      assert.equal(
        value(p, "k8s_operator_controller_leading", { controller: "widgets" }),
        0,
      );
      election.setRole("leader", 1);
      await until(() => reconciled.size === count, {
        message: "every widget reconciled",
      });
      await until(async () =>
        value(
          parseExposition(await registry.render()),
          "workqueue_depth",
          { name: "widgets" },
        ) === 0
      );
      p = parseExposition(await registry.render());
      const success = value(p, "controller_runtime_reconcile_total", {
        controller: "widgets",
        result: "success",
      })!;
      assert.ok(success >= count, `${success} successes for ${count} widgets`);
      assert.equal(
        value(p, "controller_runtime_reconcile_total", { result: "error" }),
        1,
      );
      assert.equal(
        value(p, "controller_runtime_reconcile_time_seconds_count"),
        success + 1,
      );
      assert.ok(value(p, "controller_runtime_reconcile_time_seconds_sum")! > 0);
      assert.ok(
        value(p, "workqueue_adds_total", { name: "widgets" })! >= count,
      );
      assert.equal(value(p, "workqueue_retries_total", { name: "widgets" }), 1);
      assert.equal(
        value(p, "workqueue_queue_duration_seconds_count", { name: "widgets" }),
        success + 1,
      );
      assert.equal(
        value(p, "k8s_operator_controller_leading", { controller: "widgets" }),
        1,
      );
      assert.equal(
        value(p, "k8s_operator_controller_term", { controller: "widgets" }),
        1,
      );
      const reconcileLines = lines.filter((l) =>
        l.message === "reconciled" || l.message === "reconcile failed"
      );
      assert.equal(reconcileLines.length, success + 1);
      for (const line of reconcileLines) {
        assert.equal(typeof line.time, "string");
        assert.equal(line.term, 1);
        assert.match(String(line.key), /^metrics-it\/w-\d+$/);
      }
      const failed = reconcileLines.find((l) => l.level === "error")!;
      assert.equal(failed.key, "metrics-it/w-3");
      assert.equal(failed.error, "Error: transient");

      h.server.faults.closeWatches({
        resource: "widgets",
        namespace,
        error: { code: 410, reason: "Expired" },
      });
      await until(async () =>
        value(
          parseExposition(await registry.render()),
          "k8s_operator_watch_relists_total",
          { resource: "widgets" },
        ) === 1
      );
      p = parseExposition(await registry.render());
      assert.equal(
        value(p, "k8s_operator_watch_restarts_total", {
          resource: "widgets",
          reason: "expired",
        }),
        1,
      );
    } finally {
      stop.abort();
      await run;
    }
  });
});
