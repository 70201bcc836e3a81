import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { V1MicroTime } from "@kubernetes/client-node";
import { failure, type Harness, raw, startHarness } from "./_helpers.ts";

describe("TestApiServer CRUD through client-node", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ random: () => 0 });
  });
  after(async () => {
    await h.server.stop();
  });

  it("sets uid, creationTimestamp and resourceVersion on create and returns the object", async () => {
    const before = h.server.resourceVersion;
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "meta", uid: "client-set" }, data: { a: "1" } },
    });
    assert.match(cm.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
    assert.notEqual(cm.metadata?.uid, "client-set");
    assert.ok(cm.metadata?.creationTimestamp instanceof Date);
    assert.equal(Number(cm.metadata?.resourceVersion), before + 1);
    assert.equal(cm.metadata?.namespace, "default");
    assert.equal(cm.metadata?.generation, undefined);
    const got = await h.core.readNamespacedConfigMap({
      name: "meta",
      namespace: "default",
    });
    assert.deepEqual(got.data, { a: "1" });
    assert.equal(got.metadata?.resourceVersion, cm.metadata?.resourceVersion);
  });

  it("uses one increasing resourceVersion counter across resources", async () => {
    const a = await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "rv-secret" }, stringData: { k: "v" } },
    });
    const b = await h.coordination.createNamespacedLease({
      namespace: "default",
      body: { metadata: { name: "rv-lease" }, spec: { holderIdentity: "me" } },
    });
    const c = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "rv-cm" } },
    });
    const rvs = [a, b, c].map((o) => Number(o.metadata?.resourceVersion));
    assert.deepEqual(rvs, [rvs[0], rvs[0] + 1, rvs[0] + 2]);
  });

  it("answers 409 AlreadyExists for a second create of one name", async () => {
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "twice" } },
    });
    const { code, status } = await failure(h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "twice" } },
    }));
    assert.equal(code, 409);
    assert.equal(status.reason, "AlreadyExists");
    assert.equal(status.message, 'configmaps "twice" already exists');
    assert.deepEqual(status.details, { name: "twice", kind: "configmaps" });
  });

  it("answers 404 NotFound with a Status for a missing object", async () => {
    const { code, status } = await failure(
      h.core.readNamespacedConfigMap({ name: "nope", namespace: "default" }),
    );
    assert.equal(code, 404);
    assert.equal(status.kind, "Status");
    assert.equal(status.status, "Failure");
    assert.equal(status.reason, "NotFound");
    assert.equal(status.message, 'configmaps "nope" not found');
  });

  it("refuses to create in a namespace that does not exist", async () => {
    const { code, status } = await failure(h.core.createNamespacedConfigMap({
      namespace: "ghost",
      body: { metadata: { name: "x" } },
    }));
    assert.equal(code, 404);
    assert.equal(status.message, 'namespaces "ghost" not found');
  });

  it("fills metadata.name from generateName with a random suffix", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { generateName: "gen-" } },
    });
    assert.equal(cm.metadata?.name, "gen-bbbbb");
    assert.equal(cm.metadata?.generateName, "gen-");
  });

  it("answers 422 Invalid for a name that is not a DNS subdomain", async () => {
    const { code, status } = await failure(h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "Bad_Name" } },
    }));
    assert.equal(code, 422);
    assert.equal(status.reason, "Invalid");
    const causes = (status.details as { causes: { field: string }[] }).causes;
    assert.equal(causes[0].field, "metadata.name");
  });

  it("answers 409 Conflict when an update carries a stale resourceVersion", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "stale" }, data: { v: "1" } },
    });
    const updated = await h.core.replaceNamespacedConfigMap({
      name: "stale",
      namespace: "default",
      body: { ...cm, data: { v: "2" } },
    });
    assert.ok(
      Number(updated.metadata?.resourceVersion) >
        Number(cm.metadata?.resourceVersion),
    );
    const { code, status } = await failure(h.core.replaceNamespacedConfigMap({
      name: "stale",
      namespace: "default",
      body: { ...cm, data: { v: "3" } },
    }));
    assert.equal(code, 409);
    assert.equal(status.reason, "Conflict");
    assert.match(String(status.message), /the object has been modified/);
    const now = await h.core.readNamespacedConfigMap({
      name: "stale",
      namespace: "default",
    });
    assert.deepEqual(now.data, { v: "2" });
  });

  it("arbitrates Lease takeover by resourceVersion, as leader election does", async () => {
    const created = await h.coordination.createNamespacedLease({
      namespace: "default",
      body: {
        metadata: { name: "leader" },
        spec: {
          holderIdentity: "a",
          leaseDurationSeconds: 15,
          acquireTime: new V1MicroTime("2026-01-01T00:00:00Z"),
          renewTime: new V1MicroTime("2026-01-01T00:00:00Z"),
          leaseTransitions: 0,
        },
      },
    });
    const seen = await h.coordination.readNamespacedLease({
      name: "leader",
      namespace: "default",
    });
    assert.equal(seen.spec?.holderIdentity, "a");
    assert.equal(seen.spec?.leaseDurationSeconds, 15);
    assert.equal(String(seen.spec?.renewTime), "2026-01-01T00:00:00.000000Z");
    const takeover = (holder: string) =>
      h.coordination.replaceNamespacedLease({
        name: "leader",
        namespace: "default",
        body: {
          ...seen,
          spec: { ...seen.spec, holderIdentity: holder, leaseTransitions: 1 },
        },
      });
    const won = await takeover("b");
    assert.equal(won.spec?.holderIdentity, "b");
    assert.notEqual(
      won.metadata?.resourceVersion,
      created.metadata?.resourceVersion,
    );
    const { code, status } = await failure(takeover("c"));
    assert.equal(code, 409);
    assert.equal(status.reason, "Conflict");
    const now = await h.coordination.readNamespacedLease({
      name: "leader",
      namespace: "default",
    });
    assert.equal(now.spec?.holderIdentity, "b");
    assert.equal(now.spec?.leaseTransitions, 1);
  });

  it("answers 415 for a body in a format it does not speak, and accepts YAML", async () => {
    const path = "/api/v1/namespaces/default/configmaps";
    const proto = await raw(h.server, path, {
      method: "POST",
      contentType: "application/vnd.kubernetes.protobuf",
      body: "k8s\u0000binary",
    });
    assert.equal(proto.code, 415);
    assert.equal(
      (proto.body as { reason: string }).reason,
      "UnsupportedMediaType",
    );
    const yaml = await raw(h.server, path, {
      method: "POST",
      contentType: "application/yaml",
      body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n" +
        "data:\n  k: v\n",
    });
    assert.equal(yaml.code, 201);
    const cm = await h.core.readNamespacedConfigMap({
      name: "from-yaml",
      namespace: "default",
    });
    assert.deepEqual(cm.data, { k: "v" });
  });

  it("keeps the resourceVersion when an update changes nothing", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "noop" }, data: { v: "1" } },
    });
    const same = await h.core.replaceNamespacedConfigMap({
      name: "noop",
      namespace: "default",
      body: cm,
    });
    assert.equal(same.metadata?.resourceVersion, cm.metadata?.resourceVersion);
  });

  it("bumps generation on spec changes only for Deployments", async () => {
    const body = {
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "nginx" }] },
        },
      },
    };
    const d = await h.apps.createNamespacedDeployment({
      namespace: "default",
      body,
    });
    assert.equal(d.metadata?.generation, 1);
    const labelled = await h.apps.replaceNamespacedDeployment({
      name: "web",
      namespace: "default",
      body: { ...d, metadata: { ...d.metadata, labels: { team: "a" } } },
    });
    assert.equal(labelled.metadata?.generation, 1);
    const scaled = await h.apps.replaceNamespacedDeployment({
      name: "web",
      namespace: "default",
      body: { ...labelled, spec: { ...labelled.spec!, replicas: 3 } },
    });
    assert.equal(scaled.metadata?.generation, 2);
  });

  it("lists with label selectors (equality, set and existence)", async () => {
    const labels: Record<string, string>[] = [
      { app: "a", tier: "web" },
      { app: "a", tier: "db" },
      { app: "b" },
    ];
    for (const [i, l] of labels.entries()) {
      await h.core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: `sel-${i}`, labels: l },
          spec: { containers: [] },
        },
      });
    }
    const names = async (labelSelector: string) =>
      (await h.core.listNamespacedPod({ namespace: "default", labelSelector }))
        .items
        .map((p) => p.metadata?.name);
    assert.deepEqual(await names("app=a"), ["sel-0", "sel-1"]);
    assert.deepEqual(await names("app=a,tier!=db"), ["sel-0"]);
    assert.deepEqual(await names("tier in (db,cache)"), ["sel-1"]);
    assert.deepEqual(await names("app,!tier"), ["sel-2"]);
    assert.deepEqual(await names("app notin (a)"), ["sel-2"]);
  });

  it("lists with field selectors on metadata.name and metadata.namespace", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "fs-other" } } });
    await h.core.createNamespacedConfigMap({
      namespace: "fs-other",
      body: { metadata: { name: "fs-cm" } },
    });
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "fs-cm" } },
    });
    const byName = await h.core.listConfigMapForAllNamespaces({
      fieldSelector: "metadata.name=fs-cm",
    });
    assert.deepEqual(byName.items.map((c) => c.metadata?.namespace), [
      "default",
      "fs-other",
    ]);
    const both = await h.core.listConfigMapForAllNamespaces({
      fieldSelector: "metadata.name=fs-cm,metadata.namespace!=default",
    });
    assert.deepEqual(both.items.map((c) => c.metadata?.namespace), [
      "fs-other",
    ]);
    const { code } = await failure(h.core.listConfigMapForAllNamespaces({
      fieldSelector: "data.x=1",
    }));
    assert.equal(code, 400);
  });

  it("pages a list with limit and continue", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "paging" } } });
    for (let i = 0; i < 5; i++) {
      await h.core.createNamespacedConfigMap({
        namespace: "paging",
        body: { metadata: { name: `p-${i}` } },
      });
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await h.core.listNamespacedConfigMap({
        namespace: "paging",
        limit: 2,
        _continue: token,
      });
      pages++;
      seen.push(...page.items.map((c) => c.metadata!.name!));
      token = page.metadata?._continue;
      if (token) {
        assert.equal(page.metadata?.remainingItemCount, 5 - seen.length);
      }
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ["p-0", "p-1", "p-2", "p-3", "p-4"]);
  });

  it("deletes an object without finalizers at once", async () => {
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "gone" } },
    });
    const status = await h.core.deleteNamespacedConfigMap({
      name: "gone",
      namespace: "default",
    });
    assert.equal(status.status, "Success");
    const { code } = await failure(
      h.core.readNamespacedConfigMap({ name: "gone", namespace: "default" }),
    );
    assert.equal(code, 404);
  });

  it("honours delete preconditions on uid", async () => {
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "pre" } },
    });
    const { code, status } = await failure(h.core.deleteNamespacedConfigMap({
      name: "pre",
      namespace: "default",
      body: { preconditions: { uid: "not-the-uid" } },
    }));
    assert.equal(code, 409);
    assert.match(
      String(status.message),
      /Precondition failed: UID in precondition/,
    );
  });

  it("stores Events in core/v1 and events.k8s.io/v1, Services and StatefulSets", async () => {
    const ev = await h.core.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "ev1" },
        involvedObject: {
          kind: "ConfigMap",
          name: "meta",
          namespace: "default",
        },
        reason: "Tested",
        message: "hello",
        type: "Normal",
      },
    });
    assert.equal(ev.reason, "Tested");
    const byReason = await h.core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "involvedObject.name=meta,reason=Tested",
    });
    assert.equal(byReason.items.length, 1);
    const ev2 = await h.events.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "ev2" },
        eventTime: new Date(),
        reportingController: "test",
        reportingInstance: "test-1",
        action: "Test",
        reason: "Tested",
        regarding: { kind: "ConfigMap", name: "meta" },
        type: "Normal",
      },
    });
    assert.equal(ev2.reportingController, "test");
    const svc = await h.core.createNamespacedService({
      namespace: "default",
      body: {
        metadata: { name: "svc" },
        spec: { clusterIP: "None", ports: [{ port: 80 }] },
      },
    });
    assert.equal(svc.spec?.clusterIP, "None");
    const sts = await h.apps.createNamespacedStatefulSet({
      namespace: "default",
      body: {
        metadata: { name: "db" },
        spec: {
          serviceName: "svc",
          selector: { matchLabels: { app: "db" } },
          template: {
            metadata: { labels: { app: "db" } },
            spec: { containers: [] },
          },
        },
      },
    });
    assert.equal(sts.metadata?.generation, 1);
  });

  it("answers 401 Unauthorized without the right bearer token", async () => {
    const missing = await raw(h.server, "/api/v1/namespaces", { token: null });
    assert.equal(missing.code, 401);
    assert.equal((missing.body as { reason: string }).reason, "Unauthorized");
    const wrong = await raw(h.server, "/api/v1/namespaces", { token: "wrong" });
    assert.equal(wrong.code, 401);
    const right = await raw(h.server, "/api/v1/namespaces");
    assert.equal(right.code, 200);
  });
});
