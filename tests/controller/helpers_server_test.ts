import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addFinalizer, removeFinalizer } from "../../controller/finalizers.ts";
import { StatusCondition, StatusPatch } from "../../controller/status.ts";
import { EventRecorder, type KubeEvent } from "../../controller/events.ts";
import type { KubeObject, ResourceType } from "../../client/objects.ts";
import {
  ensureNamespace,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "./_server.ts";

const newEvents: ResourceType = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};

interface NewEvent extends KubeObject {
  regarding: { name?: string; uid?: string };
  note: string;
  reportingController: string;
  series?: { count: number; lastObservedTime: string };
}

const events: ResourceType = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};

describe("finalizers, status and events against the test API server", () => {
  let h: Harness;
  const ns = "helpers";
  before(async () => {
    h = await startServer();
    await ensureNamespace(h.client, ns);
  });
  after(async () => {
    await h.stop();
  });

  it("adds a finalizer from a stale copy without dropping one another controller added meanwhile", async () => {
    const stale = await h.client.create<Widget>(widgets, {
      metadata: { name: "f1", namespace: ns },
      spec: { size: 1 },
    });
    await h.client.patch(widgets, "f1", {
      metadata: { finalizers: ["other.io/keep"] },
    }, { namespace: ns });
    const updated = await addFinalizer(stale, {
      client: h.client,
      resource: widgets,
      finalizer: "example.com/mine",
    });
    assert.deepEqual(updated.metadata.finalizers, [
      "other.io/keep",
      "example.com/mine",
    ]);
    await h.client.patch(widgets, "f1", {
      metadata: {
        finalizers: ["first.io/x", "other.io/keep", "example.com/mine"],
      },
    }, { namespace: ns });
    const removed = await removeFinalizer(updated, {
      client: h.client,
      resource: widgets,
      finalizer: "example.com/mine",
    });
    assert.deepEqual(removed?.metadata.finalizers, [
      "first.io/x",
      "other.io/keep",
    ]);
  });

  it("keeps lastTransitionTime across status writes and writes nothing when nothing changed", async () => {
    let now = new Date("2024-01-01T00:00:00Z");
    const w = await h.client.create<Widget>(widgets, {
      metadata: { name: "s1", namespace: ns },
      spec: { size: 1 },
    });
    const patch = (obj: Widget, ready: boolean, message: string) =>
      new StatusPatch(obj, {
        client: h.client,
        resource: widgets,
        now: () => now,
      })
        .condition(StatusCondition.ready(ready).withMessage(message))
        .observedGeneration()
        .apply();
    const first = (await patch(w, true, "up"))!;
    now = new Date("2024-01-01T01:00:00Z");
    const second = (await patch(first, true, "still up"))!;
    const conditions = second.status?.conditions as Array<
      { lastTransitionTime: string; message: string }
    >;
    assert.equal(conditions[0]!.lastTransitionTime, "2024-01-01T00:00:00Z");
    assert.equal(conditions[0]!.message, "still up");
    assert.equal(await patch(second, true, "still up"), null);
    const live = await h.client.get<Widget>(widgets, "s1", { namespace: ns });
    assert.equal(
      live.metadata.resourceVersion,
      second.metadata.resourceVersion,
    );
    const third = (await patch(live, false, "down"))!;
    const flipped = third.status?.conditions as Array<
      { lastTransitionTime: string }
    >;
    assert.equal(flipped[0]!.lastTransitionTime, "2024-01-01T01:00:00Z");
  });

  it("keeps a condition another controller wrote after our copy was read: the stale write gets 409, is recomputed from a fresh read and merged", async () => {
    const w = await h.client.create<Widget>(widgets, {
      metadata: { name: "s-shared", namespace: ns },
      spec: { size: 1 },
    });
    const cached = (await new StatusPatch(w, {
      client: h.client,
      resource: widgets,
    }).condition(new StatusCondition("TheirsA", "True")).apply())!;
    // Another controller adds its own condition; our cache has not seen it.
    const theirs = new StatusPatch(cached, {
      client: h.client,
      resource: widgets,
    }).condition(new StatusCondition("TheirsB", "False"));
    await theirs.apply();
    const patches = h.server.faults.delay({
      verb: "patch",
      resource: "widgets/status",
      namespace: ns,
      name: "s-shared",
      ms: 0,
    });
    const ours = await new StatusPatch(cached, {
      client: h.client,
      resource: widgets,
    }).condition(StatusCondition.ready(true)).observedGeneration().apply();
    const types = (ours!.status?.conditions as Array<{ type: string }>).map((
      c,
    ) => c.type);
    assert.deepEqual(types, ["TheirsA", "TheirsB", "Ready"]);
    assert.equal(patches.hits, 2, "the stale write was refused, then redone");
    const live = await h.client.get<Widget>(widgets, "s-shared", {
      namespace: ns,
    });
    assert.deepEqual(
      (live.status?.conditions as Array<{ type: string }>).map((c) => c.type),
      ["TheirsA", "TheirsB", "Ready"],
    );
  });

  it("gives up with the 409 after `attempts` writes when the object keeps changing", async () => {
    const w = await h.client.create<Widget>(widgets, {
      metadata: { name: "s-busy", namespace: ns },
      spec: { size: 1 },
    });
    const conflicts = h.server.faults.failNext({
      verb: "patch",
      resource: "widgets/status",
      namespace: ns,
      name: "s-busy",
      status: 409,
      count: Infinity,
    });
    try {
      await assert.rejects(
        new StatusPatch(w, { client: h.client, resource: widgets, attempts: 3 })
          .condition(StatusCondition.ready(true)).apply(),
        (error: Error) =>
          error.name === "ApiError" && /409/.test(error.message),
      );
      assert.equal(conflicts.hits, 3);
    } finally {
      conflicts.cancel();
    }
  });

  it("aggregates repeated identical events into one Event on the server", async () => {
    const w = await h.client.create<Widget>(widgets, {
      metadata: { name: "e1", namespace: ns },
      spec: { size: 1 },
    });
    const recorder = new EventRecorder(h.client, "widget-operator");
    for (let i = 0; i < 5; i++) {
      await recorder.warning(w, { reason: "Failed", message: "no quota" });
    }
    await recorder.normal(w, { reason: "Ready", message: "ok" });
    const list = await h.client.list<KubeEvent>(events, { namespace: ns });
    const mine = list.items.filter((e) => e.involvedObject.name === "e1");
    assert.equal(mine.length, 2);
    const failed = mine.find((e) => e.reason === "Failed")!;
    assert.equal(failed.count, 5);
    assert.equal(failed.type, "Warning");
    assert.equal(failed.involvedObject.kind, "Widget");
    assert.equal(failed.involvedObject.uid, w.metadata.uid);
    assert.equal(failed.source.component, "widget-operator");
  });

  it("aggregates repeated events into one events.k8s.io/v1 Event with a series on the server", async () => {
    const w = await h.client.create<Widget>(widgets, {
      metadata: { name: "e2", namespace: ns },
      spec: { size: 1 },
    });
    const recorder = new EventRecorder(h.client, "widget-operator", {
      api: "events.k8s.io/v1",
    });
    for (let i = 0; i < 4; i++) {
      await recorder.warning(w, { reason: "Failed", message: "no quota" });
    }
    const list = await h.client.list<NewEvent>(newEvents, { namespace: ns });
    const mine = list.items.filter((e) => e.regarding.name === "e2");
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.series?.count, 4);
    assert.equal(mine[0]!.regarding.uid, w.metadata.uid);
    assert.equal(mine[0]!.note, "no quota");
    assert.equal(mine[0]!.reportingController, "widget-operator");
    const core = await h.client.list<KubeEvent>(events, { namespace: ns });
    assert.equal(
      core.items.filter((e) => e.involvedObject.name === "e2").length,
      0,
    );
  });
});
