/**
 * The differential scenarios: what controllers do to an API server, each
 * written once and run on both control planes. Every `call`, `eventually`,
 * `events` and `record` is one compared observation.
 *
 * @module
 */
import type { Reply, RequestSpec, WatchEvent } from "./client.ts";
import { gadget } from "./gadgets.ts";
import type { Scenario, ScenarioContext } from "./run.ts";

const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const APPLY = "application/apply-patch+yaml";

// deno-lint-ignore no-explicit-any
type Any = any;

function body(reply: Reply): Any {
  return reply.body;
}

function core(ns: string, plural: string, name?: string): string {
  return `/api/v1/namespaces/${ns}/${plural}${name ? `/${name}` : ""}`;
}

function apps(ns: string, plural: string, name?: string): string {
  return `/apis/apps/v1/namespaces/${ns}/${plural}${name ? `/${name}` : ""}`;
}

function gadgets(c: ScenarioContext, name?: string): string {
  return `/apis/${c.group}/v1/namespaces/${c.ns}/gadgets${
    name ? `/${name}` : ""
  }`;
}

function patch(path: string, type: string, patchBody: unknown): RequestSpec {
  return { method: "PATCH", path, body: patchBody, contentType: type };
}

function post(path: string, postBody: unknown): RequestSpec {
  return { method: "POST", path, body: postBody };
}

function put(path: string, putBody: unknown): RequestSpec {
  return { method: "PUT", path, body: putBody };
}

function del(path: string, options?: unknown): RequestSpec {
  return { method: "DELETE", path, body: options };
}

function configMap(
  name: string,
  data: Record<string, string> = {},
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, ...metadata },
    data,
  };
}

function podSpec(): Record<string, unknown> {
  return {
    containers: [{
      name: "app",
      image: "nginx:1.27",
      ports: [{ containerPort: 80 }],
      env: [{ name: "A", value: "1" }],
      volumeMounts: [{ name: "data", mountPath: "/data" }],
    }],
    volumes: [{ name: "data", emptyDir: {} }],
  };
}

function deployment(name: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
    },
  };
}

function statefulSet(name: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, labels: { app: name } },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
    },
  };
}

/**
 * A Pod. Without `serviceAccountToken`, it mounts no token: the real
 * server's ServiceAccount admission would add a projected token volume
 * (and, in the OpenShift build of the reference, a service CA), which the
 * test server does not (a listed divergence, shown once in `defaults`).
 */
function pod(
  name: string,
  options: { serviceAccountToken?: boolean } = {},
): Record<string, unknown> {
  const spec = podSpec();
  if (!options.serviceAccountToken) spec.automountServiceAccountToken = false;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name } },
    spec,
  };
}

function names(reply: Reply): string[] {
  return (body(reply)?.items ?? []).map((i: Any) => i.metadata.name);
}

function types(events: WatchEvent[]): string[] {
  return events.map((e) => e.type);
}

/** Create, read, conflicts and errors on a built-in kind. */
const configMapCrud: Scenario = {
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
const customCrud: Scenario = {
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

/** Merge, JSON and strategic merge patches, and their errors. */
const patches: Scenario = {
  name: "patch-types",
  async run(c) {
    await c.send(post(
      core(c.ns, "configmaps"),
      configMap("p", { a: "1", b: "2" }, { labels: { x: "1" } }),
    ));
    await c.call(
      "merge patch",
      patch(core(c.ns, "configmaps", "p"), MERGE, {
        data: { a: null, c: "3" },
        metadata: { labels: { y: "2" } },
      }),
    );
    await c.call(
      "json patch",
      patch(core(c.ns, "configmaps", "p"), JSON_PATCH, [
        { op: "test", path: "/data/b", value: "2" },
        { op: "replace", path: "/data/b", value: "22" },
        { op: "add", path: "/data/d", value: "4" },
        { op: "remove", path: "/data/c" },
      ]),
    );
    await c.call(
      "json patch failed test",
      patch(core(c.ns, "configmaps", "p"), JSON_PATCH, [
        { op: "test", path: "/data/b", value: "nope" },
      ]),
    );
    await c.call(
      "json patch missing path",
      patch(core(c.ns, "configmaps", "p"), JSON_PATCH, [
        { op: "remove", path: "/data/zzz" },
      ]),
    );
    await c.call(
      "strategic merge patch",
      patch(core(c.ns, "configmaps", "p"), STRATEGIC, {
        data: { e: "5" },
        metadata: { finalizers: ["example.com/a"] },
      }),
    );
    await c.call(
      "strategic merge patch merges finalizers",
      patch(core(c.ns, "configmaps", "p"), STRATEGIC, {
        metadata: { finalizers: ["example.com/b"] },
      }),
    );
    await c.call(
      "strategic delete from primitive list",
      patch(core(c.ns, "configmaps", "p"), STRATEGIC, {
        metadata: {
          "$deleteFromPrimitiveList/finalizers": [
            "example.com/a",
            "example.com/b",
          ],
        },
      }),
    );
    await c.send(post(gadgets(c), gadget(c.group, "g", { size: 1 })));
    await c.call(
      "merge patch custom",
      patch(gadgets(c, "g"), MERGE, { spec: { size: 2, tags: ["a"] } }),
    );
    await c.call(
      "strategic merge patch custom",
      patch(gadgets(c, "g"), STRATEGIC, { spec: { size: 3 } }),
    );
    await c.call(
      "merge patch invalid",
      patch(gadgets(c, "g"), MERGE, { spec: { size: 50 } }),
    );
    await c.call(
      "patch missing",
      patch(core(c.ns, "configmaps", "nope"), MERGE, { data: { a: "1" } }),
    );
    await c.call(
      "unknown patch type",
      patch(core(c.ns, "configmaps", "p"), "application/x-unknown", {}),
    );
    await c.call(
      "merge patch not an object",
      patch(core(c.ns, "configmaps", "p"), MERGE, "[1]"),
    );
  },
};

/** Strategic merge patches of the lists operators write, merged by their keys. */
const strategicLists: Scenario = {
  name: "strategic-lists",
  async run(c) {
    await c.call(
      "create deployment",
      post(apps(c.ns, "deployments"), deployment("web")),
    );
    const path = apps(c.ns, "deployments", "web");
    const containers = (list: unknown) =>
      patch(path, STRATEGIC, {
        spec: { template: { spec: { containers: list } } },
      });
    await c.call(
      "env merges by name",
      containers([{ name: "app", env: [{ name: "B", value: "2" }] }]),
    );
    await c.call(
      "ports merge by containerPort",
      containers([{ name: "app", ports: [{ containerPort: 443 }] }]),
    );
    await c.call(
      "volumes merge by name",
      patch(path, STRATEGIC, {
        spec: {
          template: { spec: { volumes: [{ name: "cache", emptyDir: {} }] } },
        },
      }),
    );
    await c.call(
      "volumeMounts merge by mountPath",
      containers([{
        name: "app",
        volumeMounts: [{ name: "cache", mountPath: "/cache" }],
      }]),
    );
    await c.call(
      "a container is added",
      containers([{ name: "sidecar", image: "busybox:1.36" }]),
    );
    await c.call(
      "one container's image changes",
      containers([{ name: "app", image: "nginx:1.28" }]),
    );
    await c.call(
      "an env entry is deleted",
      containers([{ name: "app", env: [{ name: "A", $patch: "delete" }] }]),
    );
    await c.call(
      "a container is deleted",
      containers([{ name: "sidecar", $patch: "delete" }]),
    );
    await c.call(
      "a list is replaced",
      patch(path, STRATEGIC, {
        spec: {
          template: {
            spec: {
              volumes: [
                { name: "cache", emptyDir: {} },
                { name: "data", emptyDir: {} },
                { $patch: "replace" },
              ],
            },
          },
        },
      }),
    );
    await c.call(
      "element order is set",
      patch(path, STRATEGIC, {
        spec: {
          template: {
            spec: {
              "$setElementOrder/containers": [{ name: "app" }],
              containers: [{ name: "app", args: ["-v"] }],
            },
          },
        },
      }),
    );
    await c.call("create pod", post(core(c.ns, "pods"), pod("p")));
    await c.call(
      "pod container image",
      patch(core(c.ns, "pods", "p"), STRATEGIC, {
        metadata: { labels: { tier: "web" } },
        spec: { containers: [{ name: "app", image: "nginx:1.28" }] },
      }),
    );
    await c.call(
      "pod env cannot change",
      patch(core(c.ns, "pods", "p"), STRATEGIC, {
        spec: {
          containers: [{ name: "app", env: [{ name: "C", value: "3" }] }],
        },
      }),
    );
  },
};

/** Server-side apply on a built-in kind: managedFields, conflicts, force, removal. */
const applyConfigMap: Scenario = {
  name: "apply-configmap",
  async run(c) {
    const path = core(c.ns, "configmaps", "cfg");
    const applied = (
      data: Record<string, string>,
      labels?: Record<string, string>,
    ) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", ...(labels ? { labels } : {}) },
      data,
    });
    const created = await c.call(
      "apply creates",
      patch(
        `${path}?fieldManager=alice`,
        APPLY,
        applied({ a: "1", b: "2" }, { team: "x" }),
      ),
    );
    const again = await c.call(
      "apply unchanged",
      patch(
        `${path}?fieldManager=alice`,
        APPLY,
        applied({ a: "1", b: "2" }, { team: "x" }),
      ),
    );
    c.record("an unchanged apply keeps the resourceVersion", {
      same: body(again).metadata.resourceVersion ===
        body(created).metadata.resourceVersion,
    });
    await c.call(
      "apply without fieldManager",
      patch(path, APPLY, applied({ a: "1" })),
    );
    await c.call(
      "conflicting apply",
      patch(`${path}?fieldManager=bob`, APPLY, applied({ a: "9", c: "3" })),
    );
    await c.call(
      "shared value applies",
      patch(`${path}?fieldManager=bob`, APPLY, applied({ a: "1", c: "3" })),
    );
    await c.call(
      "forced apply",
      patch(
        `${path}?fieldManager=bob&force=true`,
        APPLY,
        applied({ b: "20", c: "3" }),
      ),
    );
    await c.call(
      "applier drops a field",
      patch(`${path}?fieldManager=alice`, APPLY, applied({ a: "1" })),
    );
    await c.call(
      "update by another manager",
      patch(`${path}?fieldManager=carol`, MERGE, { data: { d: "4" } }),
    );
    await c.call(
      "update by the user agent",
      patch(path, MERGE, { data: { e: "5" } }),
    );
    await c.call(
      "applier takes back a field it lost",
      patch(`${path}?fieldManager=alice`, APPLY, applied({ a: "1", d: "44" })),
    );
    await c.call(
      "apply with managedFields",
      patch(`${path}?fieldManager=alice`, APPLY, {
        ...applied({ a: "1" }),
        metadata: { name: "cfg", managedFields: [{ manager: "x" }] },
      }),
    );
    await c.call(
      "apply with a wrong name",
      patch(`${path}?fieldManager=alice`, APPLY, {
        ...applied({ a: "1" }),
        metadata: { name: "other" },
      }),
    );
    await c.call(
      "apply dry run",
      patch(
        `${path}?fieldManager=dave&dryRun=All`,
        APPLY,
        applied({ z: "26" }),
      ),
    );
    await c.call("after all", { path });
  },
};

/** Server-side apply of map and set lists on a custom resource, and of its status. */
const applyLists: Scenario = {
  name: "apply-lists",
  async run(c) {
    const path = gadgets(c, "g");
    const applied = (spec: Record<string, unknown>) =>
      gadget(c.group, "g", spec);
    await c.call(
      "alice applies",
      patch(
        `${path}?fieldManager=alice`,
        APPLY,
        applied({
          size: 1,
          ports: [{ name: "http", port: 80 }],
          tags: ["a"],
          args: ["x"],
          settings: { one: "1" },
        }),
      ),
    );
    await c.call(
      "bob adds his own list entries",
      patch(
        `${path}?fieldManager=bob`,
        APPLY,
        applied({
          ports: [{ name: "metrics", port: 9090 }],
          tags: ["b"],
          settings: { two: "2" },
        }),
      ),
    );
    await c.call(
      "bob claims an atomic list",
      patch(
        `${path}?fieldManager=bob`,
        APPLY,
        applied({
          ports: [{ name: "metrics", port: 9090 }],
          args: ["y"],
        }),
      ),
    );
    await c.call(
      "bob changes alice's entry",
      patch(
        `${path}?fieldManager=bob`,
        APPLY,
        applied({
          ports: [{ name: "metrics", port: 9090 }, {
            name: "http",
            port: 8080,
          }],
        }),
      ),
    );
    await c.call(
      "alice drops her entry",
      patch(
        `${path}?fieldManager=alice`,
        APPLY,
        applied({
          size: 1,
          tags: ["a"],
          args: ["x"],
        }),
      ),
    );
    await c.call(
      "status apply",
      patch(`${path}/status?fieldManager=ctrl`, APPLY, {
        apiVersion: `${c.group}/v1`,
        kind: "Gadget",
        metadata: { name: "g" },
        status: {
          ready: true,
          conditions: [{ type: "Ready", status: "True", reason: "Up" }],
        },
      }),
    );
    await c.call(
      "status apply adds a condition",
      patch(`${path}/status?fieldManager=other`, APPLY, {
        apiVersion: `${c.group}/v1`,
        kind: "Gadget",
        metadata: { name: "g" },
        status: { conditions: [{ type: "Synced", status: "False" }] },
      }),
    );
    await c.call(
      "main resource apply ignores status",
      patch(`${path}?fieldManager=carol`, APPLY, {
        ...applied({ size: 1 }),
        status: { ready: false },
      }),
    );
    await c.call("after all", { path });
  },
};

/** Server-side apply of a Deployment: containers by name, env by name, ports by port. */
const applyDeployment: Scenario = {
  name: "apply-deployment",
  async run(c) {
    const path = apps(c.ns, "deployments", "web");
    const spec = (containers: unknown[]) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers },
        },
      },
    });
    await c.call(
      "operator applies",
      patch(
        `${path}?fieldManager=operator`,
        APPLY,
        spec([{
          name: "app",
          image: "nginx:1.27",
          env: [{ name: "A", value: "1" }, { name: "B", value: "2" }],
          ports: [{ containerPort: 80, name: "http" }],
        }]),
      ),
    );
    await c.call(
      "injector adds a sidecar and an env var",
      patch(`${path}?fieldManager=injector`, APPLY, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          template: {
            spec: {
              containers: [
                { name: "app", env: [{ name: "INJECTED", value: "yes" }] },
                { name: "proxy", image: "envoy:1.30" },
              ],
            },
          },
        },
      }),
    );
    await c.call(
      "operator drops an env var",
      patch(
        `${path}?fieldManager=operator`,
        APPLY,
        spec([{
          name: "app",
          image: "nginx:1.27",
          env: [{ name: "A", value: "1" }],
          ports: [{ containerPort: 80, name: "http" }],
        }]),
      ),
    );
    await c.call(
      "injector changes the image",
      patch(`${path}?fieldManager=injector`, APPLY, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          template: {
            spec: { containers: [{ name: "app", image: "nginx:1.28" }] },
          },
        },
      }),
    );
    const conditions = (list: unknown[]) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      status: { conditions: list },
    });
    await c.call(
      "a controller applies a status condition",
      patch(
        `${path}/status?fieldManager=ctrl`,
        APPLY,
        conditions([{
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
        }]),
      ),
    );
    await c.call(
      "another controller adds its own condition",
      patch(
        `${path}/status?fieldManager=other`,
        APPLY,
        conditions([{
          type: "Progressing",
          status: "True",
          reason: "NewReplicaSetAvailable",
        }]),
      ),
    );
    await c.call(
      "service ports apply by port and protocol",
      patch(`${core(c.ns, "services", "svc")}?fieldManager=operator`, APPLY, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "svc" },
        spec: {
          selector: { app: "web" },
          ports: [{ name: "http", port: 80 }, {
            name: "dns",
            port: 53,
            protocol: "UDP",
          }],
        },
      }),
    );
    await c.call(
      "another manager adds a service port",
      patch(`${core(c.ns, "services", "svc")}?fieldManager=other`, APPLY, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "svc" },
        spec: { ports: [{ name: "https", port: 443 }] },
      }),
    );
    await c.call(
      "service ports merge by port in a strategic patch",
      patch(core(c.ns, "services", "svc"), STRATEGIC, {
        spec: { ports: [{ port: 80, targetPort: 8080 }] },
      }),
    );
    await c.call(
      "scaled by an update",
      patch(`${path}?fieldManager=hpa`, MERGE, { spec: { replicas: 3 } }),
    );
    await c.call("after all", { path });
  },
};

/** The status subresource of built-in kinds and of a custom resource. */
const statusSubresource: Scenario = {
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
const scaleSubresource: Scenario = {
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

/** Finalizers and the events a watch sees while an object is deleted. */
const finalizerEvents: Scenario = {
  name: "finalizer-events",
  async run(c) {
    const list = body(await c.send({ path: gadgets(c) }));
    const watch = await c.watch(
      `${
        gadgets(c)
      }?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    );
    await c.call(
      "create with a finalizer",
      post(
        gadgets(c),
        gadget(c.group, "g", { size: 1 }, {
          finalizers: ["example.com/hold"],
        }),
      ),
    );
    await c.call("delete", del(gadgets(c, "g")));
    await c.call("delete again", del(gadgets(c, "g")));
    await c.call(
      "add a finalizer while deleting",
      patch(gadgets(c, "g"), JSON_PATCH, [
        {
          op: "add",
          path: "/metadata/finalizers/-",
          value: "example.com/late",
        },
      ]),
    );
    await c.call(
      "remove the last finalizer",
      patch(gadgets(c, "g"), JSON_PATCH, [
        {
          op: "test",
          path: "/metadata/finalizers/0",
          value: "example.com/hold",
        },
        { op: "remove", path: "/metadata/finalizers/0" },
      ]),
    );
    await c.events("gadget events", watch, (e) => types(e).includes("DELETED"));
    const cmList = body(
      await c.send({
        path: `${core(c.ns, "configmaps")}?labelSelector=fin%3D1`,
      }),
    );
    const cmWatch = await c.watch(
      `${
        core(c.ns, "configmaps")
      }?watch=true&labelSelector=fin%3D1&resourceVersion=${cmList.metadata.resourceVersion}`,
    );
    await c.send(post(
      core(c.ns, "configmaps"),
      configMap("two", {}, {
        labels: { fin: "1" },
        finalizers: ["a.example.com/x", "b.example.com/y"],
      }),
    ));
    await c.call(
      "delete with a precondition",
      del(core(c.ns, "configmaps", "two"), {
        kind: "DeleteOptions",
        apiVersion: "v1",
        preconditions: { uid: "00000000-0000-0000-0000-000000000000" },
      }),
    );
    await c.call("delete configmap", del(core(c.ns, "configmaps", "two")));
    await c.call(
      "remove one of two finalizers",
      patch(core(c.ns, "configmaps", "two"), MERGE, {
        metadata: { finalizers: ["b.example.com/y"] },
      }),
    );
    await c.call(
      "remove the other by update",
      patch(core(c.ns, "configmaps", "two"), MERGE, {
        metadata: { finalizers: null },
      }),
    );
    await c.events(
      "configmap events",
      cmWatch,
      (e) => types(e).includes("DELETED"),
    );
  },
};

/** Watches: resuming from a resourceVersion, selectors entering and leaving, initial events with a bookmark. */
const watches: Scenario = {
  name: "watch-semantics",
  async run(c) {
    const path = core(c.ns, "configmaps");
    await c.send(post(path, configMap("before", {}, { labels: { w: "yes" } })));
    const list = body(await c.send({ path: `${path}?labelSelector=w%3Dyes` }));
    const rv = list.metadata.resourceVersion;
    const selected = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&resourceVersion=${rv}`,
    );
    const named = await c.watch(
      `${path}?watch=true&fieldSelector=metadata.name%3Dmover&resourceVersion=${rv}`,
    );
    await c.send(post(path, configMap("mover", {}, { labels: { w: "yes" } })));
    await c.send(
      patch(`${path}/mover`, MERGE, { metadata: { labels: { w: "no" } } }),
    );
    await c.send(patch(`${path}/mover`, MERGE, { data: { k: "v" } }));
    await c.send(
      patch(`${path}/mover`, MERGE, { metadata: { labels: { w: "yes" } } }),
    );
    await c.send(del(`${path}/mover`));
    await c.events(
      "selector enters and leaves",
      selected,
      (e) => e.length >= 4,
    );
    await c.events("field selector", named, (e) => e.length >= 5);
    const resumed = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&resourceVersion=${rv}`,
    );
    await c.events("resumed from the list", resumed, (e) => e.length >= 4);
    const initial = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    );
    await c.events(
      "initial events end with a bookmark",
      initial,
      (e) => e.some((x) => x.type === "BOOKMARK"),
    );
    const zero = await c.watch(
      `${path}?watch=true&labelSelector=w%3Dyes&resourceVersion=0`,
    );
    await c.events("from resourceVersion 0", zero, (e) => e.length >= 1);
    await c.call("watch with a bad resourceVersion", {
      path: `${path}?watch=true&resourceVersion=abc`,
    });
  },
};

/** Label and field selectors on lists. */
const selectors: Scenario = {
  name: "selectors",
  async run(c) {
    const path = core(c.ns, "configmaps");
    const labels = [
      { env: "prod", tier: "web" },
      { env: "dev", tier: "web" },
      { env: "test" },
      { tier: "db" },
    ];
    for (const [i, l] of labels.entries()) {
      await c.send(
        post(path, configMap(`s${i}`, {}, { labels: { ...l, sel: "1" } })),
      );
    }
    for (
      const selector of [
        "env=prod",
        "env==prod",
        "env!=prod",
        "env in (dev,test)",
        "env notin (dev,test)",
        "tier",
        "!env",
        "tier=web,env=dev",
      ]
    ) {
      const reply = await c.send({
        path: `${path}?labelSelector=${
          encodeURIComponent(`sel=1,${selector}`)
        }`,
      });
      c.record(`labelSelector ${selector}`, {
        status: reply.status,
        names: names(reply),
      });
    }
    const byName = await c.send({
      path: `${path}?fieldSelector=metadata.name%3Ds1`,
    });
    c.record("fieldSelector metadata.name", {
      status: byName.status,
      names: names(byName),
    });
    const notName = await c.send({
      path: `${path}?labelSelector=sel%3D1&fieldSelector=metadata.name!%3Ds1`,
    });
    c.record("fieldSelector !=", {
      status: notName.status,
      names: names(notName),
    });
    await c.call("unsupported field selector", {
      path: `${path}?fieldSelector=data.k%3Dv`,
    });
    await c.call("bad label selector", {
      path: `${path}?labelSelector=${encodeURIComponent("a b c")}`,
    });
    await c.send(post(core(c.ns, "secrets"), {
      metadata: { name: "tls" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": "", "tls.key": "" },
    }));
    const typed = await c.send({
      path: `${core(c.ns, "secrets")}?fieldSelector=type%3Dkubernetes.io%2Ftls`,
    });
    c.record("secret type field selector", {
      status: typed.status,
      names: names(typed),
    });
  },
};

/** Paged lists: limit, continue, remainingItemCount, and the snapshot later pages read. */
const pagination: Scenario = {
  name: "pagination",
  async run(c) {
    const path = core(c.ns, "secrets");
    for (let i = 0; i < 5; i++) {
      await c.send(post(path, {
        metadata: {
          name: `s${i}`,
          labels: { page: i % 2 === 0 ? "even" : "odd" },
        },
        stringData: { i: String(i) },
      }));
    }
    const first = await c.call("first page", { path: `${path}?limit=2` });
    const token = body(first).metadata.continue;
    await c.send(
      post(path, { metadata: { name: "s9" }, stringData: { i: "9" } }),
    );
    await c.send(del(`${path}/s3`));
    await c.send(patch(`${path}/s2`, MERGE, { stringData: { i: "two" } }));
    const second = await c.call("second page", {
      path: `${path}?limit=2&continue=${encodeURIComponent(token)}`,
    });
    const third = await c.call("third page", {
      path: `${path}?limit=2&continue=${
        encodeURIComponent(body(second).metadata.continue ?? "")
      }`,
    });
    c.record("pages share the first page's resourceVersion", {
      second: body(second).metadata?.resourceVersion ===
        body(first).metadata.resourceVersion,
      third: body(third).metadata?.resourceVersion ===
        body(first).metadata.resourceVersion,
    });
    await c.call("selected first page", {
      path: `${path}?limit=2&labelSelector=page%3Deven`,
    });
    await c.call("field-selected first page", {
      path: `${path}?limit=1&fieldSelector=metadata.name!%3Ds0`,
    });
    await c.call("limit larger than the list", { path: `${path}?limit=100` });
    await c.call("bad continue token", {
      path: `${path}?limit=2&continue=garbage`,
    });
  },
};

/** When metadata.generation moves, per kind. */
const generation: Scenario = {
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

/** Namespaces: their label, termination, and what a terminating one refuses. */
const namespaces: Scenario = {
  name: "namespaces",
  async run(c) {
    const ns = `${c.ns}-x`;
    await c.call(
      "create",
      post("/api/v1/namespaces", { metadata: { name: ns } }),
    );
    await c.call(
      "invalid name",
      post("/api/v1/namespaces", { metadata: { name: "Not.Valid" } }),
    );
    await c.send(
      post(
        core(ns, "configmaps"),
        configMap("held", {}, { finalizers: ["example.com/hold"] }),
      ),
    );
    await c.call("delete", del(`/api/v1/namespaces/${ns}`));
    await c.call(
      "create in a terminating namespace",
      post(core(ns, "configmaps"), configMap("late")),
    );
    await c.eventually(
      "content is being deleted",
      { path: core(ns, "configmaps", "held") },
      (r) => Boolean(body(r)?.metadata?.deletionTimestamp),
    );
    await c.send(
      patch(core(ns, "configmaps", "held"), MERGE, {
        metadata: { finalizers: null },
      }),
    );
    await c.eventually(
      "the namespace goes",
      { path: `/api/v1/namespaces/${ns}` },
      (r) => r.status === 404,
    );
  },
};

/** Owner-reference garbage collection: background, foreground, orphan, and an absent owner. */
const garbageCollection: Scenario = {
  name: "garbage-collection",
  async run(c) {
    const cms = core(c.ns, "configmaps");
    const owned = (
      name: string,
      owner: Any,
      extra: Record<string, unknown> = {},
    ) =>
      configMap(name, {}, {
        ownerReferences: [{
          apiVersion: "v1",
          kind: "ConfigMap",
          name: owner.metadata.name,
          uid: owner.metadata.uid,
          ...extra,
        }],
      });
    const bg = body(await c.send(post(cms, configMap("bg-owner"))));
    await c.send(post(cms, owned("bg-dep", bg)));
    await c.call("background delete", del(`${cms}/bg-owner`));
    await c.eventually("background dependent collected", {
      path: `${cms}/bg-dep`,
    }, (r) => r.status === 404);

    const fg = body(await c.send(post(cms, configMap("fg-owner"))));
    await c.send(post(cms, owned("fg-dep", fg, { blockOwnerDeletion: true })));
    await c.call(
      "foreground delete",
      del(`${cms}/fg-owner`, {
        kind: "DeleteOptions",
        apiVersion: "v1",
        propagationPolicy: "Foreground",
      }),
    );
    await c.eventually("foreground dependent collected", {
      path: `${cms}/fg-dep`,
    }, (r) => r.status === 404);
    await c.eventually(
      "foreground owner goes",
      { path: `${cms}/fg-owner` },
      (r) => r.status === 404,
    );

    const or = body(await c.send(post(cms, configMap("orphan-owner"))));
    await c.send(post(cms, owned("orphan-dep", or)));
    await c.call(
      "orphan delete",
      del(`${cms}/orphan-owner?propagationPolicy=Orphan`),
    );
    await c.eventually(
      "orphan owner goes",
      { path: `${cms}/orphan-owner` },
      (r) => r.status === 404,
    );
    await c.eventually(
      "orphan dependent kept without the reference",
      { path: `${cms}/orphan-dep` },
      (r) => r.status === 200 && !body(r).metadata.ownerReferences,
    );

    await c.send(post(
      cms,
      owned("ghost-dep", {
        metadata: {
          name: "ghost",
          uid: "6f1c2b7e-0000-4000-8000-000000000000",
        },
      }),
    ));
    await c.eventually("dependent of an absent owner collected", {
      path: `${cms}/ghost-dep`,
    }, (r) => r.status === 404);
  },
};

/** Delete options and collections. */
const deletion: Scenario = {
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
const crdLifecycle: Scenario = {
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
const leasesAndEvents: Scenario = {
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
const defaults: Scenario = {
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

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  configMapCrud,
  customCrud,
  patches,
  strategicLists,
  applyConfigMap,
  applyLists,
  applyDeployment,
  statusSubresource,
  scaleSubresource,
  finalizerEvents,
  watches,
  selectors,
  pagination,
  generation,
  namespaces,
  garbageCollection,
  deletion,
  crdLifecycle,
  leasesAndEvents,
  defaults,
];
