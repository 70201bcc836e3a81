import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  failure,
  type Harness,
  raw,
  rawStream,
  startHarness,
  WatchRecorder,
} from "./_helpers.ts";

const CMS = "/api/v1/namespaces/default/configmaps";

describe("TestApiServer fault injection", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "f" }, data: { v: "0" } },
    });
  });
  after(async () => {
    await h.server.stop();
  });

  it("fails the next N requests matching a verb and resource, and nothing else", async () => {
    const handle = h.server.faults.failNext({
      verb: "update",
      resource: "configmaps",
      status: 500,
      count: 2,
    });
    const cm = await h.core.readNamespacedConfigMap({
      name: "f",
      namespace: "default",
    });
    const body = { ...cm, data: { v: "1" } };
    for (let i = 0; i < 2; i++) {
      const { code, status } = await failure(
        h.core.replaceNamespacedConfigMap({
          name: "f",
          namespace: "default",
          body,
        }),
      );
      assert.equal(code, 500);
      assert.equal(status.reason, "InternalError");
    }
    await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "unaffected" } },
    });
    const ok = await h.core.replaceNamespacedConfigMap({
      name: "f",
      namespace: "default",
      body,
    });
    assert.deepEqual(ok.data, { v: "1" });
    assert.equal(handle.hits, 2);
    assert.equal(handle.remaining, 0);
  });

  it("sends 429 TooManyRequests with Retry-After", async () => {
    h.server.faults.failNext({
      verb: "get",
      resource: "configmaps",
      name: "f",
      status: 429,
      retryAfterSeconds: 3,
    });
    const res = await raw(h.server, `${CMS}/f`);
    assert.equal(res.code, 429);
    assert.equal(res.headers["retry-after"], "3");
    const body = res.body as {
      reason: string;
      details: { retryAfterSeconds: number };
    };
    assert.equal(body.reason, "TooManyRequests");
    assert.equal(body.details.retryAfterSeconds, 3);
  });

  it("targets the status subresource alone with resource/status", async () => {
    h.server.faults.failNext({ resource: "namespaces/status", status: 503 });
    const ns = await h.core.readNamespace({ name: "default" });
    assert.equal(ns.metadata?.name, "default");
    const { code } = await failure(
      h.core.readNamespaceStatus({ name: "default" }),
    );
    assert.equal(code, 503);
  });

  it("adds latency to matching requests only", async () => {
    const handle = h.server.faults.delay({
      verb: "get",
      resource: "configmaps",
      ms: 300,
      count: 1,
    });
    const order: string[] = [];
    const slow = h.core.readNamespacedConfigMap({
      name: "f",
      namespace: "default",
    })
      .then(() => order.push("delayed get"));
    await h.core.listNamespacedSecret({ namespace: "default" }).then(() =>
      order.push("list")
    );
    await slow;
    assert.deepEqual(order, ["list", "delayed get"]);
    assert.equal(handle.hits, 1);
  });

  it("closes the matching watches cleanly and leaves the others open", async () => {
    const rv = String(h.server.resourceVersion);
    const a = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: rv,
    });
    const b = await new WatchRecorder().start(h.kc, "/api/v1/configmaps", {
      resourceVersion: rv,
    });
    const other = await new WatchRecorder().start(
      h.kc,
      "/api/v1/namespaces/default/secrets",
      {
        resourceVersion: rv,
      },
    );
    try {
      assert.equal(h.server.openWatches, 3);
      assert.equal(h.server.faults.closeWatches({ resource: "nothing" }), 0);
      assert.equal(h.server.faults.closeWatches({ resource: "configmaps" }), 2);
      await a.ended();
      await b.ended();
      assert.equal(a.doneError, null);
      assert.equal(a.events.length, 0);
      assert.equal(h.server.openWatches, 1);
      await h.core.createNamespacedSecret({
        namespace: "default",
        body: { metadata: { name: "still" } },
      });
      await other.count(1);
      assert.equal(other.done, false);
    } finally {
      other.stop();
    }
  });

  it("sends a Status in an ERROR event before closing watches when asked", async () => {
    const rv = String(h.server.resourceVersion);
    const w = await new WatchRecorder().start(h.kc, CMS, {
      resourceVersion: rv,
    });
    h.server.faults.closeWatches({
      resource: "configmaps",
      error: { code: 410 },
    });
    await w.ended();
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, "ERROR");
    assert.equal(w.events[0].object.code, 410);
    assert.equal(w.events[0].object.reason, "Expired");
  });

  it("breaks watch connections with abort", async () => {
    const watch = await rawStream(
      h.server,
      `${CMS}?watch=true&resourceVersion=${h.server.resourceVersion}`,
    );
    assert.equal(h.server.faults.closeWatches({ abort: true }), 1);
    assert.equal(await watch.ended, "aborted");
  });

  it("expires list continue tokens issued before a compaction", async () => {
    for (const n of ["c1", "c2", "c3"]) {
      await h.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: n } },
      });
    }
    const page = await h.core.listNamespacedConfigMap({
      namespace: "default",
      limit: 1,
    });
    assert.ok(page.metadata?._continue);
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "c4" } },
    });
    h.server.faults.compact();
    const { code, status } = await failure(h.core.listNamespacedConfigMap({
      namespace: "default",
      limit: 1,
      _continue: page.metadata?._continue,
    }));
    assert.equal(code, 410);
    assert.equal(status.reason, "Expired");
  });

  it("holds requests while paused and lets them through on resume", async () => {
    h.server.faults.pause();
    assert.equal(h.server.faults.paused, true);
    let settled = false;
    const pending = h.core.readNamespacedConfigMap({
      name: "f",
      namespace: "default",
    })
      .then((cm) => {
        settled = true;
        return cm;
      });
    const health = await raw(h.server, "/healthz", { token: null });
    assert.equal(health.code, 200);
    assert.equal(settled, false);
    h.server.faults.resume();
    const cm = await pending;
    assert.equal(cm.metadata?.name, "f");
  });

  it("clear() removes pending failures", async () => {
    h.server.faults.failNext({ verb: "get", status: 500, count: Infinity });
    h.server.faults.clear();
    const cm = await h.core.readNamespacedConfigMap({
      name: "f",
      namespace: "default",
    });
    assert.equal(cm.metadata?.name, "f");
  });

  it("rejects a fault status outside 400-599", () => {
    assert.throws(() => h.server.faults.failNext({ status: 200 }), RangeError);
  });
});
