/**
 * Merge, JSON and strategic merge patches.
 *
 * @module
 */
import { gadget } from "../gadgets.ts";
import type { Scenario } from "../run.ts";
import {
  apps,
  configMap,
  core,
  deployment,
  gadgets,
  JSON_PATCH,
  MERGE,
  patch,
  pod,
  post,
  STRATEGIC,
} from "./_helpers.ts";

/** Merge, JSON and strategic merge patches, and their errors. */
export const patches: Scenario = {
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
export const strategicLists: Scenario = {
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
