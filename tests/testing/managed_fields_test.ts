/**
 * managedFields and server-side apply as a real kube-apiserver 1.32 keeps
 * them (each expectation below was read from one, in the differential
 * suite): Update entries for creates and patches, FieldsV1 with `.` for
 * the containers a change added, map lists merged by their keys, pruning
 * of what a manager stops applying, per-field conflicts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Harness, jsonSender, startHarness } from "./_helpers.ts";
import { gadgetCrd } from "./differential/gadgets.ts";

const APPLY = "application/apply-patch+yaml";
const MERGE = "application/merge-patch+json";

// deno-lint-ignore no-explicit-any
type Any = any;

const GADGETS = "/apis/example.com/v1/namespaces/default/gadgets";

describe("TestApiServer managedFields and server-side apply", () => {
  let h: Harness;
  const send = jsonSender(() => h.server);
  const cm = (name: string) => `/api/v1/namespaces/default/configmaps/${name}`;
  const fields = (obj: Any, manager: string, operation = "Update") =>
    obj.metadata.managedFields.find((e: Any) =>
      e.manager === manager && e.operation === operation
    )?.fieldsV1;

  before(async () => {
    h = await startHarness();
    const crd = await send(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      { method: "POST", body: gadgetCrd("example.com") },
    );
    assert.equal(crd.code, 201);
  });
  after(async () => {
    await h.server.stop();
  });

  it("records a create under fieldManager, else the User-Agent's first part, with `.` for added containers", async () => {
    const named = await send(
      "/api/v1/namespaces/default/configmaps?fieldManager=creator",
      {
        method: "POST",
        body: {
          metadata: { name: "m1", labels: { a: "1" } },
          data: { k: "v" },
        },
      },
    );
    assert.equal(named.code, 201);
    const entry = named.body.metadata.managedFields[0];
    assert.equal(entry.manager, "creator");
    assert.equal(entry.operation, "Update");
    assert.equal(entry.apiVersion, "v1");
    assert.equal(entry.fieldsType, "FieldsV1");
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(entry.fieldsV1, {
      "f:data": { ".": {}, "f:k": {} },
      "f:metadata": { "f:labels": { ".": {}, "f:a": {} } },
    });
    const byAgent = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "m2" }, data: { k: "v" } },
    });
    const manager = byAgent.metadata?.managedFields?.[0].manager ?? "";
    assert.ok(manager !== "" && !manager.includes("/"), manager);
  });

  it("moves a changed field from its manager to the one that changed it, and keeps the resourceVersion of a no-op", async () => {
    const patched = await send(`${cm("m1")}?fieldManager=editor`, {
      method: "PATCH",
      body: { data: { k: "w" } },
      contentType: MERGE,
    });
    assert.deepEqual(fields(patched.body, "creator"), {
      "f:data": {},
      "f:metadata": { "f:labels": { ".": {}, "f:a": {} } },
    }, "the creator keeps the map it made, not the key another changed");
    assert.deepEqual(fields(patched.body, "editor"), {
      "f:data": { "f:k": {} },
    });
    const again = await send(`${cm("m1")}?fieldManager=editor`, {
      method: "PATCH",
      body: { data: { k: "w" } },
      contentType: MERGE,
    });
    assert.equal(
      again.body.metadata.resourceVersion,
      patched.body.metadata.resourceVersion,
    );
  });

  it("creates with apply, refuses a conflicting apply with a cause per field, and lets force take the field", async () => {
    const config = (data: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a1" },
      data,
    });
    const created = await send(`${cm("a1")}?fieldManager=alice`, {
      method: "PATCH",
      body: config({ x: "1", y: "2" }),
      contentType: APPLY,
    });
    assert.equal(created.code, 201);
    assert.deepEqual(fields(created.body, "alice", "Apply"), {
      "f:data": { "f:x": {}, "f:y": {} },
    });
    const refused = await send(`${cm("a1")}?fieldManager=bob`, {
      method: "PATCH",
      body: config({ x: "9" }),
      contentType: APPLY,
    });
    assert.equal(refused.code, 409);
    assert.equal(refused.body.reason, "Conflict");
    assert.deepEqual(
      refused.body.details.causes.map((c: Any) => [c.reason, c.field]),
      [["FieldManagerConflict", ".data.x"]],
    );
    assert.match(refused.body.message, /^Apply failed with 1 conflict/);
    const same = await send(`${cm("a1")}?fieldManager=bob`, {
      method: "PATCH",
      body: config({ x: "1" }),
      contentType: APPLY,
    });
    assert.equal(same.code, 200, "an equal value is no conflict");
    const forced = await send(`${cm("a1")}?fieldManager=bob&force=true`, {
      method: "PATCH",
      body: config({ x: "9" }),
      contentType: APPLY,
    });
    assert.equal(forced.code, 200);
    assert.deepEqual(fields(forced.body, "alice", "Apply"), {
      "f:data": { "f:y": {} },
    });
    assert.deepEqual(fields(forced.body, "bob", "Apply"), {
      "f:data": { "f:x": {} },
    });
  });

  it("removes what a manager stops applying unless another manager owns it", async () => {
    const config = (data: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a2" },
      data,
    });
    await send(`${cm("a2")}?fieldManager=alice`, {
      method: "PATCH",
      body: config({ mine: "1", shared: "s" }),
      contentType: APPLY,
    });
    await send(`${cm("a2")}?fieldManager=bob`, {
      method: "PATCH",
      body: config({ shared: "s" }),
      contentType: APPLY,
    });
    const dropped = await send(`${cm("a2")}?fieldManager=alice`, {
      method: "PATCH",
      body: config({}),
      contentType: APPLY,
    });
    assert.deepEqual(dropped.body.data, { shared: "s" });
  });

  it("merges map-list items by their keys and set items by value, each item owned by who applied it", async () => {
    const config = (spec: Record<string, unknown>) => ({
      apiVersion: "example.com/v1",
      kind: "Gadget",
      metadata: { name: "g" },
      spec,
    });
    await send(`${GADGETS}/g?fieldManager=alice`, {
      method: "PATCH",
      body: config({
        size: 1,
        ports: [{ name: "http", port: 80 }],
        tags: ["a"],
      }),
      contentType: APPLY,
    });
    const merged = await send(`${GADGETS}/g?fieldManager=bob`, {
      method: "PATCH",
      body: config({ ports: [{ name: "metrics", port: 9090 }], tags: ["b"] }),
      contentType: APPLY,
    });
    assert.deepEqual(merged.body.spec.ports, [
      { name: "http", port: 80 },
      { name: "metrics", port: 9090 },
    ]);
    assert.deepEqual(merged.body.spec.tags, ["a", "b"]);
    assert.deepEqual(fields(merged.body, "bob", "Apply"), {
      "f:spec": {
        "f:ports": {
          'k:{"name":"metrics"}': { ".": {}, "f:name": {}, "f:port": {} },
        },
        "f:tags": { 'v:"b"': {} },
      },
    });
    const conflict = await send(`${GADGETS}/g?fieldManager=bob`, {
      method: "PATCH",
      body: config({ ports: [{ name: "http", port: 8080 }] }),
      contentType: APPLY,
    });
    assert.equal(conflict.code, 409);
    assert.deepEqual(
      conflict.body.details.causes.map((c: Any) => c.field),
      ['.spec.ports[name="http"].port'],
    );
  });

  it("merges a Deployment's containers by name and their env by name across managers", async () => {
    const path = "/apis/apps/v1/namespaces/default/deployments/web";
    await send(`${path}?fieldManager=operator`, {
      method: "PATCH",
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              containers: [{
                name: "app",
                image: "nginx:1.27",
                env: [{ name: "A", value: "1" }],
              }],
            },
          },
        },
      },
      contentType: APPLY,
    });
    const injected = await send(`${path}?fieldManager=injector`, {
      method: "PATCH",
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          template: {
            spec: {
              containers: [
                { name: "app", env: [{ name: "B", value: "2" }] },
                { name: "proxy", image: "envoy:1.30" },
              ],
            },
          },
        },
      },
      contentType: APPLY,
    });
    assert.equal(injected.code, 200);
    const containers = injected.body.spec.template.spec.containers;
    assert.deepEqual(containers.map((c: Any) => c.name), ["app", "proxy"]);
    assert.deepEqual(containers[0].env, [
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ]);
    assert.equal(containers[0].image, "nginx:1.27");
    assert.equal(containers[0].imagePullPolicy, "IfNotPresent");
  });

  it("refuses managedFields in an apply, and an apply of another apiVersion", async () => {
    const withManaged = await send(`${cm("a3")}?fieldManager=x`, {
      method: "PATCH",
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a3", managedFields: [{ manager: "x" }] },
      },
      contentType: APPLY,
    });
    assert.equal(withManaged.code, 400);
    const otherVersion = await send(`${cm("a3")}?fieldManager=x`, {
      method: "PATCH",
      body: {
        apiVersion: "v2",
        kind: "ConfigMap",
        metadata: { name: "a3" },
      },
      contentType: APPLY,
    });
    assert.equal(otherVersion.code, 400);
  });
});
