import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Tripwire } from "../../common/tripwire.ts";

describe("Tripwire", () => {
  it("holds nothing for a race once its promise settled, however many ran", async () => {
    const wire = new Tripwire();
    for (let i = 0; i < 10_000; i++) {
      assert.equal(await wire.race(Promise.resolve(i)), i);
    }
    await assert.rejects(wire.race(Promise.reject(new Error("read failed"))), {
      message: "read failed",
    });
    assert.equal(wire.waiting, 0);
  });

  it("rejects the pending races and every later one with the reason it tripped with", async () => {
    const wire = new Tripwire();
    const never = new Promise<number>(() => {});
    const pending = [wire.race(never), wire.race(never)];
    assert.equal(wire.waiting, 2);
    const reason = new Error("aborted");
    wire.trip(reason);
    wire.trip(new Error("a second trip is ignored"));
    assert.equal(wire.tripped, true);
    assert.equal(wire.waiting, 0);
    for (const p of pending) await assert.rejects(p, reason);
    const late = Promise.reject(new Error("never observed"));
    await assert.rejects(wire.race(late), reason);
  });
});
