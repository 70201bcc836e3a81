import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  KubernetesObjectApi,
  makeInformer,
  type V1ConfigMap,
  VersionApi,
} from "@kubernetes/client-node";
import { type Harness, raw, startHarness } from "./_helpers.ts";

describe("TestApiServer discovery and client-node helpers", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.server.stop();
  });

  it("serves /version to client-node's VersionApi", async () => {
    const version = await h.kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.major, "1");
    assert.match(version.gitVersion, /^v1\.\d+\.\d+/);
  });

  it("serves /api, /apis and group documents with the built-in groups", async () => {
    const api = await raw(h.server, "/api");
    assert.deepEqual((api.body as { versions: string[] }).versions, ["v1"]);
    const apis = await raw(h.server, "/apis");
    const groups = (apis.body as {
      groups: { name: string; preferredVersion: { groupVersion: string } }[];
    })
      .groups;
    for (
      const g of [
        "apps",
        "coordination.k8s.io",
        "events.k8s.io",
        "apiextensions.k8s.io",
      ]
    ) {
      assert.ok(groups.some((x) => x.name === g), `missing group ${g}`);
    }
    const apps = await raw(h.server, "/apis/apps");
    assert.equal(
      (apps.body as { preferredVersion: { groupVersion: string } })
        .preferredVersion.groupVersion,
      "apps/v1",
    );
    const core = await raw(h.server, "/api/v1");
    const resources = (core.body as {
      resources: { name: string; namespaced: boolean; verbs: string[] }[];
    })
      .resources;
    const cm = resources.find((r) => r.name === "configmaps");
    assert.equal(cm?.namespaced, true);
    assert.ok(cm?.verbs.includes("watch"));
    assert.equal(
      resources.find((r) => r.name === "namespaces")?.namespaced,
      false,
    );
    assert.ok(resources.some((r) => r.name === "pods/status"));
  });

  it("answers 404 for an unknown group or path", async () => {
    assert.equal((await raw(h.server, "/apis/nope.example.com")).code, 404);
    assert.equal((await raw(h.server, "/api/v1/nothings")).code, 404);
    assert.equal((await raw(h.server, "/something")).code, 404);
  });

  it("works with KubernetesObjectApi, which finds resources through discovery", async () => {
    const objects = KubernetesObjectApi.makeApiClient(h.kc);
    const created = await objects.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "generic", namespace: "default" },
      data: { a: "b" },
    } as V1ConfigMap);
    assert.equal(created.metadata?.name, "generic");
    const read = await objects.read({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "generic", namespace: "default" },
    });
    assert.deepEqual((read as V1ConfigMap).data, { a: "b" });
    await objects.delete({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "generic", namespace: "default" },
    });
  });

  it("feeds client-node's informer, which recovers from a 410 by relisting", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "inf" } } });
    const informer = makeInformer(
      h.kc,
      "/api/v1/namespaces/inf/configmaps",
      () => h.core.listNamespacedConfigMap({ namespace: "inf" }),
    );
    const seen: string[] = [];
    let wake: () => void = () => {};
    const waitFor = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!ok()) {
        if (Date.now() > deadline) {
          throw new Error(`Timed out waiting for ${what}; saw ${seen}`);
        }
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    };
    informer.on("add", (cm: V1ConfigMap) => {
      seen.push(`add:${cm.metadata?.name}`);
      wake();
    });
    informer.on("update", (cm: V1ConfigMap) => {
      seen.push(`update:${cm.metadata?.name}`);
      wake();
    });
    informer.on("delete", (cm: V1ConfigMap) => {
      seen.push(`delete:${cm.metadata?.name}`);
      wake();
    });
    await informer.start();
    try {
      await h.core.createNamespacedConfigMap({
        namespace: "inf",
        body: { metadata: { name: "one" } },
      });
      await waitFor("add:one", () => seen.includes("add:one"));
      h.server.faults.compact();
      h.server.faults.closeWatches({
        resource: "configmaps",
        error: { code: 410 },
      });
      await h.core.createNamespacedConfigMap({
        namespace: "inf",
        body: { metadata: { name: "two" } },
      });
      await waitFor("add:two after the relist", () => seen.includes("add:two"));
      await h.core.deleteNamespacedConfigMap({ name: "one", namespace: "inf" });
      await waitFor("delete:one", () => seen.includes("delete:one"));
      assert.deepEqual(informer.list().map((c) => c.metadata?.name), ["two"]);
    } finally {
      await informer.stop();
    }
  });
});
