/**
 * Finalizers, namespace termination and garbage collection.
 *
 * @module
 */
import { gadget } from "../gadgets.ts";
import type { Scenario } from "../run.ts";
import {
  type Any,
  body,
  configMap,
  core,
  del,
  gadgets,
  JSON_PATCH,
  MERGE,
  patch,
  post,
  types,
} from "./_helpers.ts";

/** Finalizers and the events a watch sees while an object is deleted. */
export const finalizerEvents: Scenario = {
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

/** Namespaces: their label, termination, and what a terminating one refuses. */
export const namespaces: Scenario = {
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
export const garbageCollection: Scenario = {
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
