import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Controller,
  generationChanged,
  type ReconcileEvent,
} from "../../controller/controller.ts";
import { Reflector, type StoreEvent } from "../../controller/cache.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import type { LogFields } from "../../common/log.ts";
import {
  type Reconciler,
  ReconcileResult,
} from "../../controller/reconciler.ts";
import { ManualClock } from "../../common/clock.ts";
import type { KubeObject } from "../../client/objects.ts";
import type { WatchRestartReason } from "../../controller/watcher.ts";
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

interface Line {
  level: string;
  message: string;
  fields: LogFields;
}

function recordingLogger(lines: Line[]) {
  const at = (level: string) => (message: string, fields: LogFields = {}) =>
    lines.push({ level, message, fields });
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}

describe("Controller runtime against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  it("retries a failing reconcile after 5, 10, 20 ms, honours requeueAfter on the clock, and reports each reconcile with key, term, result and duration", async () => {
    const ns = "requeue";
    await ensureNamespace(h.client, ns);
    for (const name of ["fails", "later"]) {
      await h.client.create<Widget>(widgets, {
        metadata: { name, namespace: ns },
        spec: { size: 1 },
      });
    }
    const clock = new ManualClock();
    const election = new LeaderElection(0);
    election.setRole("leader", 4);
    const events: ReconcileEvent[] = [];
    const lines: Line[] = [];
    const leadership: Array<{ leading: boolean; term: number }> = [];
    let failuresLeft = 3;
    const calls = new Map<string, number>();
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      clock,
      logger: recordingLogger(lines),
      observer: {
        reconciled: (event) => events.push(event),
        leadership: (event) => leadership.push(event),
      },
    });
    const done = controller.run({
      reconcile(widget, ctx) {
        calls.set(ctx.key, (calls.get(ctx.key) ?? 0) + 1);
        if (widget.metadata.name === "later") {
          clock.advance(2);
          return Promise.resolve(ReconcileResult.requeueAfter(30_000));
        }
        if (failuresLeft-- > 0) {
          return Promise.reject(new Error("not yet"));
        }
        return Promise.resolve(ReconcileResult.done());
      },
    }, { signal: stop.signal });
    const of = (key: string) => events.filter((e) => e.key === key);
    try {
      for (const expected of [5, 10, 20]) {
        const before = of(`${ns}/fails`).length;
        await until(() => of(`${ns}/fails`).length === before + 1);
        const last = of(`${ns}/fails`).at(-1)!;
        assert.equal(last.outcome, "error");
        assert.equal(last.retryInMs, expected);
        assert.equal(clock.nextAt(), clock.now() + expected);
        clock.advance(expected);
      }
      await until(() => of(`${ns}/fails`).length === 4);
      assert.deepEqual(
        of(`${ns}/fails`).map((e) => e.outcome),
        ["error", "error", "error", "success"],
      );
      assert.equal(calls.get(`${ns}/fails`), 4);

      await until(() => of(`${ns}/later`).length === 1);
      const later = of(`${ns}/later`)[0]!;
      assert.equal(later.outcome, "requeue_after");
      assert.equal(later.retryInMs, 30_000);
      assert.equal(later.term, 4);
      assert.equal(later.durationMs, 2, "measured on the controller's clock");
      clock.advance(29_000);
      assert.equal(calls.get(`${ns}/later`), 1, "not before 30 s");
      clock.advance(1_000);
      await until(() => calls.get(`${ns}/later`) === 2);

      const reconcileLines = lines.filter((l) =>
        l.message === "reconciled" || l.message === "reconcile failed"
      );
      assert.equal(reconcileLines.length, events.length);
      for (const line of reconcileLines) {
        assert.equal(line.fields.term, 4);
        assert.match(String(line.fields.key), /^requeue\/(fails|later)$/);
        assert.equal(typeof line.fields.durationMs, "number");
        assert.equal(
          line.level,
          line.fields.result === "error" ? "error" : "debug",
        );
      }
      assert.deepEqual(leadership, [{ leading: true, term: 4 }]);
      election.setRole("follower", 5);
      await until(() => leadership.length === 2);
      assert.deepEqual(leadership[1], { leading: false, term: 4 });
    } finally {
      stop.abort();
      await done;
    }
  });

  it("runs at most `concurrency` reconciles at once and reaches it", async () => {
    const ns = "concurrency";
    await createWidgets(h.client, { count: 9, namespace: ns });
    const election = new LeaderElection(0);
    election.setRole("leader", 1);
    let inflight = 0;
    let most = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => release = resolve);
    const finished = new Set<string>();
    const reconciler: Reconciler<Widget> = {
      async reconcile(_widget, ctx) {
        inflight++;
        most = Math.max(most, inflight);
        await gate;
        inflight--;
        finished.add(ctx.key);
        return ReconcileResult.done();
      },
    };
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      concurrency: 3,
    });
    const done = controller.run(reconciler, { signal: stop.signal });
    try {
      await until(() => inflight === 3);
      assert.equal(controller.queue.processing, 3);
      assert.equal(controller.queue.length, 6);
      release();
      await until(() => finished.size === 9);
      assert.equal(most, 3);
    } finally {
      stop.abort();
      await done;
    }
  });

  it("takes over from its warm cache: a new leader reconciles without listing again", async () => {
    const ns = "warm";
    await createWidgets(h.client, { count: 5, namespace: ns });
    const lists = h.server.faults.delay({
      verb: "list",
      resource: "widgets",
      ms: 0,
    });
    const election = new LeaderElection(0);
    const reconciled = new Set<string>();
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      component: "warm-operator",
      events: { api: "events.k8s.io/v1", instance: "pod-1" },
    });
    const done = controller.run({
      async reconcile(widget, ctx) {
        await ctx.recorder.normal(widget, {
          reason: "Reconciled",
          message: "done",
        });
        reconciled.add(ctx.key);
        return ReconcileResult.done();
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      await h.client.create<Widget>(widgets, {
        metadata: { name: "late", namespace: ns },
        spec: { size: 1 },
      });
      await until(() => controller.reflector.store.size === 6);
      assert.equal(reconciled.size, 0, "a follower does not reconcile");
      const listsBefore = lists.hits;
      election.setRole("leader", 1);
      await until(() => reconciled.size === 6);
      assert.equal(lists.hits, listsBefore, "no list on taking over");
      const recorded = await h.client.list<
        KubeObject & { reportingController: string; reportingInstance: string }
      >({
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        kind: "Event",
        namespaced: true,
      }, { namespace: ns });
      assert.equal(
        recorded.items.length,
        6,
        "ctx.recorder wrote through the events option",
      );
      assert.ok(
        recorded.items.every((e) =>
          e.reportingController === "warm-operator" &&
          e.reportingInstance === "pod-1"
        ),
      );
    } finally {
      lists.cancel();
      stop.abort();
      await done;
    }
  });

  it("queues nothing while following (objects that come and go leave no key behind) and drops its queue when leadership ends", async () => {
    const ns = "follower-queue";
    await createWidgets(h.client, { count: 6, namespace: ns });
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
    });
    const queued = () => controller.queue.length + controller.queue.scheduled;
    const reconciled: string[] = [];
    const done = controller.run({
      reconcile(widget, ctx) {
        reconciled.push(ctx.key);
        // One object keeps failing, so its key waits out a backoff.
        if (widget.metadata.name === "w-0") throw new Error("keeps failing");
        return Promise.resolve(ReconcileResult.done());
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      for (let i = 0; i < 20; i++) {
        const name = `churn-${i}`;
        await h.client.create<Widget>(widgets, {
          metadata: { name, namespace: ns },
          spec: { size: 1 },
        });
        await h.client.delete(widgets, name, { namespace: ns });
      }
      await h.client.delete(widgets, "w-5", { namespace: ns });
      await until(() => controller.reflector.store.size === 5, {
        message: "the follower's cache saw the churn",
      });
      assert.equal(queued(), 0, "a follower holds no keys");
      election.setRole("leader", 1);
      await until(() => new Set(reconciled).size === 5, {
        message: "the leader reconciled every cached object",
      });
      assert.ok(
        reconciled.every((key) =>
          !key.includes("churn") && key !== `${ns}/w-5`
        ),
        "only objects that exist are reconciled",
      );
      await until(() => controller.queue.scheduled === 1, {
        message: "the failing key waits out its backoff",
      });
      election.setRole("follower", 2);
      await until(() => queued() === 0, {
        message: "the queue is dropped when leadership ends",
      });
    } finally {
      stop.abort();
      await done;
    }
  });

  it("a new leader reconciles the objects that changed while it followed first, in the order they changed, then every other cached object", async () => {
    const ns = "changed-first";
    await createWidgets(h.client, { count: 8, namespace: ns, parallel: 1 });
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      concurrency: 1,
      predicate: generationChanged,
    });
    const reconciled: string[] = [];
    const done = controller.run({
      reconcile(_widget, ctx) {
        reconciled.push(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      // Changed while following: w-6, then w-3; w-5 is changed and then
      // deleted, so its key must not come back.
      for (const name of ["w-6", "w-3", "w-5"]) {
        await h.client.patch(widgets, name, { spec: { size: 2 } }, {
          namespace: ns,
        });
      }
      await h.client.delete(widgets, "w-5", { namespace: ns });
      await until(
        () =>
          controller.reflector.store.size === 7 &&
          controller.reflector.store.getBy("w-3", ns)?.metadata.generation ===
            2,
        { message: "the follower's cache saw the changes" },
      );
      assert.equal(controller.queue.length, 0, "a follower holds no keys");
      election.setRole("leader", 1);
      await until(() => reconciled.length === 7, {
        message: "the leader reconciled every cached object",
      });
      assert.deepEqual(reconciled.slice(0, 2), [`${ns}/w-6`, `${ns}/w-3`]);
      assert.deepEqual(
        [...reconciled].sort(),
        [0, 1, 2, 3, 4, 6, 7].map((i) => `${ns}/w-${i}`),
      );
    } finally {
      stop.abort();
      await done;
    }
  });

  it("a change while a new leader's cached objects wait to be reconciled goes before them", async () => {
    const ns = "change-during-takeover";
    await createWidgets(h.client, { count: 8, namespace: ns, parallel: 1 });
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      concurrency: 1,
      predicate: generationChanged,
    });
    const reconciled: string[] = [];
    const first = Promise.withResolvers<void>();
    const done = controller.run({
      async reconcile(_widget, ctx) {
        reconciled.push(ctx.key);
        if (reconciled.length === 1) await first.promise;
        return ReconcileResult.done();
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      await until(() => controller.reflector.store.size === 8, {
        message: "the follower cached every object",
      });
      const cached = controller.reflector.store.keys();
      election.setRole("leader", 1);
      await until(() => reconciled.length === 1, {
        message: "the first cached object is being reconciled",
      });
      // The last of the cached objects changes while the others wait.
      const last = cached[7];
      await h.client.patch(widgets, last.split("/")[1], { spec: { size: 2 } }, {
        namespace: ns,
      });
      await until(
        () =>
          controller.queue.length === 7 && reconciled.length === 1 &&
          controller.reflector.store.get(last)?.metadata.generation === 2,
        {
          message: "the change was seen while the first reconcile waits",
        },
      );
      first.resolve();
      await until(
        () =>
          reconciled.length === 8 && controller.queue.length === 0 &&
          controller.queue.processing === 0,
        { message: "the leader reconciled every cached object once" },
      );
      assert.deepEqual(reconciled, [cached[0], last, ...cached.slice(1, 7)]);
    } finally {
      stop.abort();
      await done;
    }
  });

  it("a new leader reconciles first what a user changed shortly before, not what the old leader wrote the status of long before; the predicate keeps status writes out of both", async () => {
    const ns = "recent-first";
    await createWidgets(h.client, { count: 8, namespace: ns, parallel: 1 });
    const run = async (predicate?: typeof generationChanged) => {
      const election = new LeaderElection(0);
      const stop = new AbortController();
      const clock = new ManualClock();
      const controller = Controller.for<Widget>(widgets, {
        client: h.client,
        guard: election.guard(),
        namespace: ns,
        concurrency: 1,
        clock,
        predicate,
      });
      const reconciled: string[] = [];
      const done = controller.run({
        reconcile(_widget, ctx) {
          reconciled.push(ctx.key);
          return Promise.resolve(ReconcileResult.done());
        },
      }, { signal: stop.signal });
      const seen = (name: string, check: (w: Widget) => boolean) =>
        until(() => {
          const widget = controller.reflector.store.getBy(name, ns);
          return widget !== undefined && check(widget);
        }, { message: `the follower saw ${name} change` });
      try {
        await controller.reflector.synced;
        // The old leader writes the status of each object, then, a
        // minute later, a user changes w-6 and w-2 and the leader dies.
        for (let i = 0; i < 8; i++) {
          const size = Date.now();
          await h.client.patch(widgets, `w-${i}`, { status: { size } }, {
            namespace: ns,
            subresource: "status",
          });
          await seen(`w-${i}`, (w) => w.status?.size === size);
        }
        clock.advance(60_000);
        // A status write just before: noted only without the predicate.
        await h.client.patch(widgets, "w-0", { status: { size: 0 } }, {
          namespace: ns,
          subresource: "status",
        });
        await seen("w-0", (w) => w.status?.size === 0);
        for (const name of ["w-6", "w-2"]) {
          const generation = controller.reflector.store.getBy(name, ns)!
            .metadata.generation!;
          await h.client.patch(widgets, name, {
            spec: { size: generation + 100 },
          }, {
            namespace: ns,
          });
          await seen(name, (w) => w.metadata.generation === generation + 1);
        }
        clock.advance(1_000);
        election.setRole("leader", 1);
        await until(
          () =>
            reconciled.length === 8 && controller.queue.length === 0 &&
            controller.queue.processing === 0,
          { message: "the leader reconciled every cached object once" },
        );
        return reconciled;
      } finally {
        stop.abort();
        await done;
      }
    };
    const key = (i: number) => `${ns}/w-${i}`;
    const all = await run();
    assert.deepEqual(all.slice(0, 3), [0, 6, 2].map(key));
    assert.deepEqual(all.slice(3).sort(), [1, 3, 4, 5, 7].map(key));
    const filtered = await run(generationChanged);
    assert.deepEqual(filtered.slice(0, 2), [6, 2].map(key));
    assert.deepEqual(filtered.slice(2).sort(), [0, 1, 3, 4, 5, 7].map(key));
  });

  it("a takeover's resync of objects that need no I/O gives the event loop a turn every 5 ms of reconciling, not only after the whole queue", async () => {
    const ns = "event-loop-turns";
    await createWidgets(h.client, { count: 40, namespace: ns, parallel: 4 });
    // Each reconcile takes 1 ms on the controller's clock and sends
    // nothing, as a resync of objects already done: without a turn they
    // run in one chain of microtasks, and no response, watch event or
    // timer (the lease's renewal) is handled until all 40 are done.
    const clock = new ManualClock();
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      concurrency: 1,
      clock,
    });
    let reconciles = 0;
    let turnAfter: number | undefined;
    const done = controller.run({
      reconcile() {
        if (reconciles === 0) {
          setTimeout(() => turnAfter = reconciles, 0);
        }
        reconciles++;
        clock.advance(1);
        return Promise.resolve(ReconcileResult.done());
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      await until(() => controller.reflector.store.size === 40, {
        message: "the follower cached every object",
      });
      election.setRole("leader", 1);
      await until(() => reconciles === 40, {
        message: "the leader reconciled every cached object",
      });
      assert.equal(
        turnAfter,
        5,
        "the event loop turned after 5 ms of reconciles",
      );
    } finally {
      stop.abort();
      await done;
    }
  });

  it("a new leader reconciles first the primary that a related object changed while it followed names", async () => {
    const ns = "related-first";
    await createWidgets(h.client, { count: 5, namespace: ns, parallel: 1 });
    const election = new LeaderElection(0);
    const stop = new AbortController();
    const mapped: string[] = [];
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      concurrency: 1,
    }).watches<KubeObject>(configMaps, (cm) => {
      mapped.push(cm.metadata.name!);
      const target = cm.metadata.labels?.widget;
      return target ? [{ name: target, namespace: ns }] : [];
    });
    const reconciled: string[] = [];
    const done = controller.run({
      reconcile(_widget, ctx) {
        reconciled.push(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    }, { signal: stop.signal });
    try {
      await controller.reflector.synced;
      // Names w-4 (cached) and w-9 (no such Widget: nothing to run).
      for (const [name, widget] of [["for-9", "w-9"], ["for-4", "w-4"]]) {
        await h.client.create(configMaps, {
          metadata: { name, namespace: ns, labels: { widget } },
        } as KubeObject);
      }
      // The mapper runs as the follower's related cache takes each change.
      await until(() => mapped.includes("for-4"), {
        message: "the follower's related cache saw the ConfigMaps",
      });
      assert.equal(controller.queue.length, 0, "a follower holds no keys");
      election.setRole("leader", 1);
      await until(() => reconciled.length === 5, {
        message: "the leader reconciled every cached object",
      });
      assert.equal(reconciled[0], `${ns}/w-4`);
    } finally {
      stop.abort();
      await done;
    }
  });

  it("keeps the cache consistent across a 410 relist: deletions and creations missed while disconnected are emitted, and reports restarts and lists", async () => {
    const ns = "relist";
    await ensureNamespace(h.client, ns);
    for (const name of ["a", "b", "c"]) {
      await h.client.create<Widget>(widgets, {
        metadata: { name, namespace: ns },
        spec: { size: 1 },
      });
    }
    const clock = new ManualClock();
    const restarts: WatchRestartReason[] = [];
    const lists: Array<{ objects: number; relist: boolean }> = [];
    const stop = new AbortController();
    const reflector = new Reflector<Widget>({
      client: h.client,
      resource: widgets,
      namespace: ns,
      clock,
      random: () => 0.5,
      observer: {
        restarted: (e) => restarts.push(e.reason),
        listed: (e) => lists.push({ objects: e.objects, relist: e.relist }),
      },
    });
    const seen: string[] = [];
    reflector.subscribe((e: StoreEvent<Widget>) =>
      seen.push(`${e.type}:${e.object.metadata.name}`)
    );
    const running = reflector.run(stop.signal);
    try {
      await reflector.synced;
      assert.deepEqual(lists, [{ objects: 3, relist: false }]);
      seen.length = 0;
      const refused = h.server.faults.failNext({
        verb: "watch",
        resource: "widgets",
        status: 500,
        count: Infinity,
      });
      await until(() =>
        h.server.faults.closeWatches({ resource: "widgets", namespace: ns }) >
          0 || restarts.includes("error")
      );
      await until(() => restarts.includes("error"));
      await h.client.delete(widgets, "b", { namespace: ns });
      await h.client.create<Widget>(widgets, {
        metadata: { name: "d", namespace: ns },
        spec: { size: 1 },
      });
      h.server.faults.compact();
      refused.cancel();
      clock.advance(clock.nextAt()! - clock.now());
      // The resumed watch gets 410 Gone; the relist waits the backoff.
      await until(() => restarts.includes("expired"));
      await until(() => clock.nextAt()! < clock.now() + 30_000);
      clock.advance(clock.nextAt()! - clock.now());
      await until(() => seen.length === 2);
      assert.deepEqual(seen.sort(), ["apply:d", "delete:b"]);
      assert.deepEqual(reflector.store.keys().sort(), [
        "relist/a",
        "relist/c",
        "relist/d",
      ]);
      assert.ok(restarts.includes("expired"), restarts.join(","));
      assert.deepEqual(lists.at(-1), { objects: 3, relist: true });
      const before = restarts.length;
      clock.advance(1_000); // a watch that lasted a second is not "very short"
      await until(() =>
        h.server.faults.closeWatches({ resource: "widgets", namespace: ns }) >
          0
      );
      await until(() => restarts.length > before);
      assert.equal(restarts.at(-1), "closed");
    } finally {
      stop.abort();
      await running;
    }
  });
});
