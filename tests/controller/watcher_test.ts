import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  watcher,
  type WatcherEvent,
  type WatcherObserver,
} from "../../controller/watcher.ts";
import { ManualClock } from "../../common/clock.ts";
import type { KubeObject, ResourceType } from "../../client/objects.ts";
import { type PendingRequest, scriptedClient } from "./_scripted.ts";
import { flush, until } from "./_helpers.ts";

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
  options: {
    idleTimeoutMs?: number;
    observer?: WatcherObserver;
    random?: () => number;
  } = {},
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

  it("relists on 410 Gone, as an HTTP status or as an ERROR event, after the backoff", async () => {
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
    await until(() => w.clock.nextAt() === 800, {
      message: "a relist waits the backoff",
    });
    w.clock.advance(800);
    const relist = await w.next();
    assert.equal(relist.url.searchParams.get("watch"), null);
    relist.json(200, { metadata: { resourceVersion: "r5" }, items: [] });
    const stream = (await w.next()).stream();
    stream.send({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired" },
    });
    await until(() => w.clock.nextAt() === w.clock.now() + 1600);
    w.clock.advance(1600);
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

  it("keeps a quiet but healthy watch open past 30 s and restarts a silent one after the (configured) idle timeout", async () => {
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

describe("watcher under hostile answers (no hot loops)", () => {
  /**
   * Answers every request at once with `watchAnswer` for watches (and a
   * one-item list otherwise), and drives the fake clock through each
   * backoff for `horizonMs`; returns the requests sent meanwhile. Gives up
   * after 200 requests (a hot loop) instead of spinning forever.
   */
  async function drive(
    watchAnswer: (request: PendingRequest) => void,
    horizonMs: number,
  ): Promise<{ lists: number[]; watches: number[]; delays: number[] }> {
    const delays: number[] = [];
    const w = start({
      observer: { restarted: (e) => delays.push(e.delayMs) },
    });
    const lists: number[] = [];
    const watches: number[] = [];
    const responder = (async () => {
      while (lists.length + watches.length < 200) {
        const request = await w.next();
        if (request.url.searchParams.get("watch") === "true") {
          watches.push(w.clock.now());
          watchAnswer(request);
        } else {
          lists.push(w.clock.now());
          request.json(200, {
            metadata: { resourceVersion: "r1" },
            items: [obj("a", "1")],
          });
        }
      }
    })();
    let seen = 0;
    while (lists.length + watches.length < 200) {
      await until(() =>
        delays.length > seen || lists.length + watches.length >= 200
      );
      if (lists.length + watches.length >= 200) break;
      seen = delays.length;
      const delay = delays.at(-1)!;
      if (w.clock.now() + delay > horizonMs) break;
      await until(() => w.clock.nextAt() === w.clock.now() + delay);
      w.clock.advance(delay);
    }
    w.controller.abort();
    await w.done;
    void responder;
    return { lists, watches, delays };
  }

  it("backs off after watches answered 200 with an empty body: 7 watches in a fake minute, not a hot loop", async () => {
    const { lists, watches, delays } = await drive(
      (request) => request.stream().close(),
      60_000,
    );
    assert.equal(lists.length, 1);
    assert.deepEqual(
      watches,
      [0, 800, 2_400, 5_600, 12_000, 24_800, 50_400],
      "each watch that closed at once waits the doubling backoff",
    );
    assert.deepEqual(delays.slice(0, 3), [800, 1_600, 3_200]);
  });

  it("backs off between list-and-watch cycles when every watch gets 410 Gone: 7 pairs in a fake minute", async () => {
    const { lists, watches } = await drive(
      (request) =>
        request.json(410, { kind: "Status", code: 410, reason: "Expired" }),
      60_000,
    );
    assert.deepEqual(lists, [0, 800, 2_400, 5_600, 12_000, 24_800, 50_400]);
    assert.deepEqual(watches, lists);
  });

  it("caps the backoff at 30 s", async () => {
    const { watches } = await drive(
      (request) => request.stream().close(),
      200_000,
    );
    const gaps = watches.slice(1).map((t, i) => t - watches[i]!);
    assert.deepEqual(gaps.slice(0, 7), [
      800,
      1_600,
      3_200,
      6_400,
      12_800,
      25_600,
      30_000,
    ]);
  });

  it("treats a watch that lasted over a second as healthy even without events", async () => {
    const w = start();
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [],
    });
    const stream = (await w.next()).stream();
    w.clock.advance(1_000);
    stream.close();
    const again = await w.next();
    assert.equal(again.url.searchParams.get("watch"), "true", "at once");
    assert.equal(w.clock.now(), 1_000);
    w.controller.abort();
    await w.done;
  });
});

describe("watcher timing", () => {
  it("asks for a random server-side timeout between 5 and 10 minutes, so replicas do not reconnect in lockstep", async () => {
    const timeouts: string[] = [];
    for (const r of [0, 0.5, 0.999]) {
      const w = start({ random: () => r });
      (await w.next()).json(200, {
        metadata: { resourceVersion: "r1" },
        items: [],
      });
      const watch = await w.next();
      timeouts.push(watch.url.searchParams.get("timeoutSeconds")!);
      w.controller.abort();
      await w.done;
    }
    assert.deepEqual(timeouts, ["300", "450", "599"]);
  });

  it("notices a silent (half-open) watch after 150 s by default, a small multiple of the API server's one-minute bookmarks", async () => {
    const reasons: string[] = [];
    const w = start({ observer: { restarted: (e) => reasons.push(e.reason) } });
    (await w.next()).json(200, {
      metadata: { resourceVersion: "r1" },
      items: [],
    });
    const stream = (await w.next()).stream();
    for (let i = 0; i < 3; i++) {
      w.clock.advance(60_000);
      stream.send({
        type: "BOOKMARK",
        object: { metadata: { resourceVersion: `b${i}` } },
      });
      await until(() => w.clock.nextAt() === w.clock.now() + 150_000);
    }
    assert.equal(stream.aborted, false, "bookmarks every minute keep it open");
    w.clock.advance(149_999);
    await flush(10);
    assert.equal(stream.aborted, false);
    w.clock.advance(1);
    await until(() => stream.aborted, { message: "silent watch aborted" });
    await until(() => reasons.length === 1);
    assert.deepEqual(reasons, ["idle"]);
    w.controller.abort();
    await w.done;
  });
});
