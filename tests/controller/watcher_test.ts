import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  watcher,
  type WatcherEvent,
  type WatcherObserver,
} from "../../controller/watcher.ts";
import { ManualClock } from "../../controller/clock.ts";
import type { KubeObject, ResourceType } from "../../controller/client.ts";
import { scriptedClient } from "./_scripted.ts";
import { until } from "./_helpers.ts";

const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};

function obj(name: string, rv: string): KubeObject {
  return { metadata: { name, namespace: "ns", resourceVersion: rv } };
}

function start(
  options: { idleTimeoutMs?: number; observer?: WatcherObserver } = {},
) {
  const script = scriptedClient();
  const clock = new ManualClock();
  const controller = new AbortController();
  const events: WatcherEvent<KubeObject>[] = [];
  const done = (async () => {
    for await (
      const event of watcher<KubeObject>({
        client: script.client,
        resource: widgets,
        clock,
        random: () => 0.5,
        signal: controller.signal,
        pageSize: 2,
        ...options,
      })
    ) events.push(event);
  })();
  const names = () =>
    events.map((e) =>
      "object" in e ? `${e.type}:${e.object.metadata.name}` : e.type
    );
  return { ...script, clock, controller, events, done, names };
}

describe("watcher", () => {
  it("lists page by page, then watches from the list's opaque resourceVersion with bookmarks", async () => {
    const w = start();
    const page1 = await w.next();
    assert.equal(page1.url.pathname, "/apis/example.com/v1/widgets");
    assert.equal(page1.url.searchParams.get("limit"), "2");
    page1.json(200, {
      metadata: { continue: "tok" },
      items: [obj("a", "x1"), obj("b", "x2")],
    });
    const page2 = await w.next();
    assert.equal(page2.url.searchParams.get("continue"), "tok");
    page2.json(200, {
      metadata: { resourceVersion: "list-v9" },
      items: [obj("c", "x3")],
    });
    const watch = await w.next();
    assert.equal(watch.url.searchParams.get("watch"), "true");
    assert.equal(watch.url.searchParams.get("resourceVersion"), "list-v9");
    assert.equal(watch.url.searchParams.get("allowWatchBookmarks"), "true");
    const stream = watch.stream();
    stream.send({ type: "ADDED", object: obj("d", "zz") });
    await until(() => w.events.length === 6);
    assert.deepEqual(w.names(), [
      "init",
      "initApply:a",
      "initApply:b",
      "initApply:c",
      "initDone",
      "apply:d",
    ]);
    const applied = w.events[5] as { object: KubeObject };
    assert.equal(applied.object.kind, "Widget", "kind is filled in");
    w.controller.abort();
    await w.done;
  });

  it("resumes from the last event or bookmark when a watch ends, without relisting", async () => {
    const w = start();
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [],
    });
    const first = (await w.next()).stream();
    first.send({ type: "MODIFIED", object: obj("a", "r7") });
    first.send({
      type: "BOOKMARK",
      object: { metadata: { resourceVersion: "r9" } },
    });
    first.close();
    const second = await w.next();
    assert.equal(second.url.searchParams.get("watch"), "true");
    assert.equal(second.url.searchParams.get("resourceVersion"), "r9");
    w.controller.abort();
    await w.done;
    assert.deepEqual(w.names(), ["init", "initDone", "apply:a"]);
  });

  it("relists on 410 Gone, as an HTTP status or as an ERROR event", async () => {
    const w = start();
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [obj("a", "1")],
    });
    (await w.next()).json(410, {
      kind: "Status",
      code: 410,
      reason: "Expired",
    });
    const relist = await w.next();
    assert.equal(relist.url.searchParams.get("watch"), null);
    relist.json(200, { metadata: { resourceVersion: "r5" }, items: [] });
    const stream = (await w.next()).stream();
    stream.send({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired" },
    });
    const again = await w.next();
    assert.equal(again.url.searchParams.get("watch"), null, "relisted");
    w.controller.abort();
    await w.done;
    assert.deepEqual(w.names(), [
      "init",
      "initApply:a",
      "initDone",
      "init",
      "initDone",
    ]);
  });

  it("does not drop a malformed line silently: it restarts the watch from the last resourceVersion after a backoff", async () => {
    const w = start();
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [],
    });
    const stream = (await w.next()).stream();
    stream.send({ type: "ADDED", object: obj("a", "r2") });
    stream.send("{not json");
    await until(() => w.clock.pending >= 1 && stream.aborted);
    assert.equal(w.requests.length, 2, "waits before retrying");
    w.clock.advance(w.clock.nextAt()! - w.clock.now());
    const retry = await w.next();
    assert.equal(retry.url.searchParams.get("resourceVersion"), "r2");
    w.controller.abort();
    await w.done;
  });

  it("backs off with growing jittered delays while the server fails, then recovers", async () => {
    const w = start();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      (await w.next()).json(i % 2 ? 429 : 500, { code: 500 });
      await until(() => w.clock.nextAt() !== undefined);
      const delay = w.clock.nextAt()! - w.clock.now();
      delays.push(delay);
      w.clock.advance(delay);
    }
    assert.deepEqual(delays, [800, 1600, 3200, 6400]);
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [obj("a", "1")],
    });
    await w.next();
    assert.deepEqual(w.names(), ["init", "initApply:a", "initDone"]);
    w.controller.abort();
    await w.done;
  });

  it("keeps a quiet but healthy watch open past 30 s and restarts a silent one after the idle timeout", async () => {
    const reasons: string[] = [];
    const w = start({
      idleTimeoutMs: 60_000,
      observer: { restarted: (e) => reasons.push(e.reason) },
    });
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [],
    });
    const stream = (await w.next()).stream();
    for (let i = 0; i < 5; i++) {
      w.clock.advance(20_000);
      stream.send({
        type: "BOOKMARK",
        object: { metadata: { resourceVersion: `b${i}` } },
      });
      await until(() => w.clock.nextAt() === w.clock.now() + 60_000);
    }
    assert.equal(stream.aborted, false, "100 s with bookmarks: still open");
    assert.equal(w.requests.length, 2);
    w.clock.advance(60_000);
    await until(() => stream.aborted, { message: "idle watch aborted" });
    await until(() => w.clock.pending >= 1);
    w.clock.advance(w.clock.nextAt()! - w.clock.now());
    const retry = await w.next();
    assert.equal(retry.url.searchParams.get("resourceVersion"), "b4");
    assert.deepEqual(reasons, ["idle"], "reported as an idle restart");
    w.controller.abort();
    await w.done;
  });
});
