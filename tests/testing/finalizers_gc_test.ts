import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import {
  failure,
  type Harness,
  startHarness,
  WatchRecorder,
  widgetCrd,
} from "./_helpers.ts";

const W = {
  group: "example.com",
  version: "v1",
  namespace: "default",
  plural: "widgets",
};
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

function widget(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name, ...extra },
    spec: { size: 1 },
  };
}

describe("TestApiServer finalizers and garbage collection", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.ext.createCustomResourceDefinition({ body: widgetCrd() });
  });
  after(async () => {
    await h.server.stop();
  });

  it("keeps an object with finalizers on delete, setting deletionTimestamp", async () => {
    await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("fin", { finalizers: ["example.com/cleanup"] }),
    });
    const deleted = await h.custom.deleteNamespacedCustomObject({
      ...W,
      name: "fin",
    });
    assert.ok(deleted.metadata.deletionTimestamp);
    assert.equal(deleted.metadata.deletionGracePeriodSeconds, 0);
    assert.equal(deleted.metadata.generation, 2);
    const still = await h.custom.getNamespacedCustomObject({
      ...W,
      name: "fin",
    });
    assert.deepEqual(still.metadata.finalizers, ["example.com/cleanup"]);
    const again = await h.custom.deleteNamespacedCustomObject({
      ...W,
      name: "fin",
    });
    assert.equal(
      again.metadata.resourceVersion,
      still.metadata.resourceVersion,
    );
  });

  it("refuses new finalizers on an object being deleted", async () => {
    const { code, status } = await failure(h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "fin",
        body: { metadata: { finalizers: ["example.com/cleanup", "other"] } },
      },
      merge,
    ));
    assert.equal(code, 422);
    assert.match(String(status.message), /no new finalizers can be added/);
  });

  it("removes the object when its last finalizer goes: the patch answers the object without it, a watch sees one DELETED that still lists it (as a real kube-apiserver 1.32)", async () => {
    const current = await h.custom.getNamespacedCustomObject({
      ...W,
      name: "fin",
    });
    const watch = await new WatchRecorder().start(
      h.kc,
      "/apis/example.com/v1/namespaces/default/widgets",
      { resourceVersion: current.metadata.resourceVersion },
    );
    try {
      const patched = await h.custom.patchNamespacedCustomObject(
        {
          ...W,
          name: "fin",
          body: [
            {
              op: "test",
              path: "/metadata/finalizers/0",
              value: "example.com/cleanup",
            },
            { op: "remove", path: "/metadata/finalizers/0" },
          ],
        },
        jsonPatch,
      );
      assert.equal(patched.metadata.finalizers, undefined);
      assert.ok(patched.metadata.deletionTimestamp);
      await watch.until(
        () => watch.events.some((e) => e.type === "DELETED"),
        "DELETED",
      );
      assert.deepEqual(watch.events.map((e) => e.type), ["DELETED"]);
      assert.deepEqual(watch.events[0].object.metadata.finalizers, [
        "example.com/cleanup",
      ]);
      const { code } = await failure(
        h.custom.getNamespacedCustomObject({ ...W, name: "fin" }),
      );
      assert.equal(code, 404);
    } finally {
      watch.stop();
    }
  });

  it("deletes dependents of a deleted owner in the background", async () => {
    const owner = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("owner"),
    });
    const ref = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      name: "owner",
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "owned-cm", ownerReferences: [ref] } },
    });
    await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "owned-secret", ownerReferences: [ref] } },
    });
    const watch = await new WatchRecorder().start(
      h.kc,
      "/api/v1/namespaces/default/configmaps",
      {
        resourceVersion: String(h.server.resourceVersion),
      },
    );
    try {
      await h.custom.deleteNamespacedCustomObject({ ...W, name: "owner" });
      await watch.until(
        () =>
          watch.events.some((e) =>
            e.type === "DELETED" && e.object.metadata.name === "owned-cm"
          ),
        "the dependent ConfigMap to be deleted",
      );
      const secrets = await h.core.listNamespacedSecret({
        namespace: "default",
      });
      assert.ok(
        !secrets.items.some((s) => s.metadata?.name === "owned-secret"),
      );
    } finally {
      watch.stop();
    }
  });

  it("keeps a dependent that still has a live owner", async () => {
    const a = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("owner-a"),
    });
    const b = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("owner-b"),
    });
    const refs = [a, b].map((o) => ({
      apiVersion: "example.com/v1",
      kind: "Widget",
      name: o.metadata.name,
      uid: o.metadata.uid,
    }));
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "two-owners", ownerReferences: refs } },
    });
    await h.custom.deleteNamespacedCustomObject({ ...W, name: "owner-a" });
    // A sentinel object created after the delete: GC for owner-a has run by then.
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "after-gc" } },
    });
    const cm = await h.core.readNamespacedConfigMap({
      name: "two-owners",
      namespace: "default",
    });
    assert.equal(cm.metadata?.deletionTimestamp, undefined);
  });

  it("orphans dependents with propagationPolicy Orphan", async () => {
    const owner = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("orphaner"),
    });
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        metadata: {
          name: "orphan-cm",
          ownerReferences: [{
            apiVersion: "example.com/v1",
            kind: "Widget",
            name: "orphaner",
            uid: owner.metadata.uid,
          }],
        },
      },
    });
    const watch = await new WatchRecorder().start(
      h.kc,
      "/apis/example.com/v1/namespaces/default/widgets",
      {
        resourceVersion: String(h.server.resourceVersion),
        fieldSelector: "metadata.name=orphaner",
      },
    );
    try {
      await h.custom.deleteNamespacedCustomObject({
        ...W,
        name: "orphaner",
        propagationPolicy: "Orphan",
      });
      await watch.until(
        () => watch.events.some((e) => e.type === "DELETED"),
        "the owner to go",
      );
      const cm = await h.core.readNamespacedConfigMap({
        name: "orphan-cm",
        namespace: "default",
      });
      assert.equal(cm.metadata?.ownerReferences, undefined);
      assert.equal(cm.metadata?.deletionTimestamp, undefined);
    } finally {
      watch.stop();
    }
  });

  it("deletes dependents first with propagationPolicy Foreground", async () => {
    const owner = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("fg"),
    });
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        metadata: {
          name: "fg-cm",
          finalizers: ["example.com/hold"],
          ownerReferences: [{
            apiVersion: "example.com/v1",
            kind: "Widget",
            name: "fg",
            uid: owner.metadata.uid,
            blockOwnerDeletion: true,
          }],
        },
      },
    });
    const deleting = await h.custom.deleteNamespacedCustomObject({
      ...W,
      name: "fg",
      propagationPolicy: "Foreground",
    });
    assert.deepEqual(deleting.metadata.finalizers, ["foregroundDeletion"]);
    const watch = await new WatchRecorder().start(
      h.kc,
      "/apis/example.com/v1/namespaces/default/widgets",
      {
        resourceVersion: String(h.server.resourceVersion),
        fieldSelector: "metadata.name=fg",
      },
    );
    try {
      const cm = await h.core.readNamespacedConfigMap({
        name: "fg-cm",
        namespace: "default",
      });
      assert.ok(cm.metadata?.deletionTimestamp);
      const still = await h.custom.getNamespacedCustomObject({
        ...W,
        name: "fg",
      });
      assert.ok(still.metadata.deletionTimestamp);
      await h.core.patchNamespacedConfigMap(
        {
          name: "fg-cm",
          namespace: "default",
          body: { metadata: { finalizers: null } },
        },
        merge,
      );
      await watch.until(
        () => watch.events.some((e) => e.type === "DELETED"),
        "the owner to go",
      );
    } finally {
      watch.stop();
    }
  });

  it("terminates a namespace: its content goes, then the namespace", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "doomed" } } });
    await h.core.createNamespacedConfigMap({
      namespace: "doomed",
      body: { metadata: { name: "c1" } },
    });
    const watch = await new WatchRecorder().start(h.kc, "/api/v1/namespaces", {
      resourceVersion: String(h.server.resourceVersion),
      fieldSelector: "metadata.name=doomed",
    });
    try {
      const ns = await h.core.deleteNamespace({ name: "doomed" });
      assert.ok(ns);
      await watch.until(
        () => watch.events.some((e) => e.type === "DELETED"),
        "the namespace to go",
      );
      assert.equal(watch.events[0].object.status.phase, "Terminating");
      const left = await h.core.listNamespacedConfigMap({
        namespace: "doomed",
      });
      assert.equal(left.items.length, 0);
    } finally {
      watch.stop();
    }
  });
});
