import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import { CoreCluster, type CoreFactory } from "../../testing/raft/cores.ts";

/** A core that commits entries of earlier terms by counting replicas (wrong). */
class CommitsOldTerms extends RaftCore {
  protected override mayCommitTerm(_entryTerm: number): boolean {
    return true;
  }
}

const scripted = { preVote: false, checkQuorum: false, maxEntriesPerAppend: 1 };

/**
 * Figure 8 of the Raft paper, with our terms (the first election is term 1)
 * and indexes (index 1 is the cluster's bootstrap entry, index 2 S1's no-op):
 * (a) S1 leads term 1 and replicates "a2" at index 3 to S2 only;
 * (b) S1 crashes, S5 wins term 2 with S3, S4 and appends index 3 locally;
 * (c) S5 crashes, S1 restarts and wins term 3, and replicates "a2" to S3:
 *     "a2" is now on a majority, but it is of an older term.
 */
function figure8(factory?: CoreFactory): CoreCluster {
  const net = new CoreCluster({
    voters: [1, 2, 3, 4, 5],
    tuning: scripted,
    factory,
  });
  net.elect(1);
  net.cut([1], [3, 4, 5]);
  net.propose(1, "a2");
  net.deliver();
  net.heal();
  net.stop(1);
  net.filter = (m) => !(m.from === 5 && m.type === "append");
  net.elect(5);
  assert.equal(net.core(5).status().role, "leader");
  assert.equal(net.core(5).status().term, 2);
  net.stop(5);
  // S1's first append to S3 is a probe that S3 refuses; after S3 has index 3,
  // appends carrying index 4 (the term-3 no-op) are lost, as are all to S4.
  let probed = false;
  net.filter = (m) => {
    if (m.from !== 1 || m.type !== "append") return true;
    if (m.to === 4) return false;
    if (m.to !== 3 || !m.entries.some((e) => e.index === 4)) return true;
    if (probed) return false;
    probed = true;
    return true;
  };
  net.start(1);
  net.elect(1); // term 2: S3 and S4 voted for S5 already
  net.elect(1); // term 3
  assert.equal(net.core(1).status().role, "leader");
  assert.equal(net.core(1).status().term, 3);
  return net;
}

describe("commitment (Figure 8)", () => {
  it("an entry of an older term on a majority is not committed by counting replicas", () => {
    const net = figure8();
    for (const id of [1, 2, 3]) {
      assert.equal(net.storages.get(id)!.load().entries[2].term, 1, `S${id}`);
    }
    assert.equal(net.core(1).status().commit, 2);
    assert.deepEqual(net.appliedTexts(1), []);
  });

  it("(d) so S5 may still win and overwrite it, and nobody ever applied it", () => {
    const net = figure8();
    net.stop(1);
    net.filter = () => true;
    net.start(5);
    net.elect(5); // term 3: refused by S2, S3 who voted for S1
    net.elect(5); // term 4: S3 and S4 vote for S5
    assert.equal(net.core(5).status().role, "leader");
    net.run(3);
    for (const id of [2, 3, 4, 5]) {
      const entries = net.storages.get(id)!.load().entries;
      assert.equal(entries[2].term, 2, `S${id} holds S5's entry at index 3`);
      assert.ok(!net.appliedTexts(id).includes("a2"));
    }
  });

  it("(e) once an entry of the leader's term is on a majority, both are committed and S5 cannot win", () => {
    const net = figure8();
    net.filter = () => true;
    net.deliver();
    net.run(2);
    assert.ok(net.core(1).status().commit >= 4);
    assert.deepEqual(net.appliedTexts(1), ["a2"]);
    net.stop(1);
    net.start(5);
    // Idle, but below the shortest election timeout (10 ticks): whatever
    // the random draws, none of them campaigns and catches S5 up.
    net.tick(9, [2, 3, 4]);
    for (let i = 0; i < 3; i++) net.elect(5);
    assert.notEqual(net.core(5).status().role, "leader");
  });

  it("a core that counts replicas of older-term entries breaks Leader Completeness (so the tests above can fail)", () => {
    const net = figure8((o) => new CommitsOldTerms(o));
    assert.equal(net.core(1).status().commit, 3, "the broken core commits a2");
    assert.deepEqual(net.appliedTexts(1), ["a2"]);
    net.stop(1);
    net.filter = () => true;
    net.start(5);
    for (let round = 0; round < 2; round++) {
      net.core(5).campaign();
      for (let i = 0; i < 3; i++) net.deliverOnce();
    }
    assert.equal(net.core(5).status().role, "leader");
    assert.equal(
      net.storages.get(5)!.load().entries[2].term,
      2,
      "the new leader lacks the committed a2",
    );
  });
});

describe("commitment", () => {
  it("an entry is committed once a majority stores it, and applied everywhere in order", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.stop(3);
    const index = net.propose(1, "x");
    net.deliver();
    assert.equal(net.core(1).status().commit, index);
    net.start(3);
    net.run(2);
    for (const id of [1, 2, 3]) assert.deepEqual(net.appliedTexts(id), ["x"]);
  });

  it("an entry stored by a minority is not committed", () => {
    const net = new CoreCluster({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.cut([1], [3, 4, 5]);
    const index = net.propose(1, "x");
    net.deliver();
    assert.ok(net.core(1).status().commit < index);
    assert.deepEqual(net.appliedTexts(1), []);
  });

  it("a new leader commits earlier-term entries through its no-op entry", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.cut([1], [3]);
    net.filter = (m) => !(m.from === 2 && m.type === "appendResp");
    net.propose(1, "x");
    net.deliver();
    assert.equal(net.core(2).status().commit, 2, "2 stores x, 1 never learns");
    net.filter = () => true;
    net.heal();
    net.stop(1);
    net.tick(10, [3]);
    net.elect(2);
    assert.equal(net.core(2).status().role, "leader");
    for (const id of [2, 3]) assert.deepEqual(net.appliedTexts(id), ["x"]);
  });
});

describe("heartbeat now", () => {
  it("a leader's heartbeat() reaches every member at its current tick, and the lease counts their answers", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.deliver();
    const leader = net.core(1);
    // Two ticks whose heartbeats are lost: the lease now counts from older.
    net.cut([1], [2, 3]);
    net.tick(2, [1]);
    net.heal();
    const tick = leader.status().leaseTicks;
    assert.ok(
      tick !== null && tick >= 2,
      `lease counts from ${tick} ticks ago`,
    );
    net.sent.length = 0;
    leader.heartbeat();
    net.flush();
    const beats = net.sent.filter((m) => m.type === "heartbeat");
    assert.deepEqual(beats.map((m) => m.to).sort(), [2, 3]);
    net.deliver();
    assert.equal(leader.status().leaseTicks, 0, `was ${tick}`);
  });

  it("does nothing off the leader", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.deliver();
    net.sent.length = 0;
    net.core(2).heartbeat();
    net.flush();
    assert.deepEqual(net.sent.filter((m) => m.from === 2), []);
  });
});
