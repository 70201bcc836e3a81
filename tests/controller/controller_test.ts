import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Controller,
  type ControllerOptions,
  generationChanged,
} from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import {
  type Context,
  type Reconciler,
  ReconcileResult,
} from "../../controller/reconciler.ts";
import { StatusPatch } from "../../controller/status.ts";
import {
  createWidgets,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "./_server.ts";
import { until } from "./_helpers.ts";

/** Counts reconciles per key and catches a key reconciled twice at once. */
class Tracker {
  readonly counts = new Map<string, number>();
  readonly seenGeneration = new Map<string, number>();
  readonly inflight = new Set<string>();
  overlaps = 0;

  enter(key: string, widget: Widget): void {
    if (this.inflight.has(key)) this.overlaps++;
    this.inflight.add(key);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.seenGeneration.set(key, widget.metadata.generation ?? 0);
  }

  leave(key: string): void {
    this.inflight.delete(key);
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

/** Reconciles by writing observedGeneration to the status. */
function statusReconciler(
  tracker: Tracker,
  hook?: (widget: Widget, ctx: Context) => Promise<void>,
): Reconciler<Widget> {
  return {
    async reconcile(widget, ctx) {
      tracker.enter(ctx.key, widget);
      try {
        await hook?.(widget, ctx);
        await new StatusPatch(widget, { client: ctx.client, resource: widgets })
          .observedGeneration()
          .apply();
        return ReconcileResult.done();
      } finally {
        tracker.leave(ctx.key);
      }
    },
  };
}

function start(
  h: Harness,
  reconciler: Reconciler<Widget>,
  options: Partial<ControllerOptions<Widget>> = {},
) {
  const election = new LeaderElection(0);
  election.setRole("leader", 1);
  const stop = new AbortController();
  const controller = Controller.for<Widget>(widgets, {
    client: h.client,
    guard: election.guard(),
    concurrency: 8,
    predicate: generationChanged,
    watch: { backoffBaseMs: 5, backoffMaxMs: 200 },
    ...options,
  });
  const done = controller.run(reconciler, { signal: stop.signal });
  return {
    controller,
    election,
    done,
    async stop() {
      stop.abort();
      await done;
    },
  };
}

function idle(controller: Controller<Widget>): boolean {
  return controller.queue.length === 0 && controller.queue.processing === 0;
}

async function allObserved(h: Harness): Promise<boolean> {
  const list = await h.client.list<Widget>(widgets);
  return list.items.every((w) =>
    w.status?.observedGeneration === w.metadata.generation
  );
}

describe("Controller against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ bookmarkIntervalMs: 200 });
  });
  after(async () => {
    await h.stop();
  });

  it("converges 1,000 objects; one change gives exactly one more reconcile; a burst of 50 updates during a reconcile gives at most 2 more", async () => {
    await createWidgets(h.client, { count: 1000, namespace: "converge" });
    const tracker = new Tracker();
    let gate: Promise<void> | null = null;
    let entered = () => {};
    const c = start(
      h,
      statusReconciler(tracker, async (_w, ctx) => {
        if (ctx.key === "converge/w-7" && gate) {
          entered();
          await gate;
        }
      }),
      { namespace: "converge" },
    );
    try {
      await until(() => tracker.counts.size === 1000 && idle(c.controller), {
        message: "1,000 widgets reconciled",
        timeoutMs: 60_000,
      });
      assert.equal(tracker.overlaps, 0);
      assert.ok([...tracker.counts.values()].every((n) => n === 1));

      await h.client.patch(widgets, "w-3", { spec: { size: 2 } }, {
        namespace: "converge",
      });
      await until(() =>
        tracker.count("converge/w-3") === 2 && idle(c.controller)
      );
      await h.client.patch<Widget>(widgets, "w-4", { spec: { size: 5 } }, {
        namespace: "converge",
      });
      await until(() =>
        tracker.count("converge/w-4") === 2 && idle(c.controller)
      );
      assert.equal(tracker.count("converge/w-3"), 2, "exactly one more");

      let release = () => {};
      gate = new Promise((resolve) => release = resolve);
      const inside = new Promise<void>((resolve) => entered = resolve);
      await h.client.patch(widgets, "w-7", { spec: { size: 3 } }, {
        namespace: "converge",
      });
      await inside;
      for (let i = 0; i < 50; i++) {
        await h.client.patch(widgets, "w-7", { spec: { size: 10 + i } }, {
          namespace: "converge",
        });
      }
      gate = null;
      release();
      await until(() =>
        tracker.seenGeneration.get("converge/w-7") === 52 && idle(c.controller)
      );
      const extra = tracker.count("converge/w-7") - 2;
      assert.ok(extra <= 2, `${extra} more reconciles after the burst`);
      assert.equal(tracker.overlaps, 0);
    } finally {
      await c.stop();
    }
  });

  it("reconciles every object despite dropped watches, 410 Gone, 409, 500 and 429, never one key twice at once", async () => {
    const ns = "faults";
    await createWidgets(h.client, { count: 60, namespace: ns });
    const tracker = new Tracker();
    const failedKeys = new Set<string>();
    const c = start(h, statusReconciler(tracker), {
      namespace: ns,
      logger: {
        info: () => {},
        warn: () => {},
        error: (message, fields) => {
          if (message === "reconcile failed") {
            failedKeys.add(String(fields?.key));
          }
        },
      },
      queue: { qps: 1000, burst: 1000, maxDelayMs: 100 },
      // A connection broken mid-stream without a reset looks like silence:
      // the idle timeout (bookmarks arrive every 200 ms) is what catches it.
      watch: { backoffBaseMs: 5, backoffMaxMs: 200, idleTimeoutMs: 1_000 },
    });
    try {
      await until(() => tracker.counts.size === 60, { timeoutMs: 30_000 });
      const statusFaults = [
        h.server.faults.failNext({
          verb: "patch",
          resource: "widgets/status",
          status: 409,
          count: 5,
        }),
        h.server.faults.failNext({
          verb: "patch",
          resource: "widgets/status",
          status: 500,
          count: 5,
        }),
        h.server.faults.failNext({
          verb: "patch",
          resource: "widgets/status",
          status: 429,
          count: 5,
          retryAfterSeconds: 0,
        }),
      ];
      for (let round = 0; round < 6; round++) {
        for (let i = round; i < 60; i += 6) {
          await h.client.patch(widgets, `w-${i}`, {
            spec: { size: 100 + round },
          }, { namespace: ns });
        }
        if (round === 1) h.server.faults.closeWatches({ resource: "widgets" });
        if (round === 2) {
          h.server.faults.closeWatches({ resource: "widgets", abort: true });
        }
        if (round === 3) {
          h.server.faults.compact();
          h.server.faults.closeWatches({
            resource: "widgets",
            error: { code: 410, reason: "Expired" },
          });
        }
        if (round === 4) {
          h.server.faults.failNext({
            verb: "watch",
            resource: "widgets",
            status: 500,
          });
          h.server.faults.closeWatches({ resource: "widgets" });
        }
      }
      await until(async () => idle(c.controller) && await allObserved(h), {
        message: "every widget's latest generation observed",
        everyMs: 50,
        timeoutMs: 30_000,
      });
      assert.equal(tracker.overlaps, 0);
      assert.deepEqual(
        statusFaults.map((f) => f.hits),
        [5, 5, 5],
        "the faults were hit",
      );
      // A 409 is retried inside StatusPatch (fresh read, recomputed patch);
      // the 500s and 429s fail their reconciles, which are retried.
      assert.ok(c.controller.metrics.failures >= 10, "the failures counted");
      assert.ok(failedKeys.size > 0);
      for (const key of failedKeys) {
        assert.match(key, /^faults\/w-\d+$/, "errors are logged with the key");
      }
    } finally {
      await c.stop();
    }
  });
});
