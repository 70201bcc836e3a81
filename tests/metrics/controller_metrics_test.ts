import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Controller } from "../../controller/controller.ts";
import { KubeClient } from "../../controller/client.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import { jsonLogger } from "../../controller/log.ts";
import {
  type Context,
  type Reconciler,
  ReconcileResult,
} from "../../controller/reconciler.ts";
import { StatusPatch } from "../../controller/status.ts";
import {
  instrumentReconciler,
  MetricsRegistry,
  observeController,
} from "../../metrics/mod.ts";
import {
  createWidgets,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "../controller/_server.ts";
import { until } from "../controller/_helpers.ts";
import { parseExposition, value } from "./_exposition.ts";

function fakeContext(key: string, term: number, signal?: AbortSignal): Context {
  return {
    key,
    term,
    signal: signal ?? new AbortController().signal,
  } as Context;
}

const widget = { metadata: { name: "w", namespace: "default" } } as Widget;

describe("instrumentReconciler", () => {
  it("counts each result as controller-runtime does and times every reconcile", async () => {
    const metrics = new MetricsRegistry();
    let clock = 0;
    const outcomes: Array<() => ReconcileResult> = [
      () => ReconcileResult.done(),
      () => ReconcileResult.done(),
      () => ReconcileResult.requeue(),
      () => ReconcileResult.requeueAfter(1000),
      () => {
        throw new Error("boom");
      },
    ];
    const durations = [3, 7, 40, 200, 2000];
    let call = 0;
    const inner: Reconciler<Widget> = {
      reconcile() {
        clock += durations[call];
        return Promise.resolve().then(() => outcomes[call++]());
      },
    };
    const reconciler = instrumentReconciler(inner, {
      registry: metrics,
      controller: "widgets",
      now: () => clock,
    });
    const results = [];
    for (let i = 0; i < 5; i++) {
      try {
        results.push(
          (await reconciler.reconcile(widget, fakeContext("default/w", 2)))
            .action.kind,
        );
      } catch (error) {
        results.push((error as Error).message);
      }
    }
    assert.deepEqual(results, [
      "done",
      "done",
      "requeue",
      "requeueAfter",
      "boom",
    ]);
    const p = parseExposition(await metrics.render());
    const total = (result: string) =>
      value(p, "controller_runtime_reconcile_total", {
        controller: "widgets",
        result,
      });
    assert.equal(total("success"), 2);
    assert.equal(total("requeue"), 1);
    assert.equal(total("requeue_after"), 1);
    assert.equal(total("error"), 1);
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
    // 3 ms, 7 ms, 40 ms, 200 ms, 2 s.
    assert.equal(bucket("0.005"), 1);
    assert.equal(bucket("0.01"), 2);
    assert.equal(bucket("0.05"), 3);
    assert.equal(bucket("0.2"), 4);
    assert.equal(bucket("1.75"), 4);
    assert.equal(bucket("2"), 5);
    assert.equal(bucket("+Inf"), 5);
    assert.equal(
      value(p, "controller_runtime_reconcile_time_seconds_count", {
        controller: "widgets",
      }),
      5,
    );
    assert.ok(
      Math.abs(
        value(p, "controller_runtime_reconcile_time_seconds_sum", {
          controller: "widgets",
        })! - 2.25,
      ) < 1e-9,
    );
  });

  it("counts a reconcile cut short by lost leadership as cancelled, not as an error", async () => {
    const metrics = new MetricsRegistry();
    const stop = new AbortController();
    const reconciler = instrumentReconciler<Widget>({
      reconcile(_w, ctx) {
        stop.abort();
        ctx.signal.throwIfAborted();
        return Promise.resolve(ReconcileResult.done());
      },
    }, { registry: metrics, controller: "widgets" });
    await assert.rejects(
      reconciler.reconcile(widget, fakeContext("default/w", 1, stop.signal)),
    );
    const p = parseExposition(await metrics.render());
    assert.equal(
      value(p, "controller_runtime_reconcile_total", { result: "cancelled" }),
      1,
    );
    assert.equal(value(p, "controller_runtime_reconcile_errors_total"), 0);
  });

  it("writes one JSON line per reconcile with the key, the term and the result", async () => {
    const lines: string[] = [];
    const logger = jsonLogger({
      level: "debug",
      write: (line) => lines.push(line),
      now: () => 0,
    });
    let fail = false;
    const reconciler = instrumentReconciler<Widget>({
      reconcile() {
        if (fail) return Promise.reject(new TypeError("bad spec"));
        return Promise.resolve(ReconcileResult.done());
      },
    }, {
      registry: new MetricsRegistry(),
      controller: "widgets",
      logger,
      now: () => 0,
    });
    await reconciler.reconcile(widget, fakeContext("default/w", 4));
    fail = true;
    await assert.rejects(
      reconciler.reconcile(widget, fakeContext("default/x", 5)),
    );
    const [ok, failed] = lines.map((l) => JSON.parse(l));
    assert.deepEqual(ok, {
      time: "1970-01-01T00:00:00.000Z",
      level: "debug",
      message: "reconciled",
      controller: "widgets",
      key: "default/w",
      term: 4,
      result: "success",
      durationMs: 0,
    });
    assert.equal(failed.level, "error");
    assert.equal(failed.key, "default/x");
    assert.equal(failed.term, 5);
    assert.equal(failed.result, "error");
    assert.equal(failed.error, "TypeError: bad spec");
  });

  it("shares the metric families between two controllers on one registry", async () => {
    const metrics = new MetricsRegistry();
    const done: Reconciler<Widget> = {
      reconcile: () => Promise.resolve(ReconcileResult.done()),
    };
    const a = instrumentReconciler(done, {
      registry: metrics,
      controller: "a",
    });
    const b = instrumentReconciler(done, {
      registry: metrics,
      controller: "b",
    });
    await a.reconcile(widget, fakeContext("k", 1));
    await b.reconcile(widget, fakeContext("k", 1));
    await b.reconcile(widget, fakeContext("k", 1));
    const p = parseExposition(await metrics.render());
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

describe("observeController", () => {
  it("reads the work queue depth and the configured concurrency at scrape time", async () => {
    const metrics = new MetricsRegistry();
    const controller = Controller.for<Widget>(widgets, {
      client: new KubeClient({
        server: "http://unused.invalid",
        transport: () => Promise.reject(new Error("no requests expected")),
      }),
      guard: new LeaderElection(0).guard(),
    });
    const stop = observeController(controller, {
      registry: metrics,
      controller: "widgets",
      concurrency: 8,
    });
    controller.queue.add("default/a");
    controller.queue.add("default/b");
    controller.queue.add("default/a");
    let p = parseExposition(await metrics.render());
    assert.equal(value(p, "workqueue_depth", { name: "widgets" }), 2);
    assert.equal(
      value(p, "controller_runtime_max_concurrent_reconciles", {
        controller: "widgets",
      }),
      8,
    );
    const key = await controller.queue.get();
    p = parseExposition(await metrics.render());
    assert.equal(value(p, "workqueue_depth", { name: "widgets" }), 1);
    assert.equal(
      value(p, "controller_runtime_active_workers", { controller: "widgets" }),
      1,
    );
    controller.queue.done(key!);
    stop();
    p = parseExposition(await metrics.render());
    assert.equal(value(p, "workqueue_depth", { name: "widgets" }), undefined);
    controller.queue.shutDown();
  });
});

describe("controller metrics against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  it("moves reconcile counters, the latency histogram and the queue gauges as a controller works", async () => {
    const namespace = "metrics-it";
    const count = 20;
    await createWidgets(h.client, { count, namespace });
    const metrics = new MetricsRegistry();
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace,
      concurrency: 4,
    });
    observeController(controller, {
      registry: metrics,
      controller: "widgets",
      concurrency: 4,
    });
    const reconciled = new Set<string>();
    let failedOnce = false;
    const run = controller.run(
      instrumentReconciler<Widget>({
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
      }, { registry: metrics, controller: "widgets" }),
      { signal: stop.signal },
    );
    const before = parseExposition(await metrics.render());
    assert.equal(
      value(before, "controller_runtime_reconcile_total", {
        result: "success",
      }),
      undefined,
    );
    await controller.reflector.synced;
    election.setRole("leader", 1);
    await until(() => reconciled.size === count, {
      message: "every widget reconciled",
    });
    const p = parseExposition(await metrics.render());
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
    assert.equal(
      value(p, "controller_runtime_reconcile_time_seconds_bucket", {
        le: "+Inf",
      }),
      success + 1,
    );
    assert.ok(value(p, "controller_runtime_reconcile_time_seconds_sum")! > 0);
    assert.equal(value(p, "workqueue_depth", { name: "widgets" }), 0);
    stop.abort();
    await run;
  });
});
