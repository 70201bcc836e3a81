/**
 * Unit tests of `raft/_quorum.ts` alone, after etcd-io/raft's
 * `quorum/testdata/majority_{commit,vote}.txt` and `quorum/quick_test.go`:
 * tables written as `cfg=(…) idx=(…)` / `votes=(…)` scripts, and the
 * committed index checked against a slow, obviously right version on
 * seeded random configurations.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { quorumSize, quorumValue, voteResult } from "../../raft/_quorum.ts";
import type { VoteResult } from "../../raft/_quorum.ts";
import { below, seeded } from "../../testing/raft/random.ts";

/**
 * Parses `"1,2,3"` against values `"12,5,_"`: `_` is a voter not heard
 * from, which counts as index 0 (as the core counts a follower without
 * progress).
 */
function indexes(cfg: string, idx: string): Map<number, number> {
  const ids = cfg.split(",").map(Number);
  const values = idx.split(",");
  assert.equal(values.length, ids.length, "one index per voter");
  return new Map(
    ids.map((id, i) => [id, values[i] === "_" ? 0 : Number(values[i])]),
  );
}

/** Parses `"y,n,_"` into the votes granted (`y`) and refused (`n`). */
function votes(cfg: string, v: string): Map<number, boolean> {
  const ids = cfg.split(",").map(Number);
  const values = v.split(",");
  assert.equal(values.length, ids.length, "one vote per voter");
  const out = new Map<number, boolean>();
  ids.forEach((id, i) => {
    if (values[i] !== "_") out.set(id, values[i] === "y");
  });
  return out;
}

/**
 * The committed index the slow way: the largest index that at least a
 * quorum of voters has reached, by counting for every candidate index.
 */
function slowCommitted(voters: number[], index: Map<number, number>): number {
  let best = 0;
  for (const candidate of voters.map((id) => index.get(id) ?? 0)) {
    const reached = voters.filter((id) => (index.get(id) ?? 0) >= candidate);
    if (reached.length >= Math.floor(voters.length / 2) + 1) {
      best = Math.max(best, candidate);
    }
  }
  return best;
}

describe("quorum", () => {
  describe("quorumSize", () => {
    const cases: [number, number][] = [
      [1, 1],
      [2, 2],
      [3, 2],
      [4, 3],
      [
        5,
        3,
      ],
      [6, 4],
      [7, 4],
    ];
    for (const [n, q] of cases) {
      it(`of ${n} voters is ${q}`, () => {
        assert.equal(quorumSize(n), q);
        assert.ok(2 * q > n, "two quorums always overlap");
        assert.ok(2 * (q - 1) <= n, "and it is the smallest such size");
      });
    }
  });

  describe("quorumValue (committed index)", () => {
    // [cfg, idx, committed], after majority_commit.txt
    const cases: [string, string, number][] = [
      ["1", "_", 0],
      ["1", "12", 12],
      ["1,2", "_,_", 0],
      ["1,2", "12,_", 0],
      ["1,2", "12,5", 5],
      ["1,2,3", "_,_,_", 0],
      ["1,2,3", "12,_,_", 0],
      ["1,2,3", "12,5,_", 5],
      ["1,2,3", "12,5,6", 6],
      ["1,2,3", "12,5,4", 5],
      ["1,2,3", "5,5,_", 5],
      ["1,2,3", "5,5,12", 5],
      ["1,2,3", "100,101,103", 101],
      ["1,2,3,4,5", "101,104,103,103,_", 103],
      ["1,2,3,4,5", "101,102,103,103,_", 102],
      ["1,2,3,4", "9,9,1,1", 1],
      ["1,2,3,4", "9,9,9,1", 9],
    ];
    for (const [cfg, idx, want] of cases) {
      it(`cfg=(${cfg}) idx=(${idx}) → ${want}`, () => {
        const index = indexes(cfg, idx);
        const voters = [...index.keys()];
        assert.equal(quorumValue(voters, (id) => index.get(id)!), want);
      });
    }

    it("is -Infinity with no voters, so that nothing commits", () => {
      assert.equal(quorumValue([], () => 7), -Infinity);
    });

    it("asks only about voters", () => {
      const asked: number[] = [];
      quorumValue([1, 2, 3], (id) => {
        asked.push(id);
        return id;
      });
      assert.deepEqual(asked.sort(), [1, 2, 3]);
    });

    it("does not reorder the voters it is given", () => {
      const voters = [3, 1, 2];
      quorumValue(voters, (id) => id * 10);
      assert.deepEqual(voters, [3, 1, 2]);
    });

    it("agrees with counting, on 2000 seeded random configurations", () => {
      const random = seeded(20240611);
      for (let round = 0; round < 2000; round++) {
        const n = 1 + below(random, 9);
        const voters = Array.from(
          { length: n },
          (_, i) => i * 3 + below(random, 3),
        );
        const index = new Map(voters.map((id) => [id, below(random, n + 2)]));
        assert.equal(
          quorumValue(voters, (id) => index.get(id)!),
          slowCommitted(voters, index),
          `round ${round}: voters ${voters} at ${[...index.values()]}`,
        );
      }
    });
  });

  describe("voteResult", () => {
    // [cfg, votes, result], after majority_vote.txt
    const cases: [string, string, VoteResult][] = [
      ["1", "_", "pending"],
      ["1", "n", "lost"],
      ["123", "y", "won"],
      ["4,8", "_,_", "pending"],
      // With two voters, one refusal loses.
      ["4,8", "n,_", "lost"],
      ["4,8", "y,_", "pending"],
      ["4,8", "n,y", "lost"],
      ["4,8", "y,y", "won"],
      ["2,4,7", "_,_,_", "pending"],
      ["2,4,7", "n,_,_", "pending"],
      ["2,4,7", "y,_,_", "pending"],
      ["2,4,7", "n,n,_", "lost"],
      ["2,4,7", "y,n,_", "pending"],
      ["2,4,7", "y,y,_", "won"],
      ["2,4,7", "y,y,n", "won"],
      ["2,4,7", "n,y,n", "lost"],
      ["1,2,3,4,5,6,7", "y,y,n,y,_,_,_", "pending"],
      ["1,2,3,4,5,6,7", "_,y,y,_,n,y,n", "pending"],
      ["1,2,3,4,5,6,7", "y,y,n,y,_,n,y", "won"],
      ["1,2,3,4,5,6,7", "y,y,_,n,y,n,n", "pending"],
      ["1,2,3,4,5,6,7", "y,y,n,y,n,n,n", "lost"],
    ];
    for (const [cfg, v, want] of cases) {
      it(`cfg=(${cfg}) votes=(${v}) → ${want}`, () => {
        const ids = cfg.split(",").map(Number);
        assert.equal(voteResult(ids, votes(cfg, v)), want);
      });
    }

    it("ignores the votes of nodes that are not voters", () => {
      const outsiders = new Map([[1, true], [8, true], [9, true]]);
      assert.equal(voteResult([1, 2, 3], outsiders), "pending");
      const refusals = new Map([[1, true], [8, false], [9, false]]);
      assert.equal(voteResult([1, 2], refusals), "pending");
    });

    it("is lost with no voters: there is no quorum to win", () => {
      assert.equal(voteResult([], new Map([[1, true]])), "lost");
    });

    it("agrees with counting, on 2000 seeded random elections", () => {
      const random = seeded(7);
      for (let round = 0; round < 2000; round++) {
        const n = 1 + below(random, 9);
        const voters = Array.from({ length: n }, (_, i) => i + 1);
        const cast = new Map<number, boolean>();
        for (const id of voters) {
          const r = below(random, 3);
          if (r < 2) cast.set(id, r === 0);
        }
        // Won once a quorum granted; lost once granting every vote still
        // missing could not make a quorum.
        const granted = [...cast.values()].filter((v) => v).length;
        const missing = n - cast.size;
        const q = Math.floor(n / 2) + 1;
        const want: VoteResult = granted >= q
          ? "won"
          : granted + missing < q
          ? "lost"
          : "pending";
        const result = voteResult(voters, cast);
        assert.equal(result, want, `round ${round}: ${[...cast]}`);
        // Whatever the votes still missing, a decided result stays decided.
        if (result !== "pending") {
          const rest = voters.filter((id) => !cast.has(id));
          for (const grant of [true, false]) {
            const all = new Map(cast);
            for (const id of rest) all.set(id, grant);
            assert.equal(voteResult(voters, all), result);
          }
        }
      }
    });
  });
});
