import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import {
  failure,
  type Harness,
  raw,
  startHarness,
  widgetCrd,
} from "./_helpers.ts";

const W = {
  group: "example.com",
  version: "v1",
  namespace: "default",
  plural: "widgets",
};
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const json = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const strategic = setHeaderOptions(
  "Content-Type",
  PatchStrategy.StrategicMergePatch,
);
const apply = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);

describe("TestApiServer patches", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.ext.createCustomResourceDefinition({ body: widgetCrd() });
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        metadata: { name: "p", labels: { a: "1", b: "2" } },
        data: { x: "1", y: "2" },
      },
    });
  });
  after(async () => {
    await h.server.stop();
  });

  it("applies a merge patch: objects merge, null deletes", async () => {
    const cm = await h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: { metadata: { labels: { a: null, c: "3" } }, data: { y: "22" } },
      },
      merge,
    );
    assert.deepEqual(cm.metadata?.labels, { b: "2", c: "3" });
    assert.deepEqual(cm.data, { x: "1", y: "22" });
  });

  it("rejects a merge patch carrying a stale resourceVersion with 409 Conflict", async () => {
    const { code, status } = await failure(h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: { metadata: { resourceVersion: "1" }, data: { z: "1" } },
      },
      merge,
    ));
    assert.equal(code, 409);
    assert.equal(status.reason, "Conflict");
  });

  it("applies a JSON patch and fails it with 422 when a test op does not hold", async () => {
    const cm = await h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: [
          { op: "test", path: "/data/x", value: "1" },
          { op: "add", path: "/data/z", value: "26" },
          { op: "remove", path: "/data/y" },
          { op: "copy", from: "/data/z", path: "/data/w" },
        ],
      },
      json,
    );
    assert.deepEqual(cm.data, { x: "1", z: "26", w: "26" });
    const { code, status } = await failure(h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: [
          { op: "test", path: "/data/x", value: "other" },
          { op: "remove", path: "/data/x" },
        ],
      },
      json,
    ));
    assert.equal(code, 422);
    assert.equal(status.reason, "Invalid");
    const after = await h.core.readNamespacedConfigMap({
      name: "p",
      namespace: "default",
    });
    assert.equal(after.data?.x, "1");
  });

  it("adds a finalizer with JSON patch without dropping another controller's", async () => {
    await h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: [{
          op: "add",
          path: "/metadata/finalizers",
          value: ["other/keep"],
        }],
      },
      json,
    );
    const cm = await h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: [{ op: "add", path: "/metadata/finalizers/-", value: "mine/x" }],
      },
      json,
    );
    assert.deepEqual(cm.metadata?.finalizers, ["other/keep", "mine/x"]);
    const cleared = await h.core.patchNamespacedConfigMap(
      {
        name: "p",
        namespace: "default",
        body: [{ op: "remove", path: "/metadata/finalizers" }],
      },
      json,
    );
    assert.equal(cleared.metadata?.finalizers, undefined);
  });

  it("applies a strategic merge patch to built-ins as a merge patch", async () => {
    const cm = await h.core.patchNamespacedConfigMap(
      { name: "p", namespace: "default", body: { data: { s: "1" } } },
      strategic,
    );
    assert.equal(cm.data?.s, "1");
    assert.equal(cm.data?.x, "1");
  });

  it("answers 415 for an unknown patch content type", async () => {
    const res = await raw(h.server, "/api/v1/namespaces/default/configmaps/p", {
      method: "PATCH",
      contentType: "text/plain",
      body: "{}",
    });
    assert.equal(res.code, 415);
    assert.equal(
      (res.body as { reason: string }).reason,
      "UnsupportedMediaType",
    );
  });

  it("creates an object with server-side apply and records its field manager", async () => {
    const w = await h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        fieldManager: "alice",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied", labels: { owner: "alice" } },
          spec: { size: 2, tags: ["a"] },
        },
      },
      apply,
    );
    assert.equal(w.spec.size, 2);
    assert.equal(w.metadata.labels.owner, "alice");
    assert.equal(w.metadata.generation, 1);
  });

  it("removes fields a manager stops applying and keeps other managers' fields", async () => {
    await h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        fieldManager: "bob",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          spec: { name: "bob" },
        },
      },
      apply,
    );
    const w = await h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        fieldManager: "alice",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          spec: { size: 3 },
        },
      },
      apply,
    );
    assert.equal(w.spec.size, 3);
    assert.equal(w.spec.tags, undefined);
    assert.equal(w.spec.name, "bob");
    assert.equal(w.metadata.labels, undefined);
  });

  it("answers 409 on an apply conflict with another manager, and takes the field with force", async () => {
    const { code, status } = await failure(h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        fieldManager: "carol",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          spec: { size: 5 },
        },
      },
      apply,
    ));
    assert.equal(code, 409);
    assert.match(String(status.message), /conflict with "alice": \.spec\.size/);
    const forced = await h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        fieldManager: "carol",
        force: true,
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          spec: { size: 5 },
        },
      },
      apply,
    );
    assert.equal(forced.spec.size, 5);
    const again = await h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        fieldManager: "alice",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          spec: {},
        },
      },
      apply,
    );
    assert.equal(
      again.spec.size,
      5,
      "alice no longer owns spec.size, so dropping it leaves carol's value",
    );
  });

  it("requires a fieldManager for apply", async () => {
    const { code, status } = await failure(h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "applied",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          spec: { size: 1 },
        },
      },
      apply,
    ));
    assert.equal(code, 422);
    assert.match(String(status.message), /fieldManager: Required value/);
  });

  it("applies YAML bodies", async () => {
    const yaml = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: from-yaml",
      "data:",
      "  k: v",
    ].join("\n");
    const res = await raw(
      h.server,
      "/api/v1/namespaces/default/configmaps/from-yaml?fieldManager=yaml",
      {
        method: "PATCH",
        contentType: "application/apply-patch+yaml",
        body: yaml,
      },
    );
    assert.equal(res.code, 201);
    assert.deepEqual((res.body as { data: unknown }).data, { k: "v" });
  });

  it("applies status through the status subresource only", async () => {
    const w = await h.custom.patchNamespacedCustomObjectStatus(
      {
        ...W,
        name: "applied",
        fieldManager: "status-writer",
        body: {
          apiVersion: "example.com/v1",
          kind: "Widget",
          metadata: { name: "applied" },
          status: { ready: true },
          spec: { size: 9 },
        },
      },
      apply,
    );
    assert.deepEqual(w.status, { ready: true });
    assert.equal(w.spec.size, 5);
  });

  it("answers 404 for a merge patch of a missing object", async () => {
    const { code } = await failure(h.core.patchNamespacedConfigMap(
      { name: "missing", namespace: "default", body: { data: {} } },
      merge,
    ));
    assert.equal(code, 404);
  });
});
