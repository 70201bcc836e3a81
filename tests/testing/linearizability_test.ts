/**
 * The linearizability checker (`testing/linearizability/`): hand-written
 * histories it must reject (a stale read, a compare-and-set that won twice,
 * a value nobody wrote) and accept (concurrent and indeterminate
 * operations), budgets that end in `unknown` and never `ok`, the recorder,
 * and a comparison with brute force over thousands of random small
 * histories.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  checkLinearizability,
  HistoryError,
  HistoryRecorder,
  type Model,
  type Operation,
  type RegisterInput,
  registerModel,
  type RegisterOutput,
} from "../../testing/mod.ts";
import { Prng } from "../../testing/raft/random.ts";

type Op = Operation<RegisterInput, RegisterOutput>;

let client = 0;
function put(key: string, value: string, at: [number, number]): Op {
  return op({ key, op: "put", value }, at, {});
}
function get(key: string, value: string | null, at: [number, number]): Op {
  return op({ key, op: "get" }, at, { value });
}
function cas(
  key: string,
  [expected, value]: [string | null, string],
  at: [number, number],
  ok?: boolean,
): Op {
  return op(
    { key, op: "cas", expected, value },
    at,
    ok === undefined ? undefined : { ok },
  );
}
function op(
  input: RegisterInput,
  [invokedAt, completedAt]: [number, number],
  output: RegisterOutput | undefined,
): Op {
  const o: Op = { client: client++, input, invokedAt, completedAt };
  if (output !== undefined) o.output = output;
  return o;
}

function check(history: Op[]) {
  return checkLinearizability(history, { model: registerModel });
}

describe("checkLinearizability with the register model", () => {
  it("rejects a read of the old value after a put completed, and names the read", () => {
    const r = check([
      put("a", "x", [0, 10]),
      put("a", "y", [20, 30]),
      get("a", "x", [40, 50]),
    ]);
    assert.equal(r.verdict, "violation");
    const p = r.partitions[0];
    assert.deepEqual(p.blocked?.input, { key: "a", op: "get" });
    assert.deepEqual(p.linearized?.map((o) => o.input), [
      { key: "a", op: "put", value: "x" },
      { key: "a", op: "put", value: "y" },
    ]);
    assert.match(r.explanation!, /get "a" -> "x"/);
    assert.match(r.explanation!, /leaves the state "y"/);
  });

  it("rejects a compare-and-set that succeeded twice on the same expectation", () => {
    const r = check([
      put("a", "x", [0, 10]),
      cas("a", ["x", "y"], [20, 30], true),
      cas("a", ["x", "z"], [40, 50], true),
    ]);
    assert.equal(r.verdict, "violation");
    assert.deepEqual(r.partitions[0].blocked?.input, {
      key: "a",
      op: "cas",
      expected: "x",
      value: "z",
    });
  });

  it("rejects two concurrent claims of an absent key that both won", () => {
    const r = check([
      cas("a", [null, "x"], [0, 10], true),
      cas("a", [null, "y"], [5, 15], true),
    ]);
    assert.equal(r.verdict, "violation");
  });

  it("rejects a read of a value nobody wrote", () => {
    const r = check([put("a", "x", [0, 10]), get("a", "ghost", [5, 15])]);
    assert.equal(r.verdict, "violation");
    assert.match(r.explanation!, /ghost/);
  });

  it("rejects a read that goes back to an older value (new then old, both after the put began)", () => {
    const r = check([
      put("a", "x", [0, 5]),
      put("a", "y", [10, 100]),
      get("a", "y", [20, 30]),
      get("a", "x", [40, 50]),
    ]);
    assert.equal(r.verdict, "violation");
  });

  it("rejects a failed compare-and-set whose expectation held throughout", () => {
    const r = check([
      put("a", "x", [0, 5]),
      cas("a", ["x", "y"], [10, 20], false),
      get("a", "x", [30, 40]),
    ]);
    assert.equal(r.verdict, "violation");
  });

  it("accepts a read concurrent with a put returning either value", () => {
    for (const seen of ["x", "y"]) {
      const r = check([
        put("a", "x", [0, 10]),
        put("a", "y", [20, 40]),
        get("a", seen, [30, 50]),
      ]);
      assert.equal(r.verdict, "ok", seen);
    }
  });

  it("accepts operations that touch at one instant as concurrent", () => {
    const r = check([put("a", "x", [0, 10]), get("a", null, [10, 20])]);
    assert.equal(r.verdict, "ok");
  });

  it("accepts reads that order overlapping writes differently from their invocation", () => {
    const r = check([
      put("a", "x", [0, 100]),
      put("a", "y", [10, 90]),
      get("a", "y", [20, 30]),
      get("a", "x", [95, 110]),
      cas("a", ["x", "z"], [120, 130], true),
      get("a", "z", [140, 150]),
    ]);
    assert.equal(r.verdict, "ok");
  });

  it("accepts an indeterminate put whether or not a later read saw it", () => {
    const lost = put("a", "x", [0, Infinity]);
    delete lost.output;
    assert.equal(check([lost, get("a", "x", [50, 60])]).verdict, "ok");
    assert.equal(check([lost, get("a", null, [50, 60])]).verdict, "ok");
    // Once seen, it cannot be unseen.
    assert.equal(
      check([lost, get("a", "x", [50, 60]), get("a", null, [70, 80])]).verdict,
      "violation",
    );
  });

  it("lets an indeterminate put take effect long after it was invoked", () => {
    const lost = put("a", "x", [0, Infinity]);
    delete lost.output;
    const r = check([
      lost,
      put("a", "y", [10, 20]),
      get("a", "y", [30, 40]),
      get("a", "x", [1000, 1010]),
    ]);
    assert.equal(r.verdict, "ok");
  });

  it("does not let an indeterminate put take effect before it was invoked", () => {
    const lost = put("a", "x", [100, Infinity]);
    delete lost.output;
    assert.equal(check([lost, get("a", "x", [0, 50])]).verdict, "violation");
  });

  it("lets an indeterminate compare-and-set swap only when its expectation holds", () => {
    const swap = cas("a", ["x", "y"], [10, Infinity]);
    assert.equal(
      check([put("a", "x", [0, 5]), swap, get("a", "y", [20, 30])]).verdict,
      "ok",
    );
    assert.equal(
      check([put("a", "w", [0, 5]), swap, get("a", "y", [20, 30])]).verdict,
      "violation",
    );
  });

  it("checks keys independently and names the key of a violation", () => {
    const r = check([
      put("a", "x", [0, 10]),
      put("b", "u", [0, 10]),
      get("a", "x", [20, 30]),
      get("b", null, [20, 30]),
    ]);
    assert.equal(r.verdict, "violation");
    assert.deepEqual(
      r.partitions.map((p) => [p.key, p.verdict, p.operations]),
      [["a", "ok", 2], ["b", "violation", 2]],
    );
    assert.match(r.explanation!, /partition "b"/);
  });

  it("accepts an empty history", () => {
    assert.equal(check([]).verdict, "ok");
  });

  it("answers unknown, never ok, when the step budget runs out", () => {
    const history: Op[] = [];
    for (let i = 0; i < 12; i++) history.push(put("a", `v${i}`, [0, 100]));
    history.push(get("a", "v0", [200, 210]));
    const full = checkLinearizability(history, { model: registerModel });
    assert.equal(full.verdict, "ok");
    const bounded = checkLinearizability(history, {
      model: registerModel,
      maxSteps: 5,
    });
    assert.equal(bounded.verdict, "unknown");
    assert.equal(bounded.partitions[0].steps, 6);
    assert.match(bounded.explanation!, /undecided/);
  });

  it("answers unknown for partitions left when the time budget runs out", () => {
    let now = 0;
    const history = [
      put("a", "x", [0, 10]),
      put("b", "x", [0, 10]),
      get("c", null, [0, 10]),
    ];
    const r = checkLinearizability(history, {
      model: registerModel,
      timeoutMs: 100,
      clock: () => (now += 60),
    });
    assert.equal(r.verdict, "unknown");
    assert.deepEqual(r.partitions.map((p) => p.verdict), [
      "ok",
      "unknown",
      "unknown",
    ]);
  });

  it("prefers violation over unknown when both occur", () => {
    const history: Op[] = [get("a", "ghost", [0, 1])];
    for (let i = 0; i < 12; i++) history.push(put("b", `v${i}`, [0, 100]));
    history.push(get("b", "v0", [200, 210]));
    const r = checkLinearizability(history, {
      model: registerModel,
      maxSteps: 20,
    });
    assert.deepEqual(r.partitions.map((p) => p.verdict), [
      "violation",
      "unknown",
    ]);
    assert.equal(r.verdict, "violation");
  });

  it("refuses a malformed history with a HistoryError", () => {
    assert.throws(
      () => check([get("a", null, [5, 4])]),
      (e) =>
        e instanceof HistoryError && /complete at or after/.test(e.message),
    );
    assert.throws(
      () => check([get("a", null, [NaN, 4])]),
      (e) => e instanceof HistoryError && /finite invocation/.test(e.message),
    );
    assert.throws(
      () => check([get("a", null, [0, Infinity])]),
      (e) => e instanceof HistoryError && /no output/.test(e.message),
    );
  });
});

describe("HistoryRecorder", () => {
  it("stamps invocations and completions on its clock and keeps unknown outcomes as indeterminate", () => {
    let now = 0;
    const rec = new HistoryRecorder<RegisterInput, RegisterOutput>({
      clock: () => now,
    });
    const a = rec.invoke(0, { key: "a", op: "put", value: "x" });
    now = 5;
    const b = rec.invoke(1, { key: "a", op: "put", value: "y" });
    const c = rec.invoke(2, { key: "a", op: "get" });
    const d = rec.invoke(3, { key: "a", op: "get" });
    now = 7;
    rec.complete(a, {});
    rec.indeterminate(b);
    rec.discard(c);
    assert.equal(rec.pending, 1);
    assert.deepEqual(rec.history(), [
      {
        client: 0,
        input: { key: "a", op: "put", value: "x" },
        invokedAt: 0,
        completedAt: 7,
        output: {},
      },
      {
        client: 1,
        input: { key: "a", op: "put", value: "y" },
        invokedAt: 5,
        completedAt: Infinity,
      },
      {
        client: 3,
        input: { key: "a", op: "get" },
        invokedAt: 5,
        completedAt: Infinity,
      },
    ]);
    assert.equal(rec.indeterminateCount, 1);
    assert.equal(rec.discardedCount, 1);
    rec.complete(d, { value: "x" });
    assert.equal(rec.history()[2].completedAt, 7);
  });

  it("refuses to end an operation twice", () => {
    const rec = new HistoryRecorder<string, string>();
    const id = rec.invoke(0, "x");
    rec.complete(id, "y");
    assert.throws(() => rec.indeterminate(id), HistoryError);
    assert.throws(() => rec.discard(99), HistoryError);
  });
});

/**
 * Brute force: some order of the operations that respects real time (an
 * operation completed before another was invoked comes first) is a legal
 * run of the model. Operations without output may come last, which is the
 * same as never.
 */
function bruteForce<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
): boolean {
  const used = new Array(ops.length).fill(false);
  const go = (state: S, count: number): boolean => {
    if (count === ops.length) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      // i may go next only if no unused operation completed before i began.
      if (
        ops.some((o, j) =>
          !used[j] && j !== i && o.completedAt < ops[i].invokedAt
        )
      ) {
        continue;
      }
      const r = model.step(state, ops[i].input, ops[i].output);
      if (!r.ok) continue;
      used[i] = true;
      const found = go(r.state, count + 1);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return go(model.init(), 0);
}

function randomHistory(rng: Prng): Op[] {
  const values = ["x", "y", "z"];
  const n = rng.range(1, 7);
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const start = rng.int(30);
    const end = rng.chance(0.15) ? Infinity : start + rng.int(15);
    const kind = rng.pick(["get", "put", "cas"] as const);
    const input: RegisterInput = kind === "get"
      ? { key: "k", op: "get" }
      : kind === "put"
      ? { key: "k", op: "put", value: rng.pick(values) }
      : {
        key: "k",
        op: "cas",
        expected: rng.chance(0.3) ? null : rng.pick(values),
        value: rng.pick(values),
      };
    let output: RegisterOutput | undefined;
    if (end !== Infinity) {
      output = kind === "get"
        ? { value: rng.chance(0.25) ? null : rng.pick(values) }
        : kind === "cas"
        ? { ok: rng.chance(0.5) }
        : {};
    }
    ops.push(op(input, [start, end], output));
  }
  return ops;
}

describe("checkLinearizability against brute force", () => {
  it("agrees on 5000 random small histories of one register, in both directions", () => {
    const rng = new Prng(20261204);
    const seen = { ok: 0, violation: 0 };
    for (let i = 0; i < 5000; i++) {
      const history = randomHistory(rng);
      const expected = bruteForce(registerModel, history);
      const r = check(history);
      assert.equal(
        r.verdict,
        expected ? "ok" : "violation",
        `history ${i}: ${JSON.stringify(history)}`,
      );
      seen[r.verdict as "ok" | "violation"]++;
    }
    // Both answers are well represented, so agreement means something.
    assert.ok(seen.ok > 1000 && seen.violation > 1000, JSON.stringify(seen));
  });

  it("accepts long random histories generated from a real register run", () => {
    const rng = new Prng(7);
    for (let run = 0; run < 20; run++) {
      // Linearization points on a line; each operation's interval is widened
      // around its point, and some writes lose their answer.
      let state: string | null = null;
      const history: Op[] = [];
      for (let i = 0; i < 300; i++) {
        const at = i * 10;
        const invokedAt = at - rng.int(40);
        const completedAt = at + rng.int(40);
        const kind = rng.pick(["get", "put", "cas"] as const);
        if (kind === "get") {
          history.push(get("k", state, [invokedAt, completedAt]));
        } else if (kind === "put") {
          const value = `${run}.${i}`;
          state = value;
          const o = put("k", value, [invokedAt, completedAt]);
          if (rng.chance(0.05)) {
            o.completedAt = Infinity;
            delete o.output;
          }
          history.push(o);
        } else {
          const expected = rng.chance(0.7) ? state : "nope";
          const value = `${run}.${i}`;
          const ok = state === expected;
          if (ok) state = value;
          history.push(
            cas("k", [expected, value], [invokedAt, completedAt], ok),
          );
        }
      }
      const r = check(history);
      assert.equal(r.verdict, "ok", `run ${run}: ${r.explanation}`);
    }
  });
});
