/**
 * The status and scale subresources, and when generation moves.
 *
 * @module
 */
import { gadget } from "../gadgets.ts";
import type { Scenario } from "../run.ts";
import {
  type Any,
  apps,
  body,
  core,
  del,
  deployment,
  gadgets,
  MERGE,
  patch,
  pod,
  post,
  put,
  statefulSet,
  STRATEGIC,
} from "./_helpers.ts";

/** The status subresource of built-in kinds and of a custom resource. */
export const statusSubresource: Scenario = {
  name: "status-subresource",
  async run(c) {
    const dep = body(
      await c.call(
        "create deployment",
        post(apps(c.ns, "deployments"), deployment("web")),
      ),
    );
    await c.call(
      "deployment status keeps spec, drops labels",
      put(apps(c.ns, "deployments", "web/status"), {
        ...dep,
        metadata: {
          ...dep.metadata,
          labels: { app: "web", extra: "1" },
          annotations: { note: "n" },
        },
        spec: { ...dep.spec, replicas: 5 },
        status: { replicas: 1, observedGeneration: 1 },
      }),
    );
    await c.call(
      "deployment main resource ignores status",
      patch(apps(c.ns, "deployments", "web"), MERGE, {
        status: { replicas: 7 },
        metadata: { labels: { more: "1" } },
      }),
    );
    const p = body(
      await c.call("create pod", post(core(c.ns, "pods"), pod("p"))),
    );
    await c.call(
      "pod status keeps labels",
      put(core(c.ns, "pods", "p/status"), {
        ...p,
        metadata: { ...p.metadata, labels: { app: "p", phase: "x" } },
        status: { ...p.status, phase: "Running" },
      }),
    );
    await c.call(
      "pod status merge patch",
      patch(core(c.ns, "pods", "p/status"), MERGE, {
        metadata: { annotations: { seen: "yes" } },
        status: { message: "hello" },
      }),
    );
    const s = body(
      await c.call(
        "create statefulset",
        post(apps(c.ns, "statefulsets"), statefulSet("db")),
      ),
    );
    await c.call(
      "statefulset status keeps labels",
      put(apps(c.ns, "statefulsets", "db/status"), {
        ...s,
        metadata: { ...s.metadata, labels: { app: "db", extra: "1" } },
        status: { replicas: 1, availableReplicas: 0 },
      }),
    );
    await c.send(post(gadgets(c), gadget(c.group, "g", { size: 1 })));
    await c.call(
      "custom status ignores metadata and spec",
      patch(gadgets(c, "g/status"), MERGE, {
        metadata: { labels: { x: "1" } },
        spec: { size: 9 },
        status: { ready: true },
      }),
    );
    await c.call(
      "custom main resource ignores status",
      patch(gadgets(c, "g"), MERGE, {
        status: { ready: false },
        spec: { size: 2 },
      }),
    );
    await c.call(
      "status of a kind without one",
      patch(core(c.ns, "configmaps", "x/status"), MERGE, { data: {} }),
    );
  },
};

/** The scale subresource: custom resources (specReplicasPath …), Deployments, StatefulSets. */
export const scaleSubresource: Scenario = {
  name: "scale-subresource",
  async run(c) {
    await c.send(
      post(gadgets(c), gadget(c.group, "g", { size: 1, replicas: 1 })),
    );
    await c.send(patch(gadgets(c, "g/status"), MERGE, {
      status: { replicas: 1, selector: "app=g" },
    }));
    await c.call("get scale", { path: gadgets(c, "g/scale") });
    await c.call(
      "patch scale",
      patch(gadgets(c, "g/scale"), MERGE, { spec: { replicas: 3 } }),
    );
    const scale = body(await c.send({ path: gadgets(c, "g/scale") }));
    await c.call(
      "put scale",
      put(gadgets(c, "g/scale"), { ...scale, spec: { replicas: 4 } }),
    );
    await c.call(
      "put scale stale",
      put(gadgets(c, "g/scale"), { ...scale, spec: { replicas: 5 } }),
    );
    await c.call(
      "negative scale",
      patch(gadgets(c, "g/scale"), MERGE, { spec: { replicas: -1 } }),
    );
    await c.call("object after scaling", { path: gadgets(c, "g") });
    await c.call("scale of a missing object", {
      path: gadgets(c, "nope/scale"),
    });
    await c.send(post(apps(c.ns, "deployments"), deployment("web")));
    await c.call("deployment scale", {
      path: apps(c.ns, "deployments", "web/scale"),
    });
    await c.call(
      "deployment scale patch",
      patch(apps(c.ns, "deployments", "web/scale"), MERGE, {
        spec: { replicas: 2 },
      }),
    );
    await c.call("deployment after scaling", {
      path: apps(c.ns, "deployments", "web"),
    });
    await c.send(post(apps(c.ns, "statefulsets"), statefulSet("db")));
    await c.call(
      "statefulset scale patch",
      patch(apps(c.ns, "statefulsets", "db/scale"), MERGE, {
        spec: { replicas: 3 },
      }),
    );
    const discovery = body(await c.send({ path: `/apis/${c.group}/v1` }));
    c.record(
      "discovery lists the scale subresource",
      (discovery?.resources ?? []).filter((r: Any) =>
        String(r.name).startsWith("gadgets")
      ).map((r: Any) => ({
        name: r.name,
        kind: r.kind,
        group: r.group,
        version: r.version,
        verbs: [...(r.verbs ?? [])].sort(),
      })),
    );
  },
};

/** When metadata.generation moves, per kind. */
export const generation: Scenario = {
  name: "generation",
  async run(c) {
    const dep = apps(c.ns, "deployments", "web");
    await c.call(
      "deployment created",
      post(apps(c.ns, "deployments"), deployment("web")),
    );
    await c.call(
      "deployment label",
      patch(dep, MERGE, { metadata: { labels: { x: "1" } } }),
    );
    await c.call(
      "deployment annotation",
      patch(dep, MERGE, { metadata: { annotations: { x: "1" } } }),
    );
    await c.call(
      "deployment spec",
      patch(dep, MERGE, { spec: { replicas: 2 } }),
    );
    await c.call(
      "deployment status",
      patch(`${dep}/status`, MERGE, { status: { replicas: 2 } }),
    );
    const sts = apps(c.ns, "statefulsets", "db");
    await c.call(
      "statefulset created",
      post(apps(c.ns, "statefulsets"), statefulSet("db")),
    );
    await c.call(
      "statefulset annotation",
      patch(sts, MERGE, { metadata: { annotations: { x: "1" } } }),
    );
    await c.call(
      "statefulset spec",
      patch(sts, MERGE, { spec: { replicas: 2 } }),
    );
    await c.call("pod created", post(core(c.ns, "pods"), pod("p")));
    await c.call(
      "pod image",
      patch(core(c.ns, "pods", "p"), STRATEGIC, {
        spec: { containers: [{ name: "app", image: "nginx:1.28" }] },
      }),
    );
    await c.call(
      "service created",
      post(core(c.ns, "services"), {
        metadata: { name: "svc" },
        spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
      }),
    );
    await c.call(
      "service spec",
      patch(core(c.ns, "services", "svc"), MERGE, {
        spec: { ports: [{ port: 8080 }] },
      }),
    );
    await c.call("gadget created", post(gadgets(c), gadget(c.group, "g")));
    await c.call(
      "gadget label",
      patch(gadgets(c, "g"), MERGE, { metadata: { labels: { x: "1" } } }),
    );
    await c.call(
      "gadget spec",
      patch(gadgets(c, "g"), MERGE, { spec: { size: 2 } }),
    );
    await c.call(
      "gadget status",
      patch(gadgets(c, "g/status"), MERGE, { status: { ready: true } }),
    );
    await c.send(
      patch(gadgets(c, "g"), MERGE, {
        metadata: { finalizers: ["example.com/x"] },
      }),
    );
    await c.call("gadget deleted with a finalizer", del(gadgets(c, "g")));
    await c.call(
      "deployment deleted in the foreground",
      del(dep, {
        kind: "DeleteOptions",
        apiVersion: "v1",
        propagationPolicy: "Foreground",
      }),
    );
  },
};
