import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { type Harness, startHarness, WatchRecorder } from "./_helpers.ts";

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const CMS = "/api/v1/namespaces/default/configmaps";

describe("TestApiServer watches", () => {
  let h: Harness;
  let n = 0;
  const name = (prefix: string) => `${prefix}-${n++}`;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.server.stop();
  });

  it("streams ADDED, MODIFIED and DELETED after the given resourceVersion only", async () => {
    const early = name("early");
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: early } },
    });
    const list = await h.core.listNamespacedConfigMap({ namespace: "default" });
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: list.metadata?.resourceVersion,
    });
    try {
      const x = name("x");
      await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: x } },
      });
      await h.core.patchNamespacedConfigMap(
        { name: x, namespace: "default", body: { data: { a: "1" } } },
        merge,
      );
      await h.core.deleteNamespacedConfigMap({ name: x, namespace: "default" });
      await w.count(3);
      assert.deepEqual(w.events.map((e) => [e.type, e.object.metadata.name]), [
        ["ADDED", x],
        ["MODIFIED", x],
        ["DELETED", x],
      ]);
      const rvs = w.events.map((e) =>
        Number(e.object.metadata.resourceVersion)
      );
      assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2]);
      assert.deepEqual(w.events[1].object.data, { a: "1" });
    } finally {
      w.stop();
    }
  });

  it("replays history when resuming from an older resourceVersion", async () => {
    const first = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: name("resume") } },
    });
    const second = name("resume");
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: second } },
    });
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: first.metadata?.resourceVersion,
    });
    try {
      await w.count(1);
      assert.deepEqual(w.events.map((e) => [e.type, e.object.metadata.name]), [[
        "ADDED",
        second,
      ]]);
    } finally {
      w.stop();
    }
  });

  it("sends synthetic ADDED events for existing objects when no resourceVersion is given", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "synthetic" } } });
    for (const n of ["s1", "s2"]) {
      await h.core.createNamespacedConfigMap({
        namespace: "synthetic",
        body: { metadata: { name: n } },
      });
    }
    const w = await new WatchRecorder().start(
      h.kc,
      "/api/v1/namespaces/synthetic/configmaps",
    );
    try {
      await w.count(2);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.object.metadata.name]).sort(),
        [
          ["ADDED", "s1"],
          ["ADDED", "s2"],
        ],
      );
    } finally {
      w.stop();
    }
  });

  it("sends BOOKMARK events with the current resourceVersion only when allowed", async () => {
    const withBookmarks = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: String(h.server.resourceVersion),
      allowWatchBookmarks: true,
    });
    const without = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: String(h.server.resourceVersion),
    });
    try {
      const cm = await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: name("bm") } },
      });
      await without.count(1);
      h.server.bookmark();
      await withBookmarks.until(
        () => withBookmarks.events.some((e) => e.type === "BOOKMARK"),
        "a bookmark",
      );
      const bookmark = withBookmarks.events.find((e) => e.type === "BOOKMARK")!;
      assert.equal(bookmark.object.kind, "ConfigMap");
      assert.equal(bookmark.object.apiVersion, "v1");
      assert.equal(
        bookmark.object.metadata.resourceVersion,
        cm.metadata?.resourceVersion,
      );
      const marker = await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: name("bm-after") } },
      });
      await without.until(
        () =>
          without.events.some((e) =>
            e.object.metadata.name === marker.metadata?.name
          ),
        "the marker",
      );
      assert.ok(!without.events.some((e) => e.type === "BOOKMARK"));
    } finally {
      withBookmarks.stop();
      without.stop();
    }
  });

  it("sends bookmarks periodically at the configured interval", async () => {
    const fast = await startHarness({ bookmarkIntervalMs: 20 });
    const w = await new WatchRecorder().start(fast.kc, CMS, {
      resourceVersion: String(fast.server.resourceVersion),
      allowWatchBookmarks: true,
    });
    try {
      await w.until(
        () => w.events.filter((e) => e.type === "BOOKMARK").length >= 2,
        "two bookmarks",
      );
    } finally {
      w.stop();
      await fast.server.stop();
    }
  });

  it("ends the watch after timeoutSeconds", async () => {
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: String(h.server.resourceVersion),
      timeoutSeconds: 1,
    });
    await w.ended();
    assert.equal(w.doneError, null);
  });

  it("filters by label selector, turning selector exits into DELETED and entries into ADDED", async () => {
    const n1 = name("lbl");
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: String(h.server.resourceVersion),
      labelSelector: "watch=me",
    });
    try {
      await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: n1 } },
      });
      await h.core.patchNamespacedConfigMap(
        {
          name: n1,
          namespace: "default",
          body: { metadata: { labels: { watch: "me" } } },
        },
        merge,
      );
      await h.core.patchNamespacedConfigMap(
        { name: n1, namespace: "default", body: { data: { k: "v" } } },
        merge,
      );
      await h.core.patchNamespacedConfigMap(
        {
          name: n1,
          namespace: "default",
          body: { metadata: { labels: { watch: "other" } } },
        },
        merge,
      );
      await w.count(3);
      assert.deepEqual(w.events.map((e) => e.type), [
        "ADDED",
        "MODIFIED",
        "DELETED",
      ]);
      assert.equal(w.events[2].object.metadata.labels.watch, "me");
    } finally {
      w.stop();
    }
  });

  it("filters by field selector metadata.name", async () => {
    const wanted = name("fld");
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: String(h.server.resourceVersion),
      fieldSelector: `metadata.name=${wanted}`,
    });
    try {
      await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: name("fld") } },
      });
      await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: wanted } },
      });
      await w.count(1);
      assert.deepEqual(w.events.map((e) => e.object.metadata.name), [wanted]);
    } finally {
      w.stop();
    }
  });

  it("answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired", async () => {
    const old = String(h.server.resourceVersion);
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: name("cmp") } },
    });
    h.server.faults.compact();
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: old,
    });
    await w.ended();
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, "ERROR");
    assert.equal(w.events[0].object.kind, "Status");
    assert.equal(w.events[0].object.code, 410);
    assert.equal(w.events[0].object.reason, "Expired");
    assert.match(w.events[0].object.message, /too old resource version/);
  });

  it("expires old resourceVersions once history passes historyLimit", async () => {
    const small = await startHarness({ historyLimit: 4 });
    try {
      const start = String(small.server.resourceVersion);
      for (let i = 0; i < 8; i++) {
        await small.core.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: `h-${i}` } },
        });
      }
      const w = await new WatchRecorder().start(small.kc, CMS, {
        resourceVersion: start,
      });
      await w.ended();
      assert.equal(w.events[0].object.code, 410);
      const recent = await new WatchRecorder().start(small.kc, CMS, {
        resourceVersion: String(small.server.resourceVersion - 2),
      });
      await recent.count(2);
      recent.stop();
      assert.deepEqual(recent.events.map((e) => e.object.metadata.name), [
        "h-6",
        "h-7",
      ]);
    } finally {
      await small.server.stop();
    }
  });

  it("watches across namespaces", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "wa" } } });
    const w = await new WatchRecorder().start(h.kc, "/api/v1/configmaps", {
      resourceVersion: String(h.server.resourceVersion),
    });
    try {
      await h.core.createNamespacedConfigMap({
        namespace: "wa",
        body: { metadata: { name: "one" } },
      });
      await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: name("two") } },
      });
      await w.count(2);
      assert.deepEqual(w.events.map((e) => e.object.metadata.namespace), [
        "wa",
        "default",
      ]);
    } finally {
      w.stop();
    }
  });
});
