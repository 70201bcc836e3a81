/**
 * Creating, reading, updating and deleting: built-in kinds, a custom resource, delete options, a CRD's own life, Leases and Events, server defaults.
 *
 * @module
 */
import { gadget } from "../gadgets.ts";
import type { Scenario } from "../run.ts";
import {
  type Any,
  apps,
  body,
  configMap,
  core,
  del,
  gadgets,
  names,
  pod,
  post,
  put,
  statefulSet,
} from "./_helpers.ts";

/** Create, read, conflicts and errors on a built-in kind. */
export const configMapCrud: Scenario = {
  name: "configmap-crud",
  async run(c) {
    const created = await c.call(
      "create",
      post(
        core(c.ns, "configmaps"),
        configMap("one", { v: "1" }, {
          labels: { app: "x" },
          annotations: { note: "n" },
        }),
      ),
    );
    await c.call("get", { path: core(c.ns, "configmaps", "one") });
    await c.call(
      "create again",
      post(core(c.ns, "configmaps"), configMap("one")),
    );
    const first = body(created);
    const updated = await c.call(
      "update",
      put(core(c.ns, "configmaps", "one"), { ...first, data: { v: "2" } }),
    );
    await c.call(
      "update stale",
      put(core(c.ns, "configmaps", "one"), { ...first, data: { v: "3" } }),
    );
    await c.call(
      "update without resourceVersion",
      put(core(c.ns, "configmaps", "one"), configMap("one", { v: "4" })),
    );
    const current = body(
      await c.send({ path: core(c.ns, "configmaps", "one") }),
    );
    const same = await c.call(
      "update unchanged",
      put(core(c.ns, "configmaps", "one"), current),
    );
    c.record("an unchanged update keeps the resourceVersion", {
      same: body(same).metadata.resourceVersion ===
        current.metadata.resourceVersion,
      changedBefore: body(updated).metadata.resourceVersion !==
        first.metadata.resourceVersion,
    });
    await c.call(
      "update renames",
      put(core(c.ns, "configmaps", "one"), {
        ...current,
        metadata: { ...current.metadata, name: "two" },
      }),
    );
    await c.call("get missing", { path: core(c.ns, "configmaps", "nope") });
    await c.call(
      "generateName",
      post(core(c.ns, "configmaps"), {
        metadata: { generateName: "gen-" },
        data: { k: "v" },
      }),
    );
    await c.call(
      "dry run create",
      post(`${core(c.ns, "configmaps")}?dryRun=All`, configMap("dry")),
    );
    await c.call("dry run left nothing", {
      path: core(c.ns, "configmaps", "dry"),
    });
    await c.call(
      "invalid name",
      post(core(c.ns, "configmaps"), configMap("Bad_Name")),
    );
    await c.call(
      "invalid label",
      post(
        core(c.ns, "configmaps"),
        configMap("bad-label", {}, { labels: { "a b": "-x-" } }),
      ),
    );
    await c.call(
      "no name",
      post(core(c.ns, "configmaps"), { metadata: {}, data: {} }),
    );
    await c.call(
      "namespace mismatch",
      post(
        core(c.ns, "configmaps"),
        configMap("mismatch", {}, { namespace: "default" }),
      ),
    );
    await c.call(
      "missing namespace",
      post(core("no-such-namespace", "configmaps"), configMap("x")),
    );
    await c.call("delete", del(core(c.ns, "configmaps", "one")));
    await c.call("delete again", del(core(c.ns, "configmaps", "one")));
  },
};

/** Create, read, conflicts and validation on a custom resource. */
export const customCrud: Scenario = {
  name: "custom-crud",
  async run(c) {
    const created = await c.call(
      "create with status",
      post(gadgets(c), {
        ...gadget(c.group, "g1", {
          size: 2,
          ports: [{ name: "http", port: 80 }],
        }),
        status: { ready: true },
      }),
    );
    await c.call("get", { path: gadgets(c, "g1") });
    await c.call("create again", post(gadgets(c), gadget(c.group, "g1")));
    const first = body(created);
    await c.call(
      "update",
      put(gadgets(c, "g1"), { ...first, spec: { ...first.spec, size: 3 } }),
    );
    await c.call(
      "update stale",
      put(gadgets(c, "g1"), { ...first, spec: { ...first.spec, size: 4 } }),
    );
    await c.call(
      "update without resourceVersion",
      put(gadgets(c, "g1"), gadget(c.group, "g1", { size: 5 })),
    );
    await c.call(
      "invalid",
      post(gadgets(c), gadget(c.group, "bad", { size: 11, mode: "slow" })),
    );
    await c.call(
      "missing required",
      post(gadgets(c), gadget(c.group, "bad2", {})),
    );
    await c.call(
      "unknown field pruned",
      post(gadgets(c), gadget(c.group, "g2", { size: 1, color: "red" })),
    );
    await c.call(
      "unknown field strict",
      post(
        `${gadgets(c)}?fieldValidation=Strict`,
        gadget(c.group, "g3", { size: 1, color: "red" }),
      ),
    );
    await c.call(
      "wrong kind",
      post(gadgets(c), { ...gadget(c.group, "g4"), kind: "Widget" }),
    );
    await c.call("list", { path: gadgets(c) });
    await c.call("delete", del(gadgets(c, "g1")));
    await c.call("get deleted", { path: gadgets(c, "g1") });
  },
};

/** Delete options and collections. */
export const deletion: Scenario = {
  name: "deletion",
  async run(c) {
    const cms = core(c.ns, "configmaps");
    for (const name of ["a", "b", "c"]) {
      await c.send(
        post(
          cms,
          configMap(name, {}, { labels: { del: name === "c" ? "no" : "yes" } }),
        ),
      );
    }
    const a = body(await c.send({ path: `${cms}/a` }));
    await c.call(
      "stale resourceVersion precondition",
      del(`${cms}/a`, {
        preconditions: { resourceVersion: "1" },
      }),
    );
    await c.call("dry run delete", del(`${cms}/a?dryRun=All`));
    await c.call("still there", { path: `${cms}/a` });
    await c.call(
      "unknown propagation policy",
      del(`${cms}/a?propagationPolicy=Sometimes`),
    );
    await c.call(
      "matching preconditions",
      del(`${cms}/a`, {
        preconditions: {
          uid: a.metadata.uid,
          resourceVersion: a.metadata.resourceVersion,
        },
      }),
    );
    await c.call("delete collection", del(`${cms}?labelSelector=del%3Dyes`));
    const left = await c.send({ path: `${cms}?labelSelector=del` });
    c.record("left after the collection", names(left));
    await c.send(post(gadgets(c), gadget(c.group, "g")));
    await c.call("delete custom", del(gadgets(c, "g")));
    await c.send(post(core(c.ns, "pods"), pod("p")));
    await c.call("delete pod", del(core(c.ns, "pods", "p")));
    await c.call("delete missing pod", del(core(c.ns, "pods", "nope")));
  },
};

/** A CustomResourceDefinition's own life: create, established, discovery, delete. */
export const crdLifecycle: Scenario = {
  name: "crd-lifecycle",
  async run(c) {
    const group = `life.${c.group}`;
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `things.${group}` },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural: "things", singular: "thing", kind: "Thing" },
        versions: [{
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: { n: { type: "integer" } },
                },
              },
            },
          },
        }],
      },
    };
    const path =
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.${group}`;
    await c.call(
      "create",
      post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd),
    );
    await c.eventually(
      "established",
      { path },
      (r) =>
        (body(r)?.status?.conditions ?? []).some((x: Any) =>
          x.type === "Established" && x.status === "True"
        ),
    );
    const things = `/apis/${group}/v1/namespaces/${c.ns}/things`;
    await c.eventually("served", { path: things }, (r) => r.status === 200);
    await c.call(
      "create a thing",
      post(things, {
        apiVersion: `${group}/v1`,
        kind: "Thing",
        metadata: { name: "t" },
        spec: { n: 1 },
      }),
    );
    await c.call(
      "invalid definition",
      post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
        ...crd,
        metadata: { name: "wrong.name" },
      }),
    );
    await c.call("delete", del(path));
    await c.eventually(
      "no longer served",
      { path: things },
      (r) => r.status === 404,
    );
  },
};

/** Leases and Events, as leader election and event recorders write them. */
export const leasesAndEvents: Scenario = {
  name: "leases-events",
  async run(c) {
    const leases = `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`;
    const lease = body(
      await c.call(
        "create lease",
        post(leases, {
          metadata: { name: "leader" },
          spec: {
            holderIdentity: "a",
            leaseDurationSeconds: 15,
            renewTime: "2025-01-01T00:00:00.000000Z",
            acquireTime: "2025-01-01T00:00:00.000000Z",
            leaseTransitions: 0,
          },
        }),
      ),
    );
    await c.call(
      "take over",
      put(`${leases}/leader`, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "b", leaseTransitions: 1 },
      }),
    );
    await c.call(
      "lost race",
      put(`${leases}/leader`, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "c" },
      }),
    );
    await c.call(
      "core event",
      post(core(c.ns, "events"), {
        metadata: { name: "ev1" },
        involvedObject: {
          kind: "ConfigMap",
          name: "x",
          namespace: c.ns,
          apiVersion: "v1",
        },
        reason: "Tested",
        message: "a message",
        type: "Normal",
        count: 1,
        firstTimestamp: "2025-01-01T00:00:00Z",
        lastTimestamp: "2025-01-01T00:00:00Z",
        source: { component: "differential" },
      }),
    );
    await c.call(
      "events.k8s.io event",
      post(`/apis/events.k8s.io/v1/namespaces/${c.ns}/events`, {
        metadata: { name: "ev2" },
        eventTime: "2025-01-01T00:00:00.000000Z",
        reportingController: "example.com/differential",
        reportingInstance: "differential-1",
        action: "Test",
        reason: "Tested",
        regarding: {
          kind: "ConfigMap",
          name: "x",
          namespace: c.ns,
          apiVersion: "v1",
        },
        note: "a note",
        type: "Normal",
      }),
    );
    await c.call("list core events", {
      path: `${core(c.ns, "events")}?fieldSelector=involvedObject.name%3Dx`,
    });
  },
};

/** Services and Secrets: server-filled defaults a controller reads back. */
export const defaults: Scenario = {
  name: "defaults",
  async run(c) {
    await c.call(
      "service",
      post(core(c.ns, "services"), {
        metadata: { name: "svc" },
        spec: {
          selector: { app: "web" },
          ports: [{ name: "http", port: 80, targetPort: 8080 }, {
            name: "dns",
            port: 53,
            protocol: "UDP",
          }],
        },
      }),
    );
    await c.call(
      "headless service",
      post(core(c.ns, "services"), {
        metadata: { name: "headless" },
        spec: {
          clusterIP: "None",
          selector: { app: "db" },
          ports: [{ port: 5432 }],
          publishNotReadyAddresses: true,
        },
      }),
    );
    await c.call(
      "secret",
      post(core(c.ns, "secrets"), {
        metadata: { name: "s" },
        stringData: { password: "p" },
      }),
    );
    await c.call(
      "statefulset",
      post(apps(c.ns, "statefulsets"), statefulSet("db")),
    );
    await c.call(
      "pod",
      post(core(c.ns, "pods"), pod("p", { serviceAccountToken: true })),
    );
  },
};
