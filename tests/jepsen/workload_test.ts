/**
 * The clients' workload: unique written values, keys retired after their
 * share of operations, compare-and-sets that expect values clients saw, and
 * the same sequence from the same seed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RegisterInput } from "../../testing/mod.ts";
import { Prng } from "../../testing/raft/random.ts";
import { Workload } from "./_workload.ts";

/** `count` operations of 4 clients, each recorded (as in the history). */
function draw(seed: number, count: number): RegisterInput[] {
  const w = new Workload(new Prng(seed), { activeKeys: 3, opsPerKey: 20 });
  return Array.from({ length: count }, (_, i) => {
    const op = w.next(i % 4);
    w.recorded(op.key);
    return op;
  });
}

describe("Workload", () => {
  it("never writes the same value twice", () => {
    const values = draw(1, 5000).flatMap((op) =>
      op.op === "get" ? [] : [op.value]
    );
    assert.equal(new Set(values).size, values.length);
    assert.ok(values.length > 2000);
  });

  it("gives each key at most opsPerKey operations and keeps activeKeys in use", () => {
    const ops = draw(2, 3000);
    const perKey = new Map<string, number>();
    for (const op of ops) perKey.set(op.key, (perKey.get(op.key) ?? 0) + 1);
    assert.ok([...perKey.values()].every((n) => n <= 20));
    assert.ok(perKey.size >= 3000 / 20);
    const window = new Set(ops.slice(0, 10).map((op) => op.key));
    assert.ok(window.size <= 3);
  });

  it("retires a key only for operations that went into the history", () => {
    const w = new Workload(new Prng(6), { activeKeys: 1, opsPerKey: 5 });
    for (let i = 0; i < 100; i++) assert.equal(w.next(0).key, "k0");
    for (let i = 0; i < 5; i++) w.recorded(w.next(0).key);
    assert.equal(w.next(0).key, "k1");
  });

  it("gives readers only gets", () => {
    const w = new Workload(new Prng(7), { activeKeys: 2, opsPerKey: 50 });
    for (let i = 0; i < 200; i++) {
      assert.equal(w.next(0, { reader: true }).op, "get");
    }
  });

  it("expects, in compare-and-sets, values that were observed for the key", () => {
    const w = new Workload(new Prng(3), { activeKeys: 1, opsPerKey: 1000 });
    w.observe("k0", "0.1");
    const expected = new Set<string | null>();
    for (let i = 0; i < 500; i++) {
      const op = w.next(0);
      if (op.op === "cas") expected.add(op.expected);
    }
    assert.deepEqual([...expected].sort(), ["0.1", null].sort());
  });

  it("draws the same operations from the same seed", () => {
    assert.deepEqual(draw(4, 200), draw(4, 200));
    assert.notDeepEqual(draw(4, 200), draw(5, 200));
  });
});
