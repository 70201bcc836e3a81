/**
 * The planner: balance within one shard, the minimum movement on a join or
 * a leave, determinism, and refusal of bad input.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Assignment,
  movedShards,
  ownedCounts,
  planAssignment,
  plannedFor,
  rendezvousScore,
  shardCandidates,
  ShardConfigError,
} from "../../sharding/mod.ts";
import { Prng } from "../../testing/raft/random.ts";

const range = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => from + i);

function spread(a: Assignment): { max: number; min: number } {
  const counts = [...ownedCounts(a).values()];
  return { max: Math.max(...counts), min: Math.min(...counts) };
}

describe("planAssignment", () => {
  it("balances within one shard for every member count and shard count", () => {
    for (const shards of [1, 7, 64, 256, 1000]) {
      for (let n = 1; n <= 20; n++) {
        const a = planAssignment({ shardCount: shards, members: range(n) });
        assert.ok(a.owners.every((o) => o !== null && a.members.includes(o)));
        if (n <= shards) {
          const { max, min } = spread(a);
          assert.equal(max, Math.ceil(shards / n), `${shards} over ${n}`);
          assert.equal(min, Math.floor(shards / n), `${shards} over ${n}`);
        } else {
          assert.equal(new Set(a.owners).size, shards);
        }
      }
    }
  });

  it("owns nothing without members", () => {
    const a = planAssignment({ shardCount: 8, members: [] });
    assert.deepEqual(a.owners, new Array(8).fill(null));
    assert.deepEqual(a.members, []);
  });

  it("does not depend on the order or repetition of members", () => {
    const a = planAssignment({ shardCount: 256, members: [4, 1, 9] });
    const b = planAssignment({ shardCount: 256, members: [9, 9, 1, 4] });
    assert.deepEqual(a, b);
    assert.deepEqual(a.members, [1, 4, 9]);
  });

  it("a join moves exactly the new member's share, all of it to the new member", () => {
    for (let n = 1; n <= 12; n++) {
      const before = planAssignment({ shardCount: 256, members: range(n) });
      const after = planAssignment({
        shardCount: 256,
        members: range(n + 1),
        previous: before,
      });
      const moved = movedShards(before, after);
      assert.ok(moved.every((s) => after.owners[s] === n), `join ${n + 1}`);
      assert.equal(moved.length, ownedCounts(after).get(n));
      assert.ok(moved.length <= Math.ceil(256 / (n + 1)));
      const { max, min } = spread(after);
      assert.ok(max - min <= 1);
    }
  });

  it("a leave moves exactly the leaver's shards", () => {
    for (let n = 2; n <= 12; n++) {
      for (const leaver of [0, n - 1, Math.floor(n / 2)]) {
        const before = planAssignment({ shardCount: 256, members: range(n) });
        const members = range(n).filter((m) => m !== leaver);
        const after = planAssignment({
          shardCount: 256,
          members,
          previous: before,
        });
        const moved = movedShards(before, after);
        const had = before.owners.flatMap((o, s) => o === leaver ? [s] : []);
        assert.deepEqual(moved, had, `${leaver} leaves ${n}`);
        const { max, min } = spread(after);
        assert.ok(max - min <= 1);
      }
    }
  });

  it("stays balanced and moves only what balance needs over 500 random joins and leaves", () => {
    const prng = new Prng(19);
    let members = [0, 1, 2];
    let current = planAssignment({ shardCount: 256, members });
    let next = 3;
    for (let step = 0; step < 500; step++) {
      const join = members.length < 2 ||
        (members.length < 12 && prng.chance(0.5));
      const was = members;
      const leaver = prng.pick(members);
      members = join
        ? [...members, next++]
        : members.filter((m) => m !== leaver);
      const after = planAssignment({
        shardCount: 256,
        members,
        previous: current,
      });
      const moved = movedShards(current, after).length;
      // The least any balanced assignment could move: the shards of members
      // that left, plus what members over their new share must give up.
      const counts = ownedCounts(current);
      const quota = Math.ceil(256 / members.length);
      let least = 0;
      for (const m of was) {
        const c = counts.get(m) ?? 0;
        least += members.includes(m) ? Math.max(0, c - quota) : c;
      }
      const joined = members.filter((m) => !was.includes(m));
      least = Math.max(least, joined.length * Math.floor(256 / members.length));
      assert.equal(moved, least, `step ${step}: ${was} → ${members}`);
      const { max, min } = spread(after);
      assert.ok(max - min <= 1, `step ${step}`);
      assert.equal(after.epoch, current.epoch + 1);
      current = after;
    }
  });

  it("keeps an owner's highest-scoring shards when it must give some up", () => {
    const before = planAssignment({ shardCount: 64, members: [0] });
    const after = planAssignment({
      shardCount: 64,
      members: [0, 1],
      previous: before,
    });
    const kept = after.owners.flatMap((o, s) => o === 0 ? [s] : []);
    const top = range(64)
      .sort((a, b) => rendezvousScore(b, 0) - rendezvousScore(a, 0))
      .slice(0, 32)
      .sort((a, b) => a - b);
    assert.deepEqual(kept, top);
  });

  it("gives a new cluster's shards to their highest-scoring member with room", () => {
    const a = planAssignment({ shardCount: 256, members: [0, 1, 2] });
    const count = new Map([[0, 0], [1, 0], [2, 0]]);
    let firstChoice = 0;
    for (let s = 0; s < 256; s++) {
      // Quotas 86, 85, 85: the one extra shard goes to the lowest id.
      const room = [0, 1, 2].filter((m) => count.get(m)! < (m === 0 ? 86 : 85));
      const best = room.sort((x, y) =>
        rendezvousScore(s, y) - rendezvousScore(s, x)
      )[0];
      assert.equal(a.owners[s], best, `shard ${s}`);
      count.set(best, count.get(best)! + 1);
      const top = [0, 1, 2].sort((x, y) =>
        rendezvousScore(s, y) - rendezvousScore(s, x)
      )[0];
      if (top === best) firstChoice++;
    }
    assert.ok(firstChoice > 200, `${firstChoice} of 256 on their first choice`);
  });

  it("plans from scratch when the previous assignment has another shard count", () => {
    const old = planAssignment({ shardCount: 128, members: [0, 1] });
    const a = planAssignment({
      shardCount: 256,
      members: [0, 1],
      previous: old,
    });
    const fresh = planAssignment({ shardCount: 256, members: [0, 1] });
    assert.deepEqual(a.owners, fresh.owners);
    assert.equal(a.epoch, 2);
  });

  it("refuses bad member ids and shard counts", () => {
    assert.throws(
      () => planAssignment({ shardCount: 8, members: [-1] }),
      ShardConfigError,
    );
    assert.throws(
      () => planAssignment({ shardCount: 8, members: [1.5] }),
      /non-negative safe integers, found 1.5/,
    );
    assert.throws(
      () => planAssignment({ shardCount: 0, members: [1] }),
      ShardConfigError,
    );
    const a = planAssignment({ shardCount: 8, members: [0] });
    const b = planAssignment({ shardCount: 4, members: [0] });
    assert.throws(() => movedShards(a, b), /one shard count, found 8 and 4/);
  });
});

describe("plannedFor", () => {
  it("tells whether an assignment was planned over a member set", () => {
    const a = planAssignment({ shardCount: 8, members: [2, 0] });
    assert.ok(plannedFor(a, [0, 2]));
    assert.ok(plannedFor(a, [2, 0, 2]));
    assert.ok(!plannedFor(a, [0]));
    assert.ok(!plannedFor(a, [0, 1]));
    assert.ok(!plannedFor(null, [0]));
  });
});

describe("shardCandidates", () => {
  it("keeps the voters replicated to as their recorded incarnation", () => {
    const status = {
      conf: { voters: [2, 0, 1], incarnations: { 0: 5, 1: 6, 2: 7 } },
      progress: {
        0: { incarnation: 5, learner: false },
        1: { incarnation: 6, learner: false },
        2: { incarnation: 7, learner: false },
      },
    };
    assert.deepEqual(shardCandidates(status), [0, 1, 2]);
  });

  it("drops learners, members that lost their state, and members without progress", () => {
    const status = {
      conf: { voters: [0, 1, 2, 4], incarnations: { 0: 5, 1: 6, 2: 7, 4: 9 } },
      progress: {
        0: { incarnation: 5, learner: false },
        1: { incarnation: 61, learner: false },
        2: { incarnation: 7, learner: true },
        3: { incarnation: 8, learner: true },
      },
    };
    assert.deepEqual(shardCandidates(status), [0]);
  });

  it("accepts a membership without recorded incarnations", () => {
    const status = {
      conf: { voters: [0, 1] },
      progress: {
        0: { incarnation: 1, learner: false },
        1: { incarnation: 2, learner: false },
      },
    };
    assert.deepEqual(shardCandidates(status), [0, 1]);
  });
});
