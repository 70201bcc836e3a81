/**
 * Strategic merge patch as a real kube-apiserver 1.32 applies it (each
 * expectation read from one in the differential suite): lists merged by
 * their merge keys in the order the server gives them, the `$patch`,
 * `$setElementOrder` and `$deleteFromPrimitiveList` directives, finalizers
 * as a union, and 415 for custom resources.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Harness,
  jsonSender,
  startHarness,
  widgetCrd,
} from "./_helpers.ts";

const STRATEGIC = "application/strategic-merge-patch+json";

// deno-lint-ignore no-explicit-any
type Any = any;

describe("TestApiServer strategic merge patch", () => {
  let h: Harness;
  const path = "/apis/apps/v1/namespaces/default/deployments/web";
  const send = jsonSender(() => h.server);
  const containers = (list: unknown[]) =>
    send(path, {
      method: "PATCH",
      body: { spec: { template: { spec: { containers: list } } } },
      contentType: STRATEGIC,
    });

  before(async () => {
    h = await startHarness();
    await h.ext.createCustomResourceDefinition({ body: widgetCrd() });
    const created = await send("/apis/apps/v1/namespaces/default/deployments", {
      method: "POST",
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              containers: [{
                name: "app",
                image: "nginx:1.27",
                ports: [{ containerPort: 80 }],
                env: [{ name: "A", value: "1" }],
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              }],
              volumes: [{ name: "data", emptyDir: {} }],
            },
          },
        },
      },
    });
    assert.equal(created.code, 201);
  });
  after(async () => {
    await h.server.stop();
  });

  it("merges env by name, new entries first as the real server orders them", async () => {
    const res = await containers([{
      name: "app",
      env: [{ name: "B", value: "2" }],
    }]);
    assert.equal(res.code, 200);
    const app = res.body.spec.template.spec.containers[0];
    assert.deepEqual(app.env, [
      { name: "B", value: "2" },
      { name: "A", value: "1" },
    ]);
    assert.equal(app.image, "nginx:1.27", "the rest of the container stays");
  });

  it("merges ports by containerPort, volumes by name, mounts by mountPath", async () => {
    await containers([{ name: "app", ports: [{ containerPort: 443 }] }]);
    await send(path, {
      method: "PATCH",
      body: {
        spec: {
          template: { spec: { volumes: [{ name: "cache", emptyDir: {} }] } },
        },
      },
      contentType: STRATEGIC,
    });
    const res = await containers([{
      name: "app",
      volumeMounts: [{ name: "cache", mountPath: "/cache" }],
    }]);
    const spec = res.body.spec.template.spec;
    assert.deepEqual(
      spec.containers[0].ports.map((p: Any) => p.containerPort),
      [443, 80],
    );
    assert.deepEqual(spec.volumes.map((v: Any) => v.name), ["cache", "data"]);
    assert.deepEqual(
      spec.containers[0].volumeMounts.map((m: Any) => m.mountPath),
      ["/cache", "/data"],
    );
  });

  it("adds a container by name, deletes one with $patch: delete, and orders with $setElementOrder", async () => {
    const added = await containers([{ name: "sidecar", image: "busybox" }]);
    assert.deepEqual(
      added.body.spec.template.spec.containers.map((c: Any) => c.name),
      ["sidecar", "app"],
    );
    const ordered = await send(path, {
      method: "PATCH",
      body: {
        spec: {
          template: {
            spec: {
              "$setElementOrder/containers": [
                { name: "app" },
                { name: "sidecar" },
              ],
              containers: [{ name: "sidecar", args: ["-v"] }],
            },
          },
        },
      },
      contentType: STRATEGIC,
    });
    assert.deepEqual(
      ordered.body.spec.template.spec.containers.map((c: Any) => c.name),
      ["app", "sidecar"],
    );
    const deleted = await containers([{ name: "sidecar", $patch: "delete" }]);
    assert.deepEqual(
      deleted.body.spec.template.spec.containers.map((c: Any) => c.name),
      ["app"],
    );
  });

  it("replaces a list with $patch: replace", async () => {
    const res = await send(path, {
      method: "PATCH",
      body: {
        spec: {
          template: {
            spec: {
              volumes: [{ name: "data", emptyDir: {} }, { $patch: "replace" }],
            },
          },
        },
      },
      contentType: STRATEGIC,
    });
    assert.deepEqual(
      res.body.spec.template.spec.volumes.map((v: Any) => v.name),
      ["data"],
    );
  });

  it("merges finalizers as a union and deletes them with $deleteFromPrimitiveList", async () => {
    const cm = "/api/v1/namespaces/default/configmaps/f";
    await send("/api/v1/namespaces/default/configmaps", {
      method: "POST",
      body: {
        metadata: { name: "f", finalizers: ["a.example.com/x"] },
      },
    });
    const merged = await send(cm, {
      method: "PATCH",
      body: {
        metadata: { finalizers: ["b.example.com/y"] },
      },
      contentType: STRATEGIC,
    });
    assert.deepEqual(merged.body.metadata.finalizers, [
      "b.example.com/y",
      "a.example.com/x",
    ]);
    const removed = await send(cm, {
      method: "PATCH",
      body: {
        metadata: {
          "$deleteFromPrimitiveList/finalizers": [
            "a.example.com/x",
            "b.example.com/y",
          ],
        },
      },
      contentType: STRATEGIC,
    });
    assert.equal(removed.body.metadata.finalizers, undefined);
  });

  it("answers 415 to a strategic merge patch of a custom resource", async () => {
    const w = await send("/apis/example.com/v1/namespaces/default/widgets", {
      method: "POST",
      body: {
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w" },
        spec: { size: 1 },
      },
    });
    assert.equal(w.code, 201);
    const res = await send(
      "/apis/example.com/v1/namespaces/default/widgets/w",
      { method: "PATCH", body: { spec: { size: 2 } }, contentType: STRATEGIC },
    );
    assert.equal(res.code, 415);
    assert.equal(res.body.reason, "UnsupportedMediaType");
  });
});
