/**
 * Which read a violation is to blame on: the checker's blocked operation is
 * where its search got stuck, which may be a write made impossible by a
 * stale read placed before it; `blameRead` checks the key's writes alone,
 * then finds the first read that leaves them no valid order.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  checkLinearizability,
  type Operation,
  type RegisterInput,
  registerModel,
  type RegisterOutput,
} from "../../testing/mod.ts";
import { blameRead } from "./_run.ts";

type Op = Operation<RegisterInput, RegisterOutput>;

function op(
  client: number,
  input: RegisterInput,
  [invokedAt, completedAt]: [number, number],
  output?: RegisterOutput,
): Op {
  return {
    client,
    input,
    invokedAt,
    completedAt,
    ...output === undefined ? {} : { output },
  };
}

const far = () => performance.now() + 10_000;

describe("blameRead", () => {
  // put "a" spans everything; put "b" ends before a read that returns "a",
  // which ends before a compare-and-set from "b" that succeeded. Only the
  // stale read is wrong: without it, put a, put b, cas is a valid order.
  const putA = op(0, { key: "k", op: "put", value: "a" }, [0, 100], {});
  const putB = op(1, { key: "k", op: "put", value: "b" }, [0, 10], {});
  const stale = op(2, { key: "k", op: "get" }, [20, 30], { value: "a" });
  const cas = op(3, { key: "k", op: "cas", expected: "b", value: "c" }, [
    40,
    50,
  ], {
    ok: true,
  });

  it("blames the stale read even when the checker's search got stuck on a write", () => {
    const history = [putA, putB, stale, cas];
    const checked = checkLinearizability(history, { model: registerModel });
    assert.equal(checked.verdict, "violation");
    assert.equal(checked.partitions[0].blocked?.input.op, "cas");
    assert.deepEqual(blameRead(history, far()), {
      writesAlone: "ok",
      staleRead: stale,
    });
  });

  it("finds the first read that breaks the writes, among reads before and after it", () => {
    const fine = [
      op(4, { key: "k", op: "get" }, [11, 12], { value: "b" }),
      op(5, { key: "k", op: "get" }, [13, 14], { value: "b" }),
    ];
    const later = [
      op(6, { key: "k", op: "get" }, [31, 32], { value: "a" }),
      op(7, { key: "k", op: "get" }, [60, 70], { value: "a" }),
    ];
    const history = [cas, ...later, putA, stale, ...fine, putB];
    assert.deepEqual(blameRead(history, far()), {
      writesAlone: "ok",
      staleRead: stale,
    });
  });

  it("blames no read when the writes alone have no valid order", () => {
    // A compare-and-set from "b" succeeded although "b" was never written.
    const lost = op(3, { key: "k", op: "cas", expected: "b", value: "c" }, [
      40,
      50,
    ], {
      ok: true,
    });
    assert.deepEqual(blameRead([putA, lost, stale], far()), {
      writesAlone: "violation",
    });
  });
});
