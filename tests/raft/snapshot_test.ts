import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftError } from "../../raft/errors.ts";
import {
  CoreCluster,
  testIncarnation,
  withIncarnations,
} from "../../testing/raft/cores.ts";

describe("snapshots and log compaction", () => {
  it("compaction drops the log up to the applied index, in the core and in storage", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    for (const t of ["a", "b", "c"]) net.propose(1, t);
    net.run(1);
    const index = net.compact(1);
    assert.equal(index, 5);
    assert.equal(net.core(1).status().snapshotIndex, 5);
    const stored = net.storages.get(1)!.load();
    assert.equal(stored.snapshot?.metadata.index, 5);
    assert.equal(stored.entries.length, 0);
    net.propose(1, "d");
    net.run(1);
    assert.deepEqual(net.appliedTexts(1), ["a", "b", "c", "d"]);
  });

  it("a follower behind the leader's snapshot is sent it, restores, and applies what follows", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.stop(3);
    for (const t of ["a", "b", "c"]) net.propose(1, t);
    net.run(1);
    net.compact(1);
    net.propose(1, "d");
    net.run(1);
    net.start(3);
    net.run(3);
    const snapshots = net.sent.filter((m) =>
      m.type === "snapshot" && m.to === 3
    );
    assert.equal(snapshots.length, 1);
    assert.deepEqual(net.appliedTexts(3), ["a", "b", "c", "d"]);
    assert.equal(net.core(3).status().snapshotIndex, 5);
    assert.deepEqual(
      net.storages.get(3)!.load().snapshot?.metadata.conf,
      withIncarnations({ voters: [1, 2, 3], learners: [] }),
      "the membership, with every voter's incarnation",
    );
  });

  it("a restarted node resumes from its snapshot and its entries after it", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    for (const t of ["a", "b"]) net.propose(1, t);
    net.run(1);
    net.compact(2);
    net.propose(1, "c");
    net.run(1);
    net.stop(2);
    const core = net.start(2);
    assert.equal(core.status().snapshotIndex, 4);
    assert.equal(core.status().commit, 5);
    net.flush();
    assert.deepEqual(net.appliedTexts(2), ["a", "b", "c"]);
  });

  it("a snapshot that is lost is sent again after an election timeout", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.stop(3);
    net.propose(1, "a");
    net.run(1);
    net.compact(1);
    net.start(3);
    let lost = false;
    net.filter = (m) => {
      if (m.type !== "snapshot" || lost) return true;
      lost = true;
      return false;
    };
    net.run(3);
    assert.equal(net.core(1).status().progress[3].state, "snapshot");
    net.run(12);
    assert.deepEqual(net.appliedTexts(3), ["a"]);
    assert.equal(net.sent.filter((m) => m.type === "snapshot").length, 2);
  });

  it("a snapshot at or below the follower's commit index is not installed", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, "a");
    net.run(1);
    net.compact(1);
    const stale = {
      type: "snapshot" as const,
      from: 1,
      to: 2,
      term: 1,
      logTerm: 0,
      index: 0,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: net.storages.get(1)!.load().snapshot,
      incarnation: testIncarnation(1),
      toIncarnation: testIncarnation(2),
    };
    net.core(2).step(stale);
    assert.equal(net.core(2).status().snapshotIndex, 0);
    const [answer] = net.take((m) => m.from === 2);
    assert.equal(answer.type, "appendResp");
    assert.equal(answer.index, 3);
  });

  it("a delayed snapshot older than the follower's own is ignored, not rewinding its log", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, "a");
    net.run(1);
    net.compact(1);
    const old = net.storages.get(1)!.load().snapshot!;
    net.propose(1, "b");
    net.run(1);
    assert.equal(net.compact(2), 4);
    net.core(2).step({
      type: "snapshot",
      from: 1,
      to: 2,
      term: 1,
      logTerm: 0,
      index: 0,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: old,
      incarnation: testIncarnation(1),
      toIncarnation: testIncarnation(2),
    });
    net.flush();
    assert.equal(old.metadata.index, 3);
    assert.equal(net.core(2).status().snapshotIndex, 4);
    assert.equal(net.core(2).status().lastIndex, 4);
    assert.equal(net.storages.get(2)!.load().snapshot!.metadata.index, 4);
    const [answer] = net.take((m) => m.from === 2);
    assert.deepEqual([answer.type, answer.index], ["appendResp", 4]);
  });

  it("compaction refuses an index that is not applied yet or not above the snapshot", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.cut([1], [2, 3]);
    net.propose(1, "a");
    net.deliver();
    assert.throws(
      () => net.core(1).compact(3, new Uint8Array()),
      (e) => e instanceof RaftError && /applied index 2/.test(e.message),
    );
    net.core(1).compact(2, new Uint8Array([1]));
    assert.throws(() => net.core(1).compact(2, new Uint8Array()), RaftError);
  });
});
