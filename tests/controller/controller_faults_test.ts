/**
 * The Controller under the faults the December review found: mappings that
 * forget the previous owner, keys stranded in backoff after a relist,
 * throwing observers, cancelled reconciles not counted, Retry-After ignored,
 * reconcilers that mutate the cache, Event writes that fail.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Controller,
  type ControllerOptions,
  type ReconcileEvent,
} from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import {
  type Reconciler,
  ReconcileResult,
} from "../../controller/reconciler.ts";
import { ManualClock } from "../../common/clock.ts";
import type { KubeObject, ResourceType } from "../../client/objects.ts";
import type { EventOutcome } from "../../controller/events.ts";
import type { LogFields } from "../../common/log.ts";
import {
  configMaps,
  ensureNamespace,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "./_server.ts";
import { until } from "./_helpers.ts";

const secrets: ResourceType = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
  namespaced: true,
};

/** Reconcile counts per key. */
class Counts {
  readonly #counts = new Map<string, number>();
  add(key: string): void {
    this.#counts.set(key, this.get(key) + 1);
  }
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}

interface Running {
  controller: Controller<Widget>;
  election: LeaderElection;
  stop(): Promise<void>;
}

function run(
  h: Harness,
  options: Omit<ControllerOptions<Widget>, "client" | "guard">,
  reconciler: Reconciler<Widget>,
  build: (c: Controller<Widget>) => Controller<Widget> = (c) => c,
): Running {
  const election = new LeaderElection(0);
  election.setRole("leader", 1);
  const controller = build(Controller.for<Widget>(widgets, {
    client: h.client,
    guard: election.guard(),
    ...options,
  }));
  const abort = new AbortController();
  const done = controller.run(reconciler, { signal: abort.signal });
  return {
    controller,
    election,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

async function widgetsIn(h: Harness, ns: string, names: string[]) {
  await ensureNamespace(h.client, ns);
  for (const name of names) {
    await h.client.create<Widget>(widgets, {
      metadata: { name, namespace: ns },
      spec: { size: 1 },
    });
  }
}

function idle(controller: Controller<Widget>): boolean {
  return controller.queue.length === 0 && controller.queue.processing === 0;
}

describe("Controller under faults, against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  it("reconciles both the old and the new owner when a child's controller ownerReference moves", async () => {
    const ns = "owner-moves";
    await widgetsIn(h, ns, ["a", "b"]);
    const [a, b] = await Promise.all(
      ["a", "b"].map((name) =>
        h.client.get<Widget>(widgets, name, { namespace: ns })
      ),
    );
    const ownedBy = (w: Widget) => [{
      apiVersion: "example.com/v1",
      kind: "Widget",
      name: w.metadata.name!,
      uid: w.metadata.uid!,
      controller: true,
    }];
    await h.client.create(configMaps, {
      metadata: { name: "child", namespace: ns, ownerReferences: ownedBy(a!) },
    });
    const counts = new Counts();
    const r = run(h, { namespace: ns }, {
      reconcile: (_w, ctx) => {
        counts.add(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    }, (c) => c.owns(configMaps));
    try {
      await until(() =>
        counts.get(`${ns}/a`) >= 1 && counts.get(`${ns}/b`) >= 1 &&
        idle(r.controller)
      );
      const before = { a: counts.get(`${ns}/a`), b: counts.get(`${ns}/b`) };
      const child = await h.client.get<KubeObject>(configMaps, "child", {
        namespace: ns,
      });
      await h.client.replace(configMaps, {
        ...child,
        metadata: { ...child.metadata, ownerReferences: ownedBy(b!) },
      });
      await until(() => counts.get(`${ns}/b`) > before.b, {
        message: "the new owner reconciled",
      });
      await until(() => counts.get(`${ns}/a`) > before.a, {
        message: "the previous owner reconciled too",
      });
    } finally {
      await r.stop();
    }
  });

  it("reconciles both primaries a watches() mapper named before and after a label moved", async () => {
    const ns = "label-moves";
    await widgetsIn(h, ns, ["a", "b"]);
    await h.client.create(secrets, {
      metadata: { name: "s", namespace: ns, labels: { widget: "a" } },
    });
    const counts = new Counts();
    const r = run(h, { namespace: ns }, {
      reconcile: (_w, ctx) => {
        counts.add(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    }, (c) =>
      c.watches<KubeObject>(secrets, (secret) => {
        const target = secret.metadata.labels?.widget;
        return target
          ? [{ name: target, namespace: secret.metadata.namespace }]
          : [];
      }));
    try {
      await until(() =>
        counts.get(`${ns}/a`) >= 1 && counts.get(`${ns}/b`) >= 1 &&
        idle(r.controller)
      );
      const before = { a: counts.get(`${ns}/a`), b: counts.get(`${ns}/b`) };
      await h.client.patch(secrets, "s", {
        metadata: { labels: { widget: "b" } },
      }, { namespace: ns });
      await until(() =>
        counts.get(`${ns}/a`) > before.a && counts.get(`${ns}/b`) > before.b
      );
    } finally {
      await r.stop();
    }
  });

  it("re-queues every key after a relist, running one stranded in a long backoff at once and none twice", async () => {
    const ns = "relist-requeue";
    await widgetsIn(h, ns, ["stuck", "changed", "fine"]);
    const clock = new ManualClock();
    const counts = new Counts();
    let failing = true;
    const r = run(h, {
      namespace: ns,
      clock,
      queue: { baseDelayMs: 60_000 },
      watch: { random: () => 0.5 },
    }, {
      reconcile: (w, ctx) => {
        counts.add(ctx.key);
        if (w.metadata.name === "stuck" && failing) {
          return Promise.reject(new Error("downstream outage"));
        }
        return Promise.resolve(ReconcileResult.done());
      },
    });
    const key = (name: string) => `${ns}/${name}`;
    try {
      await until(() =>
        ["stuck", "changed", "fine"].every((n) => counts.get(key(n)) === 1) &&
        idle(r.controller) && r.controller.queue.scheduled === 1
      );
      // The watch expires; while the watcher waits out its backoff, a
      // change lands that only the relist will reveal.
      await until(() =>
        h.server.faults.closeWatches({
          resource: "widgets",
          namespace: ns,
          error: { code: 410 },
        }) > 0
      );
      await until(() => clock.nextAt() === 800, {
        message: "the relist's backoff",
      });
      await h.client.patch(widgets, "changed", { spec: { size: 2 } }, {
        namespace: ns,
      });
      failing = false;
      clock.advance(800);
      await until(() =>
        ["stuck", "changed", "fine"].every((n) => counts.get(key(n)) === 2) &&
        idle(r.controller)
      );
      assert.equal(clock.now(), 800, "long before stuck's 60 s backoff");
      assert.equal(r.controller.queue.scheduled, 0, "its schedule cancelled");
      clock.advance(120_000);
      await until(() => idle(r.controller));
      for (const name of ["stuck", "changed", "fine"]) {
        assert.equal(counts.get(key(name)), 2, `${name} ran once more, only`);
      }
    } finally {
      await r.stop();
    }
  });

  it("re-queues every key each resyncMs when asked to", async () => {
    const ns = "resync";
    await widgetsIn(h, ns, ["a", "b"]);
    const clock = new ManualClock();
    const counts = new Counts();
    const r = run(h, { namespace: ns, clock, resyncMs: 30_000 }, {
      reconcile: (_w, ctx) => {
        counts.add(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    });
    try {
      await until(() =>
        counts.get(`${ns}/a`) === 1 && counts.get(`${ns}/b`) === 1 &&
        idle(r.controller)
      );
      clock.advance(29_999);
      assert.equal(counts.get(`${ns}/a`), 1);
      clock.advance(1);
      await until(() =>
        counts.get(`${ns}/a`) === 2 && counts.get(`${ns}/b`) === 2
      );
      clock.advance(30_000);
      await until(() =>
        counts.get(`${ns}/a`) === 3 && counts.get(`${ns}/b`) === 3
      );
    } finally {
      await r.stop();
    }
  });

  it("keeps its only worker, and queues keys, when observer hooks throw", async () => {
    const ns = "bad-observer";
    await widgetsIn(h, ns, ["a", "b", "c"]);
    const counts = new Counts();
    const errors: LogFields[] = [];
    const r = run(h, {
      namespace: ns,
      concurrency: 1,
      observer: {
        reconciled: () => {
          throw new Error("metrics backend down");
        },
      },
      queue: {
        observer: {
          added: () => {
            throw new Error("queue metrics down");
          },
        },
      },
      logger: {
        info: () => {},
        warn: () => {},
        error: (message, fields = {}) => {
          if (message === "observer failed") errors.push(fields);
        },
      },
    }, {
      reconcile: (_w, ctx) => {
        counts.add(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    });
    try {
      await until(() =>
        ["a", "b", "c"].every((n) => counts.get(`${ns}/${n}`) === 1)
      );
      assert.ok(errors.some((e) => e.hook === "reconciled"));
      assert.ok(errors.some((e) => e.hook === "added"));
      await h.client.patch(widgets, "a", { spec: { size: 2 } }, {
        namespace: ns,
      });
      await until(() => counts.get(`${ns}/a`) === 2, {
        message: "the worker still takes new work",
      });
    } finally {
      await r.stop();
    }
  });

  it("counts a reconcile that returns after leadership was lost as cancelled, not as reconciled", async () => {
    const ns = "cancelled";
    await widgetsIn(h, ns, ["a"]);
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => entered = resolve);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const outcomes: ReconcileEvent["outcome"][] = [];
    const r = run(h, {
      namespace: ns,
      observer: { reconciled: (e) => outcomes.push(e.outcome) },
    }, {
      async reconcile() {
        if (outcomes.length > 0) return ReconcileResult.done();
        entered();
        await gate; // ignores ctx.signal, as a careless reconciler does
        return ReconcileResult.done();
      },
    });
    try {
      await inside;
      r.election.setRole("follower", 2);
      release();
      await until(() => outcomes.length === 1);
      assert.deepEqual(outcomes, ["cancelled"]);
      assert.deepEqual(r.controller.metrics, {
        reconciles: 0,
        failures: 0,
        cancelled: 1,
      });
    } finally {
      await r.stop();
    }
  });

  it("waits at least the server's Retry-After before retrying a reconcile that got 429", async () => {
    const ns = "retry-after";
    await widgetsIn(h, ns, ["a"]);
    const clock = new ManualClock();
    const events: ReconcileEvent[] = [];
    h.server.faults.failNext({
      verb: "patch",
      resource: "widgets",
      namespace: ns,
      status: 429,
      retryAfterSeconds: 7,
    });
    const r = run(h, {
      namespace: ns,
      clock,
      observer: { reconciled: (e) => events.push(e) },
    }, {
      async reconcile(_w, ctx) {
        await ctx.client.patch(widgets, "a", {
          metadata: { annotations: { touched: "yes" } },
        }, { namespace: ns });
        return ReconcileResult.done();
      },
    });
    try {
      await until(() => events.length === 1);
      assert.equal(events[0]!.outcome, "error");
      assert.equal(events[0]!.retryInMs, 7_000, "not the 5 ms backoff");
      clock.advance(6_999);
      assert.equal(events.length, 1);
      clock.advance(1);
      // At least: the retry's own PATCH comes back as a watch event and
      // queues one more reconcile, which a poll delayed on a loaded
      // machine saw done too (waiting for exactly 2 then timed out).
      await until(() => events.length >= 2);
      assert.equal(events[1]!.outcome, "success");
    } finally {
      await r.stop();
    }
  });

  it("hands reconcilers a frozen object: a mutation throws and the cache keeps what the server sent", async () => {
    const ns = "frozen";
    await widgetsIn(h, ns, ["a"]);
    const attempts: string[] = [];
    let frozen = false;
    const r = run(h, { namespace: ns }, {
      reconcile(widget) {
        frozen = Object.isFrozen(widget) && Object.isFrozen(widget.spec) &&
          Object.isFrozen(widget.metadata);
        try {
          widget.spec.size = 99;
          attempts.push("mutated");
        } catch (error) {
          attempts.push((error as Error).name);
        }
        return Promise.resolve(ReconcileResult.done());
      },
    });
    try {
      await until(() => attempts.length === 1);
      assert.deepEqual(attempts, ["TypeError"]);
      assert.ok(frozen, "the object, its spec and its metadata are frozen");
      assert.equal(
        r.controller.reflector.store.getBy("a", ns)?.spec.size,
        1,
        "the cache is intact",
      );
    } finally {
      await r.stop();
    }
  });

  it("hands a frozen object to reconcile under a finalizer too", async () => {
    const ns = "frozen-finalizer";
    await widgetsIn(h, ns, ["a"]);
    const frozen: boolean[] = [];
    const r = run(h, { namespace: ns, finalizer: "example.com/cleanup" }, {
      reconcile(widget) {
        frozen.push(Object.isFrozen(widget.metadata));
        return Promise.resolve(ReconcileResult.done());
      },
      cleanup: () => Promise.resolve(ReconcileResult.done()),
    });
    try {
      await until(() => frozen.length >= 1);
      assert.deepEqual(frozen.slice(0, 1), [true]);
    } finally {
      await r.stop();
    }
  });

  it("never calls reconcile for an object that is gone: its key is dropped (act on deletion with a finalizer)", async () => {
    const ns = "gone";
    await widgetsIn(h, ns, ["a"]);
    const counts = new Counts();
    const done = new Counts();
    const r = run(h, {
      namespace: ns,
      queue: { observer: { done: (key) => done.add(key) } },
    }, {
      reconcile: (_w, ctx) => {
        counts.add(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    });
    try {
      await until(() => done.get(`${ns}/a`) === 1);
      await h.client.delete(widgets, "a", { namespace: ns });
      await until(() => done.get(`${ns}/a`) === 2, {
        message: "the deletion's key handled",
      });
      assert.equal(
        counts.get(`${ns}/a`),
        1,
        "no reconcile of a deleted object",
      );
    } finally {
      await r.stop();
    }
  });

  it("keeps reconciling when Event writes are refused (403): fired and forgotten, logged and counted", async () => {
    const ns = "events-refused";
    await widgetsIn(h, ns, ["a"]);
    h.server.faults.failNext({
      verb: "create",
      resource: "events",
      namespace: ns,
      status: 403,
      count: Infinity,
    });
    const outcomes: EventOutcome[] = [];
    const warnings: string[] = [];
    const results: ReconcileEvent["outcome"][] = [];
    const r = run(h, {
      namespace: ns,
      events: { observer: { recorded: (e) => outcomes.push(e.outcome) } },
      observer: { reconciled: (e) => results.push(e.outcome) },
      logger: {
        info: () => {},
        warn: (message) => warnings.push(message),
        error: () => {},
      },
    }, {
      reconcile(widget, ctx) {
        // Not awaited, as client-go users record events.
        ctx.recorder.warning(widget, { reason: "Degraded", message: "m" });
        return Promise.resolve(ReconcileResult.done());
      },
    });
    try {
      await until(() => outcomes.length === 1);
      assert.deepEqual(outcomes, ["failed"]);
      assert.deepEqual(results, ["success"]);
      assert.ok(warnings.includes("event not recorded"));
    } finally {
      await r.stop();
    }
  });
});
