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

function widget(name: string, spec: Record<string, unknown> = { size: 1 }) {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name },
    spec,
  };
}

describe("TestApiServer custom resources", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.ext.createCustomResourceDefinition({ body: widgetCrd() });
  });
  after(async () => {
    await h.server.stop();
  });

  it("marks a created CRD Established and serves its resource in discovery", async () => {
    const crd = await h.ext.readCustomResourceDefinition({
      name: "widgets.example.com",
    });
    const established = crd.status?.conditions?.find((c) =>
      c.type === "Established"
    );
    assert.equal(established?.status, "True");
    const list = await raw(h.server, "/apis/example.com/v1");
    assert.equal(list.code, 200);
    const resources =
      (list.body as { resources: { name: string; namespaced: boolean }[] })
        .resources;
    assert.deepEqual(resources.map((r) => r.name), [
      "widgets",
      "widgets/status",
    ]);
    assert.equal(resources[0].namespaced, true);
    const groups = await raw(h.server, "/apis");
    const names = (groups.body as { groups: { name: string }[] }).groups.map((
      g,
    ) => g.name);
    assert.ok(names.includes("example.com"));
  });

  it("answers 404 for a custom resource whose CRD does not exist", async () => {
    const { code } = await failure(h.custom.listNamespacedCustomObject({
      ...W,
      plural: "gadgets",
    }));
    assert.equal(code, 404);
  });

  it("fills schema defaults and prunes unknown fields", async () => {
    const w = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("defaults", { size: 2, bogus: true, extra: { kept: 1 } }),
    });
    assert.equal(w.spec.mode, "safe");
    assert.equal(w.spec.bogus, undefined);
    assert.deepEqual(w.spec.extra, { kept: 1 });
    assert.equal(w.metadata.generation, 1);
  });

  it("refuses unknown fields with 400 under fieldValidation=Strict, prunes them otherwise", async () => {
    const body = widget("strict", { size: 2, bogus: true });
    const { code, status } = await failure(
      h.custom.createNamespacedCustomObject({
        ...W,
        body,
        fieldValidation: "Strict",
      }),
    );
    assert.equal(code, 400);
    assert.match(
      String(status.message),
      /strict decoding error: unknown field "spec\.bogus"/,
    );
    const pruned = await h.custom.createNamespacedCustomObject({ ...W, body });
    assert.equal(pruned.spec.bogus, undefined);
  });

  it("refuses a CRD whose schema a real server refuses (a default invalid before nested defaults apply)", async () => {
    const crd = widgetCrd();
    const spec = crd.spec.versions[0].schema!.openAPIV3Schema!.properties!
      .spec as Record<string, unknown>;
    (spec.properties as Record<string, unknown>).conf = {
      type: "object",
      _default: {},
      required: ["level"],
      properties: { level: { type: "integer", _default: 3 } },
    };
    crd.metadata!.name = "gadgets.example.com";
    crd.spec.names = { kind: "Gadget", plural: "gadgets" };
    const { code, status } = await failure(
      h.ext.createCustomResourceDefinition({ body: crd }),
    );
    assert.equal(code, 422);
    assert.match(String(status.message), /conf\.level/);
  });

  it("answers 422 Invalid listing every field that breaks the schema", async () => {
    const { code, status } = await failure(
      h.custom.createNamespacedCustomObject({
        ...W,
        body: widget("bad", {
          size: 11,
          mode: "slow",
          name: "ABC",
          tags: ["a", "b", "c", "d"],
        }),
      }),
    );
    assert.equal(code, 422);
    assert.equal(status.reason, "Invalid");
    const causes =
      (status.details as { causes: { field: string; reason: string }[] })
        .causes;
    assert.deepEqual(causes.map((c) => c.field).sort(), [
      "spec.mode",
      "spec.name",
      "spec.size",
      "spec.tags",
    ]);
    assert.match(
      String(status.message),
      /^Widget\.example\.com "bad" is invalid: \[/,
    );
    const missing = await failure(h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("bad2", { mode: "fast" }),
    }));
    const missingCauses = (missing.status.details as {
      causes: { field: string; reason: string }[];
    })
      .causes;
    assert.deepEqual(missingCauses, [{
      reason: "FieldValueRequired",
      field: "spec.size",
      message: "Required value",
    }]);
    const wrongType = await failure(h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("bad3", { size: "big" }),
    }));
    assert.match(
      String(wrongType.status.message),
      /spec\.size: Invalid value: expected integer, found string/,
    );
  });

  it("ignores status on create and on main-resource writes, and writes it through /status", async () => {
    const created = await h.custom.createNamespacedCustomObject({
      ...W,
      body: { ...widget("st"), status: { ready: true } },
    });
    assert.equal(created.status, undefined);
    const main = await h.custom.patchNamespacedCustomObject(
      {
        ...W,
        name: "st",
        body: { status: { ready: true }, spec: { size: 3 } },
      },
      merge,
    );
    assert.equal(main.status, undefined);
    assert.equal(main.spec.size, 3);
    assert.equal(main.metadata.generation, 2);
    const status = await h.custom.patchNamespacedCustomObjectStatus(
      {
        ...W,
        name: "st",
        body: {
          status: { ready: true, observedGeneration: 2 },
          spec: { size: 9 },
        },
      },
      merge,
    );
    assert.deepEqual(status.status, { ready: true, observedGeneration: 2 });
    assert.equal(status.spec.size, 3);
    assert.equal(status.metadata.generation, 2);
    const replaced = await h.custom.replaceNamespacedCustomObjectStatus({
      ...W,
      name: "st",
      body: { ...status, status: { ready: false } },
    });
    assert.deepEqual(replaced.status, { ready: false });
  });

  it("keeps status written through the main resource when the CRD has no status subresource", async () => {
    const other = await startHarness();
    try {
      await other.ext.createCustomResourceDefinition({
        body: widgetCrd({ status: false }),
      });
      const created = await other.custom.createNamespacedCustomObject({
        ...W,
        body: { ...widget("plain"), status: { ready: true } },
      });
      assert.deepEqual(created.status, { ready: true });
      const patched = await other.custom.patchNamespacedCustomObject(
        { ...W, name: "plain", body: { status: { ready: false } } },
        merge,
      );
      assert.deepEqual(patched.status, { ready: false });
      assert.equal(patched.metadata.generation, 2);
      const { code } = await failure(
        other.custom.patchNamespacedCustomObjectStatus(
          { ...W, name: "plain", body: { status: { ready: true } } },
          merge,
        ),
      );
      assert.equal(code, 404);
    } finally {
      await other.server.stop();
    }
  });

  it("does not bump generation for metadata-only or status changes", async () => {
    await h.custom.createNamespacedCustomObject({ ...W, body: widget("gen") });
    const labelled = await h.custom.patchNamespacedCustomObject(
      { ...W, name: "gen", body: { metadata: { labels: { a: "b" } } } },
      merge,
    );
    assert.equal(labelled.metadata.generation, 1);
    const st = await h.custom.patchNamespacedCustomObjectStatus(
      { ...W, name: "gen", body: { status: { ready: true } } },
      merge,
    );
    assert.equal(st.metadata.generation, 1);
  });

  it("requires a resourceVersion on a custom resource update", async () => {
    const w = await h.custom.createNamespacedCustomObject({
      ...W,
      body: widget("need-rv"),
    });
    delete w.metadata.resourceVersion;
    const { code, status } = await failure(
      h.custom.replaceNamespacedCustomObject({
        ...W,
        name: "need-rv",
        body: w,
      }),
    );
    assert.equal(code, 422);
    assert.match(String(status.message), /must be specified for an update/);
  });

  it("serves cluster-scoped custom resources", async () => {
    const crd = widgetCrd({ scope: "Cluster" });
    crd.metadata = { name: "clusterwidgets.example.com" };
    crd.spec.names = {
      plural: "clusterwidgets",
      singular: "clusterwidget",
      kind: "ClusterWidget",
    };
    await h.ext.createCustomResourceDefinition({ body: crd });
    const cw = await h.custom.createClusterCustomObject({
      group: "example.com",
      version: "v1",
      plural: "clusterwidgets",
      body: {
        apiVersion: "example.com/v1",
        kind: "ClusterWidget",
        metadata: { name: "cw" },
        spec: { size: 1 },
      },
    });
    assert.equal(cw.metadata.namespace, undefined);
    const list = await h.custom.listClusterCustomObject({
      group: "example.com",
      version: "v1",
      plural: "clusterwidgets",
    });
    assert.deepEqual(
      list.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["cw"],
    );
  });

  it("refuses a CRD whose name is not plural.group", async () => {
    const crd = widgetCrd();
    crd.metadata = { name: "wrong.example.com" };
    const { code, status } = await failure(
      h.ext.createCustomResourceDefinition({ body: crd }),
    );
    assert.equal(code, 422);
    assert.match(
      String(status.message),
      /must be spec.names.plural\+"."\+spec.group/,
    );
  });

  it("stops serving a custom resource, and drops its objects, once its CRD is deleted", async () => {
    const crd = widgetCrd();
    crd.metadata = { name: "gizmos.example.com" };
    crd.spec.names = { plural: "gizmos", singular: "gizmo", kind: "Gizmo" };
    await h.ext.createCustomResourceDefinition({ body: crd });
    const G = { ...W, plural: "gizmos" };
    await h.custom.createNamespacedCustomObject({
      ...G,
      body: {
        apiVersion: "example.com/v1",
        kind: "Gizmo",
        metadata: { name: "g" },
        spec: { size: 1 },
      },
    });
    await h.ext.deleteCustomResourceDefinition({ name: "gizmos.example.com" });
    const { code } = await failure(h.custom.listNamespacedCustomObject(G));
    assert.equal(code, 404);
  });
});
