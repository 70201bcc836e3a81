import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeKvCommand,
  encodeKvCommand,
  KeyValueStore,
  KvFormatError,
  ReplicatedKv,
} from "../../raft/kv.ts";
import type { KvCommand } from "../../raft/kv.ts";

let index = 0;
function entry(c: KvCommand | string) {
  const data = typeof c === "string"
    ? new TextEncoder().encode(c)
    : encodeKvCommand(c);
  return { term: 1, index: ++index, type: "normal" as const, data };
}

describe("KeyValueStore", () => {
  it("applies put, delete and compare-and-set with their previous values", () => {
    const s = new KeyValueStore();
    assert.deepEqual(s.apply(entry({ op: "put", key: "a", value: "1" })), {
      ok: true,
      previous: null,
    });
    assert.deepEqual(
      s.apply(entry({ op: "cas", key: "a", expected: "0", value: "2" })),
      { ok: false, previous: "1" },
    );
    assert.equal(s.get("a"), "1");
    assert.deepEqual(
      s.apply(entry({ op: "cas", key: "a", expected: "1", value: "2" })),
      { ok: true, previous: "1" },
    );
    assert.equal(s.get("a"), "2");
    assert.deepEqual(
      s.apply(entry({ op: "cas", key: "b", expected: null, value: "x" })),
      { ok: true, previous: null },
    );
    assert.deepEqual(
      s.apply(entry({ op: "cas", key: "b", expected: "x", value: null })),
      { ok: true, previous: "x" },
    );
    assert.equal(s.get("b"), undefined);
    assert.deepEqual(s.apply(entry({ op: "delete", key: "a" })), {
      ok: true,
      previous: "2",
    });
    assert.equal(s.size, 0);
  });

  it("applies a malformed command as a no-op that returns a KvFormatError", () => {
    const s = new KeyValueStore();
    s.apply(entry({ op: "put", key: "a", value: "1" }));
    for (
      const bad of [
        "{",
        '{"op":"put","key":"a"}',
        '{"op":"drop","key":"a"}',
        "null",
        '{"op":"cas","key":"a","expected":1,"value":"2"}',
      ]
    ) {
      assert.ok(s.apply(entry(bad)) instanceof KvFormatError, bad);
    }
    assert.equal(s.get("a"), "1");
    assert.throws(() => decodeKvCommand(new Uint8Array([0xff])), KvFormatError);
  });

  it("restores a snapshot into an equal store and keeps its state on bad data", () => {
    const s = new KeyValueStore();
    s.apply(entry({ op: "put", key: "b", value: "2" }));
    s.apply(entry({ op: "put", key: "a", value: "1" }));
    const copy = new KeyValueStore();
    copy.restore(s.snapshot());
    assert.deepEqual(copy.snapshot(), s.snapshot());
    assert.equal(copy.get("a"), "1");
    assert.throws(
      () => copy.restore(new TextEncoder().encode('[["a",1]]')),
      KvFormatError,
    );
    assert.throws(() => copy.restore(new Uint8Array([1, 2])), KvFormatError);
    assert.equal(copy.get("b"), "2");
  });
});

describe("ReplicatedKv", () => {
  it("writes through propose, reads after the read barrier, and rethrows command errors", async () => {
    const store = new KeyValueStore();
    const calls: string[] = [];
    const kv = new ReplicatedKv({
      propose: (data) => {
        calls.push("propose");
        return Promise.resolve(
          store.apply({ term: 1, index: ++index, type: "normal", data }),
        );
      },
      readBarrier: () => {
        calls.push("barrier");
        return Promise.resolve();
      },
    }, store);
    await kv.put("k", "v");
    assert.equal(await kv.get("k"), "v");
    assert.equal(await kv.compareAndSet("k", "x", "y"), false);
    assert.equal(await kv.compareAndSet("k", "v", "y"), true);
    assert.equal(await kv.delete("k"), true);
    assert.equal(await kv.delete("k"), false);
    assert.deepEqual(calls, [
      "propose",
      "barrier",
      "propose",
      "propose",
      "propose",
      "propose",
    ]);
  });
});
