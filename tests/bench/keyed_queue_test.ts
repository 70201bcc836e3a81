import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KeyedQueue } from "../../bench/_keyed_queue.ts";
import { below, seeded } from "../../testing/raft/random.ts";

describe("KeyedQueue (the benchmark baseline's work queue)", () => {
  it("hands keys out in order, each once however often it was added", async () => {
    const q = new KeyedQueue();
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    assert.equal(q.length, 3);
    const got = [await q.get(), await q.get(), await q.get()];
    assert.deepEqual(got, ["a", "b", "c"]);
    assert.equal(q.processing, 3);
  });

  it("queues a key added while it is processed again once done, not before", async () => {
    const q = new KeyedQueue();
    q.add("a");
    const key = (await q.get())!;
    q.add("a");
    q.add("a");
    assert.equal(q.length, 0, "not handed to a second worker");
    q.done(key);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), "a");
  });

  it("wakes a waiting worker on add, and every waiter with undefined on shutDown", async () => {
    const q = new KeyedQueue();
    const first = q.get();
    const second = q.get();
    q.add("x");
    assert.equal(await first, "x");
    q.shutDown();
    assert.equal(await second, undefined);
    q.add("y");
    assert.equal(q.length, 0);
  });

  it("never lets two of 8 workers hold one key, and processes every add after its last change (seeded)", async () => {
    const random = seeded(42);
    const q = new KeyedQueue();
    const held = new Set<string>();
    const version = new Map<string, number>();
    const seen = new Map<string, number>();
    let adds = 0;
    let adding = true;
    const drained = Promise.withResolvers<void>();
    const workers = Array.from({ length: 8 }, async () => {
      while (true) {
        const key = await q.get();
        if (key === undefined) return;
        assert.ok(!held.has(key), `${key} held twice`);
        held.add(key);
        const v = version.get(key)!;
        await new Promise((r) => setTimeout(r, below(random, 2)));
        seen.set(key, Math.max(seen.get(key) ?? 0, v));
        held.delete(key);
        q.done(key);
        if (!adding && q.length === 0 && q.processing === 0) drained.resolve();
      }
    });
    while (adds < 2_000) {
      const key = `k${below(random, 20)}`;
      version.set(key, ++adds);
      q.add(key);
      if (below(random, 10) === 0) await new Promise((r) => setTimeout(r, 0));
    }
    adding = false;
    if (q.length === 0 && q.processing === 0) drained.resolve();
    await drained.promise;
    q.shutDown();
    await Promise.all(workers);
    for (const [key, v] of version) assert.equal(seen.get(key), v, key);
  });
});
