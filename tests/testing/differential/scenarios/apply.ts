/**
 * Server-side apply: managedFields, conflicts, map and set lists.
 *
 * @module
 */
import { gadget } from "../gadgets.ts";
import type { Scenario } from "../run.ts";
import {
  APPLY,
  apps,
  body,
  core,
  gadgets,
  MERGE,
  patch,
  STRATEGIC,
} from "./_helpers.ts";

/** Server-side apply on a built-in kind: managedFields, conflicts, force, removal. */
export const applyConfigMap: Scenario = {
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
export const applyLists: Scenario = {
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
export const applyDeployment: Scenario = {
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
