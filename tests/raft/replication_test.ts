import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Network } from "./_network.ts";

function terms(net: Network, id: number): number[] {
  return net.storages.get(id)!.load().entries.map((e) => e.term);
}

describe("log replication", () => {
  it("a follower that was partitioned catches up once the partition heals", () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    for (const t of ["a", "b", "c"]) net.propose(1, t);
    net.deliver();
    assert.deepEqual(net.appliedTexts(3), []);
    net.heal();
    net.run(2);
    assert.deepEqual(net.appliedTexts(3), ["a", "b", "c"]);
  });

  it("a follower's conflicting uncommitted suffix is replaced by the leader's", () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.cut([1], [2, 3]);
    net.propose(1, "lost-1");
    net.propose(1, "lost-2");
    net.deliver();
    net.heal();
    net.stop(1);
    net.tick(10, [2, 3]);
    net.elect(2);
    net.propose(2, "kept");
    net.deliver();
    net.start(1);
    net.run(3);
    assert.deepEqual(terms(net, 1), terms(net, 2));
    assert.deepEqual(net.appliedTexts(1), ["kept"]);
  });

  it("a follower commits only what an append proved it shares with the leader, not its stale tail", () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, "x");
    net.deliver();
    net.cut([1], [2, 3]);
    net.propose(1, "stale");
    net.deliver();
    net.stop(1);
    net.heal();
    net.tick(10, [2, 3]);
    net.elect(2);
    net.propose(2, "new");
    net.deliver();
    assert.equal(net.core(2).status().commit, 4);
    net.start(1);
    assert.deepEqual(terms(net, 1), [1, 1, 1], "1 keeps its stale index 3");
    // An append that stops at index 2 (a delayed one, or one capped by
    // maxEntriesPerAppend) carries the leader's commit index 4.
    const x = net.storages.get(2)!.load().entries[1];
    net.core(1).step({
      type: "append",
      from: 2,
      to: 1,
      term: 2,
      index: 1,
      logTerm: 1,
      entries: [x],
      commit: 4,
      reject: false,
      rejectHint: 0,
      snapshot: null,
    });
    net.flush();
    assert.equal(net.core(1).status().commit, 2);
    assert.deepEqual(net.appliedTexts(1), ["x"]);
    net.run(3);
    assert.deepEqual(net.appliedTexts(1), ["x", "new"]);
  });

  it("fast backtracking repairs a long divergent log in a few round trips", () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.cut([1], [2, 3]);
    for (let i = 0; i < 30; i++) net.propose(1, `stale-${i}`);
    net.deliver();
    net.heal();
    net.stop(1);
    net.tick(10, [2, 3]);
    net.elect(2);
    for (let i = 0; i < 30; i++) net.propose(2, `new-${i}`);
    net.deliver();
    // A leader elected now starts probing node 1 at its own last index.
    net.core(2).transferLeadership(3);
    net.deliver();
    assert.equal(net.core(3).status().role, "leader");
    net.start(1);
    const before = net.sent.length;
    net.run(3);
    const rejections = net.sent.slice(before).filter((m) =>
      m.type === "appendResp" && m.reject && m.from === 1
    );
    assert.ok(rejections.length <= 2, `${rejections.length} rejections`);
    assert.deepEqual(terms(net, 1), terms(net, 3));
    assert.equal(net.appliedTexts(1).length, 30);
  });

  it("flow control: at most maxInflightAppends unacknowledged appends to a follower", () => {
    const net = new Network({
      voters: [1, 2],
      tuning: { maxInflightAppends: 2, maxEntriesPerAppend: 1 },
    });
    net.elect(1);
    net.filter = (m) => !(m.from === 2 && m.type === "appendResp");
    for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
    net.deliver();
    const appends = net.sent.filter((m) =>
      m.type === "append" && m.to === 2 && m.entries.length > 0 &&
      m.entries[0].index > 1
    );
    assert.equal(appends.length, 2);
    assert.equal(net.core(1).status().progress[2].inflight, 2);
    net.filter = () => true;
    net.run(12);
    assert.equal(net.appliedTexts(2).length, 10);
  });

  it("each append carries at most maxEntriesPerAppend entries", () => {
    const net = new Network({
      voters: [1, 2, 3],
      tuning: { maxEntriesPerAppend: 3 },
    });
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
    net.deliver();
    net.heal();
    net.run(3);
    const to3 = net.sent.filter((m) => m.type === "append" && m.to === 3);
    assert.ok(to3.every((m) => m.entries.length <= 3));
    assert.equal(net.appliedTexts(3).length, 10);
  });

  it("appends lost in replicate state are repaired after the follower answers a heartbeat", () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    assert.equal(net.core(1).status().progress[3].state, "replicate");
    net.filter = (m) => !(m.type === "append" && m.to === 3);
    net.propose(1, "x");
    net.deliver();
    assert.deepEqual(net.appliedTexts(3), []);
    net.filter = () => true;
    net.run(2);
    assert.deepEqual(net.appliedTexts(3), ["x"]);
  });

  it("followers learn the commit index and apply what the leader applied", () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    for (const t of ["a", "b"]) net.propose(1, t);
    net.run(2);
    for (const id of [1, 2, 3, 4, 5]) {
      assert.deepEqual(net.appliedTexts(id), ["a", "b"]);
      assert.equal(net.core(id).status().commit, 3);
    }
  });
});
