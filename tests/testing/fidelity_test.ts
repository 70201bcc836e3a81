/**
 * What the differential suite found a real kube-apiserver 1.32 to do, held
 * on the in-process server alone (so it is proven without binaries too):
 * the scale subresource, paged lists read from the first page's snapshot,
 * `remainingItemCount` hidden by selectors, per-kind `/status` rules and
 * generation, built-in defaults, CRDs established a moment after their
 * create and finalized on delete, initial-events bookmarks, and the delete
 * answers of each kind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Harness,
  jsonSender,
  startHarness,
  WatchRecorder,
} from "./_helpers.ts";
import { gadgetCrd } from "./differential/gadgets.ts";

const MERGE = "application/merge-patch+json";

// deno-lint-ignore no-explicit-any
type Any = any;

function podSpec() {
  return {
    automountServiceAccountToken: false,
    containers: [{ name: "app", image: "nginx:1.27" }],
  };
}

function deployment(name: string) {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
    },
  };
}

describe("TestApiServer as a real kube-apiserver 1.32 answers", () => {
  let h: Harness;
  const send = jsonSender(() => h.server);
  const gadgets = "/apis/fidelity.example.com/v1/namespaces/default/gadgets";
  const deployments = "/apis/apps/v1/namespaces/default/deployments";

  before(async () => {
    h = await startHarness();
    const crd = await send(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      { method: "POST", body: gadgetCrd("fidelity.example.com") },
    );
    assert.equal(crd.code, 201);
  });
  after(async () => {
    await h.server.stop();
  });

  it("serves /scale of a custom resource: reads and writes spec.replicas, 409 when stale, 422 when negative, the write under its own manager", async () => {
    await send(gadgets, {
      method: "POST",
      body: {
        apiVersion: "fidelity.example.com/v1",
        kind: "Gadget",
        metadata: { name: "g" },
        spec: { size: 1, replicas: 1 },
      },
    });
    await send(`${gadgets}/g/status`, {
      method: "PATCH",
      body: {
        status: { replicas: 1, selector: "app=g" },
      },
      contentType: MERGE,
    });
    const scale = await send(`${gadgets}/g/scale`);
    assert.equal(scale.code, 200);
    assert.equal(scale.body.kind, "Scale");
    assert.equal(scale.body.apiVersion, "autoscaling/v1");
    assert.deepEqual(scale.body.spec, { replicas: 1 });
    assert.deepEqual(scale.body.status, { replicas: 1, selector: "app=g" });
    const patched = await send(`${gadgets}/g/scale?fieldManager=scaler`, {
      method: "PATCH",
      body: { spec: { replicas: 3 } },
      contentType: MERGE,
    });
    assert.deepEqual(patched.body.spec, { replicas: 3 });
    const stale = await send(`${gadgets}/g/scale`, {
      method: "PUT",
      body: {
        ...scale.body,
        spec: { replicas: 4 },
      },
    });
    assert.equal(stale.code, 409);
    const negative = await send(`${gadgets}/g/scale`, {
      method: "PATCH",
      body: {
        spec: { replicas: -1 },
      },
      contentType: MERGE,
    });
    assert.equal(negative.code, 422);
    const object = await send(`${gadgets}/g`);
    assert.equal(object.body.spec.replicas, 3);
    const entry = object.body.metadata.managedFields.find((e: Any) =>
      e.subresource === "scale"
    );
    assert.equal(entry.manager, "scaler");
    assert.equal(entry.time, undefined, "scale entries carry no time");
    assert.deepEqual(entry.fieldsV1, { "f:spec": { "f:replicas": {} } });
    const discovery = await send("/apis/fidelity.example.com/v1");
    const listed = discovery.body.resources.find((r: Any) =>
      r.name === "gadgets/scale"
    );
    assert.deepEqual([listed.group, listed.version, listed.kind], [
      "autoscaling",
      "v1",
      "Scale",
    ]);
  });

  it("serves /scale of a Deployment, its selector printed", async () => {
    await send(deployments, { method: "POST", body: deployment("web") });
    const scaled = await send(`${deployments}/web/scale`, {
      method: "PATCH",
      body: { spec: { replicas: 2 } },
      contentType: MERGE,
    });
    assert.equal(scaled.code, 200);
    assert.deepEqual(scaled.body.status, { replicas: 0, selector: "app=web" });
    const web = await send(`${deployments}/web`);
    assert.equal(web.body.spec.replicas, 2);
    assert.equal(web.body.metadata.generation, 2);
  });

  it("serves every page of a paged list from the first page's snapshot", async () => {
    for (let i = 0; i < 5; i++) {
      await send("/api/v1/namespaces/default/secrets", {
        method: "POST",
        body: {
          metadata: { name: `s${i}`, labels: { page: "yes" } },
        },
      });
    }
    const path = "/api/v1/namespaces/default/secrets";
    const first = await send(`${path}?limit=2&labelSelector=page`);
    assert.equal(
      first.body.metadata.remainingItemCount,
      undefined,
      "a selector hides remainingItemCount",
    );
    const unselected = await send(`${path}?limit=2`);
    assert.equal(unselected.body.metadata.remainingItemCount, 3);
    await send(`${path}/s2`, { method: "DELETE" });
    await send(path, { method: "POST", body: { metadata: { name: "s10" } } });
    const second = await send(
      `${path}?limit=2&continue=${
        encodeURIComponent(unselected.body.metadata.continue)
      }`,
    );
    assert.deepEqual(
      second.body.items.map((i: Any) => i.metadata.name),
      ["s2", "s3"],
      "the deleted s2 is still on the snapshot, s10 not yet",
    );
    assert.equal(
      second.body.metadata.resourceVersion,
      unselected.body.metadata.resourceVersion,
    );
    assert.equal(
      second.body.items[0].kind,
      undefined,
      "built-in items have no kind",
    );
  });

  it("keeps a Pod's and a StatefulSet's label change through /status and drops a Deployment's", async () => {
    const pod = await send("/api/v1/namespaces/default/pods", {
      method: "POST",
      body: {
        metadata: { name: "p", labels: { app: "p" } },
        spec: podSpec(),
      },
    });
    assert.deepEqual(pod.body.status, {
      phase: "Pending",
      qosClass: "BestEffort",
    });
    const status = await send("/api/v1/namespaces/default/pods/p/status", {
      method: "PUT",
      body: {
        ...pod.body,
        metadata: { ...pod.body.metadata, labels: { app: "p", seen: "1" } },
        status: { ...pod.body.status, phase: "Running" },
      },
    });
    assert.deepEqual(status.body.metadata.labels, { app: "p", seen: "1" });
    assert.equal(status.body.status.phase, "Running");
    const dep = await send(`${deployments}/web`);
    const depStatus = await send(`${deployments}/web/status`, {
      method: "PUT",
      body: {
        ...dep.body,
        metadata: {
          ...dep.body.metadata,
          labels: { app: "web", extra: "1" },
          annotations: { note: "kept" },
        },
        status: { replicas: 1 },
      },
    });
    assert.deepEqual(depStatus.body.metadata.labels, { app: "web" });
    assert.deepEqual(depStatus.body.metadata.annotations, { note: "kept" });
    assert.equal(
      depStatus.body.metadata.generation,
      dep.body.metadata.generation,
      "a status write never moves generation",
    );
    const sts = await send("/apis/apps/v1/namespaces/default/statefulsets", {
      method: "POST",
      body: {
        metadata: { name: "db", labels: { app: "db" } },
        spec: {
          serviceName: "db",
          selector: { matchLabels: { app: "db" } },
          template: { metadata: { labels: { app: "db" } }, spec: podSpec() },
        },
      },
    });
    const stsStatus = await send(
      "/apis/apps/v1/namespaces/default/statefulsets/db/status",
      {
        method: "PUT",
        body: {
          ...sts.body,
          metadata: { ...sts.body.metadata, labels: { app: "db", extra: "1" } },
          status: { replicas: 1 },
        },
      },
    );
    assert.deepEqual(
      stsStatus.body.metadata.labels,
      { app: "db", extra: "1" },
      "a StatefulSet's /status keeps a label change, as a Pod's does",
    );
    const annotated = await send(`${deployments}/web`, {
      method: "PATCH",
      body: {
        metadata: { annotations: { note: "changed" } },
      },
      contentType: MERGE,
    });
    assert.equal(
      annotated.body.metadata.generation,
      dep.body.metadata.generation + 1,
      "a Deployment's annotations move its generation",
    );
  });

  it("fills in the defaults a real server gives built-in objects", async () => {
    const dep = await send(`${deployments}/web`);
    assert.equal(dep.body.spec.progressDeadlineSeconds, 600);
    assert.equal(dep.body.spec.revisionHistoryLimit, 10);
    assert.deepEqual(dep.body.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
    });
    assert.equal(dep.body.spec.template.metadata.creationTimestamp, null);
    const c = dep.body.spec.template.spec.containers[0];
    assert.equal(c.terminationMessagePath, "/dev/termination-log");
    assert.equal(c.imagePullPolicy, "IfNotPresent");
    const svc = await send("/api/v1/namespaces/default/services", {
      method: "POST",
      body: {
        metadata: { name: "svc" },
        spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
      },
    });
    assert.match(svc.body.spec.clusterIP, /^10\.96\.\d+\.\d+$/);
    assert.deepEqual(svc.body.spec.ports, [
      { protocol: "TCP", port: 80, targetPort: 80 },
    ]);
    assert.equal(svc.body.spec.sessionAffinity, "None");
    const secret = await send("/api/v1/namespaces/default/secrets", {
      method: "POST",
      body: {
        metadata: { name: "pw" },
        stringData: { password: "p" },
      },
    });
    assert.deepEqual(secret.body.data, { password: "cA==" });
    assert.equal(secret.body.stringData, undefined);
    assert.equal(secret.body.type, "Opaque");
    const ns = await send("/api/v1/namespaces", {
      method: "POST",
      body: {
        metadata: { name: "labelled" },
      },
    });
    assert.deepEqual(ns.body.metadata.labels, {
      "kubernetes.io/metadata.name": "labelled",
    });
  });

  it("establishes a CRD after answering its create, and finalizes a deleted one", async () => {
    const watch = await new WatchRecorder().start(
      h.kc,
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      { fieldSelector: "metadata.name=things.life.example.com" },
    );
    try {
      const base = gadgetCrd("life.example.com");
      const crd = {
        ...base,
        metadata: { name: "things.life.example.com" },
        spec: {
          ...base.spec as object,
          names: { plural: "things", kind: "Thing" },
        },
      };
      const created = await send(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        { method: "POST", body: crd },
      );
      assert.equal(created.body.status.conditions, null);
      assert.deepEqual(created.body.status.acceptedNames, {
        plural: "",
        kind: "",
      });
      await watch.until(
        () => watch.events.length >= 2,
        "the establishing write",
      );
      assert.deepEqual(watch.events.map((e) => e.type), ["ADDED", "MODIFIED"]);
      const established = watch.events[1].object;
      assert.deepEqual(
        established.status.conditions.map((c: Any) => c.type),
        ["NamesAccepted", "Established"],
      );
      const deleted = await send(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.life.example.com",
        { method: "DELETE" },
      );
      assert.deepEqual(deleted.body.metadata.finalizers, [
        "customresourcecleanup.apiextensions.k8s.io",
      ]);
      assert.ok(
        deleted.body.status.conditions.some((c: Any) =>
          c.type === "Terminating"
        ),
      );
      await watch.until(
        () => watch.events.some((e) => e.type === "DELETED"),
        "the CRD to go",
      );
    } finally {
      watch.stop();
    }
  });

  it("ends the initial events of a watch with a bookmark, and refuses them without NotOlderThan", async () => {
    // timeoutSeconds ends the watch a server that does not refuse it would
    // open, so such a server fails the assertion instead of hanging.
    const refused = await send(
      "/api/v1/namespaces/default/secrets?watch=true&sendInitialEvents=true&timeoutSeconds=1",
    );
    assert.equal(refused.code, 422);
    const watch = await new WatchRecorder().start(
      h.kc,
      "/api/v1/namespaces/default/secrets",
      {
        labelSelector: "page",
        sendInitialEvents: true,
        resourceVersionMatch: "NotOlderThan",
        allowWatchBookmarks: true,
      },
    );
    try {
      await watch.until(
        () => watch.events.some((e) => e.type === "BOOKMARK"),
        "the initial-events-end bookmark",
      );
      const bookmark = watch.events.find((e) => e.type === "BOOKMARK")!;
      assert.equal(
        bookmark.object.metadata.annotations["k8s.io/initial-events-end"],
        "true",
      );
      assert.ok(
        watch.events.slice(0, -1).every((e) => e.type === "ADDED"),
        "the bookmark comes after every existing object",
      );
    } finally {
      watch.stop();
    }
  });

  it("answers a removed custom object's delete with a Status, a pod's with the pod marked deleted", async () => {
    await send(gadgets, {
      method: "POST",
      body: {
        apiVersion: "fidelity.example.com/v1",
        kind: "Gadget",
        metadata: { name: "gone" },
      },
    });
    const custom = await send(`${gadgets}/gone`, { method: "DELETE" });
    assert.equal(custom.body.kind, "Status");
    assert.equal(custom.body.status, "Success");
    const pod = await send("/api/v1/namespaces/default/pods/p", {
      method: "DELETE",
    });
    assert.equal(pod.body.kind, "Pod");
    assert.ok(pod.body.metadata.deletionTimestamp);
    assert.equal(pod.body.metadata.deletionGracePeriodSeconds, 0);
    const dry = await send("/api/v1/namespaces/default/secrets/s0?dryRun=All", {
      method: "DELETE",
    });
    assert.equal(
      dry.body.kind,
      "Status",
      "a dry run answers as the delete would",
    );
    assert.equal(
      (await send("/api/v1/namespaces/default/secrets/s0")).code,
      200,
    );
  });
});
