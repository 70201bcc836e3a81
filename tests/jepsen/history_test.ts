/**
 * The per-key history of long runs: a retired key is packed once its last
 * operation ended and unpacks to exactly what was recorded, odd values
 * included; a key read again after it was packed keeps both parts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KeyedHistory } from "./_history.ts";

describe("KeyedHistory", () => {
  it("packs a retired key once its operations ended and unpacks it unchanged", () => {
    let now = 0;
    const h = new KeyedHistory(() => now++);
    const put = h.invoke(0, { key: "a", op: "put", value: "0.1" });
    const cas = h.invoke(1, {
      key: "a",
      op: "cas",
      expected: null,
      value: "1.4294967295",
    });
    const get = h.invoke(2, { key: "a", op: "get" });
    const odd = h.invoke(3, { key: "a", op: "get" });
    const lost = h.invoke(4, { key: "a", op: "put", value: "4.1" });
    const gone = h.invoke(5, { key: "a", op: "get" });
    h.complete(put, {});
    h.complete(cas, { ok: false });
    h.complete(get, { value: null });
    h.retire("a");
    const before = [...h.histories()];
    assert.equal(h.packedKeys, 0, "not packed while operations are pending");
    h.complete(odd, { value: "not a value we wrote" });
    h.indeterminate(lost);
    h.discard(gone);
    assert.equal(h.packedKeys, 1);
    const after = [...h.histories()];
    assert.deepEqual(after.map(([k]) => k), ["a"]);
    assert.deepEqual(after[0][1], [
      {
        client: 0,
        input: { key: "a", op: "put", value: "0.1" },
        invokedAt: 0,
        completedAt: 6,
        output: {},
      },
      {
        client: 1,
        input: { key: "a", op: "cas", expected: null, value: "1.4294967295" },
        invokedAt: 1,
        completedAt: 7,
        output: { ok: false },
      },
      {
        client: 2,
        input: { key: "a", op: "get" },
        invokedAt: 2,
        completedAt: 8,
        output: { value: null },
      },
      {
        client: 3,
        input: { key: "a", op: "get" },
        invokedAt: 3,
        completedAt: 9,
        output: { value: "not a value we wrote" },
      },
      {
        client: 4,
        input: { key: "a", op: "put", value: "4.1" },
        invokedAt: 4,
        completedAt: Infinity,
      },
    ]);
    // While operations were pending, the key stayed live: the same history.
    assert.deepEqual(before[0][1].slice(0, 3), after[0][1].slice(0, 3));
    assert.equal(h.operations, 5);
    assert.equal(h.indeterminateCount, 1);
    assert.equal(h.discardedCount, 1);
  });

  it("keeps a packed key's history and a later read of it together", () => {
    let now = 0;
    const h = new KeyedHistory(() => now++);
    h.complete(h.invoke(0, { key: "a", op: "put", value: "0.1" }), {});
    h.retire("a");
    h.complete(h.invoke(9, { key: "a", op: "get" }), { value: "0.1" });
    h.complete(h.invoke(0, { key: "b", op: "get" }), { value: null });
    const all = [...h.histories()];
    assert.deepEqual(all.map(([k, ops]) => [k, ops.length]), [["a", 2], [
      "b",
      1,
    ]]);
    assert.deepEqual(all[0][1][1].output, { value: "0.1" });
  });
});
