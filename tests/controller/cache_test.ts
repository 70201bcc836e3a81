import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  LabelSelectorError,
  objectKey,
  Reflector,
  Store,
  type StoreEvent,
} from "../../controller/cache.ts";
import type { WatcherEvent } from "../../controller/watcher.ts";
import type { KubeClient } from "../../client/kube_client.ts";
import type { KubeObject } from "../../client/objects.ts";
import { configMaps } from "../../testing/resource_types.ts";

function obj(
  namespace: string | undefined,
  name: string,
  rv: string,
  labels?: Record<string, string>,
): KubeObject {
  return { metadata: { namespace, name, resourceVersion: rv, labels } };
}

async function* from<T>(events: T[]): AsyncGenerator<T> {
  for (const event of events) yield event;
}

describe("Store", () => {
  it("keys objects by namespace/name, or name when cluster-scoped", () => {
    assert.equal(objectKey(obj("ns", "a", "1")), "ns/a");
    assert.equal(objectKey(obj(undefined, "node1", "1")), "node1");
  });

  it("indexes by namespace and answers label selectors", () => {
    const store = new Store<KubeObject>();
    store.apply(obj("a", "x", "1", { app: "web", tier: "front" }));
    store.apply(obj("a", "y", "1", { app: "db" }));
    store.apply(obj("b", "z", "1", { app: "web" }));
    assert.equal(store.getBy("x", "a")?.metadata.name, "x");
    assert.deepEqual(store.list("a").map((o) => o.metadata.name).sort(), [
      "x",
      "y",
    ]);
    const names = (list: KubeObject[]) =>
      list.map((o) => o.metadata.name).sort();
    assert.deepEqual(names(store.select("app=web")), ["x", "z"]);
    assert.deepEqual(names(store.select("app=web", "b")), ["z"]);
    assert.deepEqual(names(store.select("app!=web")), ["y"]);
    assert.deepEqual(names(store.select("app in (db, web),tier")), ["x"]);
    assert.deepEqual(names(store.select("!tier")), ["y", "z"]);
    assert.deepEqual(names(store.select("app notin (web)")), ["y"]);
    assert.deepEqual(names(store.select({ app: "db" })), ["y"]);
    assert.throws(() => store.select("a b c"), LabelSelectorError);
  });

  it("reports no change when the resourceVersion is the same string", () => {
    const store = new Store<KubeObject>();
    assert.notEqual(store.apply(obj("a", "x", "10")), null);
    assert.equal(store.apply(obj("a", "x", "10")), null);
    assert.notEqual(store.apply(obj("a", "x", "9")), null, "no ordering");
  });
});

describe("Reflector", () => {
  it("emits the deletions a relist reveals and only real changes", async () => {
    const reflector = new Reflector<KubeObject>({
      client: undefined as unknown as KubeClient,
      resource: configMaps,
    });
    const seen: string[] = [];
    reflector.subscribe((e: StoreEvent<KubeObject>) =>
      seen.push(`${e.type}:${objectKey(e.object)}`)
    );
    const events: WatcherEvent<KubeObject>[] = [
      { type: "init" },
      { type: "initApply", object: obj("n", "a", "1") },
      { type: "initApply", object: obj("n", "b", "1") },
      { type: "initDone" },
      { type: "apply", object: obj("n", "c", "2") },
      { type: "init" },
      { type: "initApply", object: obj("n", "a", "1") },
      { type: "initApply", object: obj("n", "c", "3") },
      { type: "initDone" },
    ];
    await reflector.consume(from(events));
    assert.equal(reflector.isSynced, true);
    assert.deepEqual(seen, [
      "apply:n/a",
      "apply:n/b",
      "apply:n/c",
      "apply:n/c",
      "delete:n/b",
    ]);
    assert.deepEqual(reflector.store.keys().sort(), ["n/a", "n/c"]);
  });

  it("tells onRelist listeners after each relist (not the first list), once its changes were emitted", async () => {
    const reflector = new Reflector<KubeObject>({
      client: undefined as unknown as KubeClient,
      resource: configMaps,
    });
    const seen: string[] = [];
    reflector.subscribe((e) => seen.push(`${e.type}:${objectKey(e.object)}`));
    const off = reflector.onRelist(() => seen.push("relisted"));
    await reflector.consume(from([
      { type: "init" },
      { type: "initApply", object: obj("n", "a", "1") },
      { type: "initDone" },
      { type: "init" },
      { type: "initApply", object: obj("n", "a", "2") },
      { type: "initDone" },
    ]));
    off();
    await reflector.consume(from([{ type: "init" }, { type: "initDone" }]));
    assert.deepEqual(seen, [
      "apply:n/a",
      "apply:n/a",
      "relisted",
      "delete:n/a",
    ]);
  });

  it("deep-freezes what it stores, so no reader can change what the others see", async () => {
    const reflector = new Reflector<KubeObject>({
      client: undefined as unknown as KubeClient,
      resource: configMaps,
    });
    const object = {
      ...obj("n", "a", "1"),
      data: { nested: { deep: [1, 2] } },
    } as KubeObject & { data: { nested: { deep: number[] } } };
    await reflector.consume(from([
      { type: "init" },
      { type: "initApply", object },
      { type: "initDone" },
    ]));
    const stored = reflector.store.get("n/a") as typeof object;
    assert.ok(Object.isFrozen(stored.data.nested.deep));
    assert.throws(() => stored.data.nested.deep.push(3), TypeError);
    assert.throws(() => {
      stored.metadata.name = "b";
    }, TypeError);
  });

  it("keeps serving the old content while a relist is in progress", async () => {
    const reflector = new Reflector<KubeObject>({
      client: undefined as unknown as KubeClient,
      resource: configMaps,
    });
    let sizeDuringRelist = -1;
    async function* events(): AsyncGenerator<WatcherEvent<KubeObject>> {
      yield { type: "init" };
      yield { type: "initApply", object: obj("n", "a", "1") };
      yield { type: "initDone" };
      yield { type: "init" };
      sizeDuringRelist = reflector.store.size;
      yield { type: "initDone" };
    }
    await reflector.consume(events());
    assert.equal(sizeDuringRelist, 1);
    assert.equal(reflector.store.size, 0);
  });
  it("keeps applying and notifying when a listener throws, and logs the key", async () => {
    const errors: Array<{ message: string; key: unknown }> = [];
    const reflector = new Reflector<KubeObject>({
      client: undefined as unknown as KubeClient,
      resource: configMaps,
      logger: {
        info: () => {},
        warn: () => {},
        error: (message, fields) => errors.push({ message, key: fields?.key }),
      },
    });
    reflector.subscribe((e) => {
      if (e.object.metadata.name === "bad") throw new Error("mapper bug");
    });
    const seen: string[] = [];
    reflector.subscribe((e) => seen.push(objectKey(e.object)));
    await reflector.consume(from([
      { type: "init" },
      { type: "initDone" },
      { type: "apply", object: obj("n", "bad", "1") },
      { type: "apply", object: obj("n", "good", "2") },
    ]));
    assert.deepEqual(seen, ["n/bad", "n/good"]);
    assert.deepEqual(reflector.store.keys().sort(), ["n/bad", "n/good"]);
    assert.deepEqual(errors, [{
      message: "cache listener failed",
      key: "n/bad",
    }]);
  });
});
