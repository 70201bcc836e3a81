import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeError, NotLeaderError } from "../../raft/errors.ts";
import { decodeConfChange, encodeConfChange } from "../../raft/conf_change.ts";
import type { ConfChange } from "../../raft/types.ts";
import { CoreCluster, testIncarnation } from "../../testing/raft/cores.ts";

function change(net: CoreCluster, leader: number, c: ConfChange): number {
  const index = net.core(leader).proposeConfChange(c);
  net.run(2);
  return index;
}

describe("membership changes", () => {
  it("a learner receives the log but its acknowledgements do not count towards commit", () => {
    // Leader 1 and learners 4 and 5 hold x: three of five members, but one of three voters.
    const net = new CoreCluster({ voters: [1, 2, 3], learners: [4, 5] });
    net.elect(1);
    net.stop(2);
    net.stop(3);
    const index = net.propose(1, "x");
    net.run(3);
    assert.equal(net.core(4).status().lastIndex, index, "learner 4 has x");
    assert.equal(net.core(5).status().lastIndex, index, "learner 5 has x");
    assert.ok(net.core(1).status().commit < index, "but x is not committed");
  });

  it("a learner never campaigns, yet grants a vote (it may be a voter in the candidate's configuration)", () => {
    const net = new CoreCluster({ voters: [1, 2], learners: [3] });
    net.tick(100, [3]);
    assert.equal(net.core(3).status().role, "follower");
    assert.equal(net.sent.filter((m) => m.from === 3).length, 0);
    net.core(3).step({
      type: "vote",
      from: 1,
      to: 3,
      term: 5,
      logTerm: 0,
      index: 1,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: null,
      incarnation: testIncarnation(1),
      toIncarnation: testIncarnation(3),
    });
    const [answer] = net.take((m) => m.from === 3);
    assert.equal(answer.reject, false);
  });

  it("a new node joins as a learner, reports caughtUp, and is promoted to a voter", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      extra: [4],
      tuning: { catchUpEntries: 2 },
    });
    net.elect(1);
    net.stop(4);
    for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
    net.run(1);
    change(net, 1, { type: "addLearner", nodeId: 4 });
    const { voters, learners } = net.core(1).status().conf;
    assert.deepEqual({ voters, learners }, {
      voters: [1, 2, 3],
      learners: [4],
    });
    assert.equal(net.core(1).status().progress[4].caughtUp, false);
    net.start(4);
    net.run(3);
    assert.equal(net.core(1).status().progress[4].caughtUp, true);
    assert.equal(net.appliedTexts(4).length, 10);
    change(net, 1, { type: "promote", nodeId: 4 });
    for (const id of [1, 2, 3, 4]) {
      assert.deepEqual(net.core(id).status().conf.voters, [1, 2, 3, 4]);
    }
    net.stop(2);
    net.stop(3);
    const index = net.propose(1, "needs 4");
    net.run(2);
    assert.ok(net.core(1).status().commit < index, "quorum of 4 is 3");
    net.start(2);
    net.run(3);
    assert.ok(net.core(1).status().commit >= index);
  });

  it("a learner that never answered is not caught up, and its promotion is refused, however short the log", () => {
    // An operator that only elects has a log of a handful of entries: the
    // match of a pod that never started (0) is within catchUpEntries of it.
    const net = new CoreCluster({ voters: [1, 2, 3], extra: [4] });
    net.elect(1);
    net.stop(4);
    net.run(1);
    change(net, 1, { type: "addLearner", nodeId: 4 });
    net.run(20);
    const p = net.core(1).status().progress[4];
    assert.equal(p.match, 0);
    assert.equal(p.caughtUp, false);
    assert.throws(
      () => net.core(1).proposeConfChange({ type: "promote", nodeId: 4 }),
      (e) =>
        e instanceof ConfChangeError &&
        /answered this leader|caught up/.test(e.message),
    );
    assert.deepEqual(net.core(1).status().conf.voters, [1, 2, 3]);
  });

  it("addVoter of a learner is a promotion: refused until it caught up, as promote is", () => {
    // The learner-promotion rule must not be skipped by naming the change
    // addVoter: a learner that stopped answering (or never caught up) would
    // count towards quorums while it cannot acknowledge anything.
    const net = new CoreCluster({ voters: [1, 2, 3], extra: [4] });
    net.elect(1);
    net.run(1);
    change(net, 1, { type: "addLearner", nodeId: 4 });
    net.run(2);
    const incarnation = net.core(4).status().incarnation;
    net.stop(4);
    net.run(10);
    assert.equal(net.core(1).status().progress[4].caughtUp, false);
    for (const c of [{}, { incarnation }]) {
      assert.throws(
        () =>
          net.core(1).proposeConfChange({ type: "addVoter", nodeId: 4, ...c }),
        (e) => e instanceof ConfChangeError && /caught up/.test(e.message),
      );
    }
    assert.deepEqual(net.core(1).status().conf.voters, [1, 2, 3]);
    net.start(4);
    net.run(2);
    assert.equal(net.core(1).status().progress[4].caughtUp, true);
    change(net, 1, { type: "addVoter", nodeId: 4 });
    assert.deepEqual(net.core(1).status().conf.voters, [1, 2, 3, 4]);
  });

  it("a learner that stopped answering more than an election timeout ago is no longer caught up", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], extra: [4] });
    net.elect(1);
    net.run(1);
    change(net, 1, { type: "addLearner", nodeId: 4 });
    net.run(2);
    assert.equal(net.core(1).status().progress[4].caughtUp, true);
    net.stop(4);
    net.run(9);
    assert.equal(net.core(1).status().progress[4].caughtUp, true, "9 ticks");
    net.run(1);
    assert.equal(net.core(1).status().progress[4].caughtUp, false, "10");
    assert.throws(
      () => net.core(1).proposeConfChange({ type: "promote", nodeId: 4 }),
      ConfChangeError,
    );
  });

  it("a leader that removes itself steps down once the removal is committed; the rest elect a leader", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    change(net, 1, { type: "remove", nodeId: 1 });
    assert.equal(net.core(1).status().role, "follower");
    assert.deepEqual(net.core(2).status().conf.voters, [2, 3]);
    net.run(40);
    const leaders = net.leaders();
    assert.equal(leaders.length, 1);
    assert.ok(leaders[0] === 2 || leaders[0] === 3);
    net.tick(100, [1]);
    assert.equal(net.core(1).status().role, "follower", "1 never campaigns");
  });

  it("a removed follower learns its removal, then gets nothing and never campaigns", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    change(net, 1, { type: "remove", nodeId: 3 });
    assert.deepEqual(
      net.core(3).status().conf.voters,
      [1, 2],
      "3 got the change",
    );
    assert.equal(Object.hasOwn(net.core(1).status().progress, 3), false);
    const before = net.sent.length;
    net.propose(1, "x");
    net.run(50);
    assert.ok(net.sent.slice(before).every((m) => m.to !== 3 && m.from !== 3));
  });

  it("a removed member's acknowledgements do not count while its removal is pending", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    net.stop(2);
    const index = net.core(1).proposeConfChange({ type: "remove", nodeId: 3 });
    net.run(3);
    assert.ok(net.core(1).status().commit < index, "quorum of {1, 2} needs 2");
    assert.equal(
      net.core(3).status().lastIndex,
      index,
      "3 still receives the log",
    );
  });

  it("a promoted learner can be elected once the leader is gone", () => {
    const net = new CoreCluster({ voters: [1, 2], learners: [3] });
    net.elect(1);
    net.run(1);
    change(net, 1, { type: "promote", nodeId: 3 });
    net.stop(1);
    net.tick(10, [2]);
    net.elect(3);
    assert.equal(net.core(3).status().role, "leader");
  });

  it("addVoter adds a member that votes at once", () => {
    const net = new CoreCluster({ voters: [1, 2], extra: [3] });
    net.elect(1);
    net.run(1);
    // A new voter must be named with its incarnation (the leader never heard
    // from a node outside the membership).
    assert.throws(
      () => net.core(1).proposeConfChange({ type: "addVoter", nodeId: 3 }),
      ConfChangeError,
    );
    change(net, 1, {
      type: "addVoter",
      nodeId: 3,
      incarnation: net.core(3).status().incarnation,
    });
    assert.deepEqual(net.core(3).status().conf.voters, [1, 2, 3]);
    net.stop(2);
    const index = net.propose(1, "x");
    net.run(2);
    assert.ok(
      net.core(1).status().commit >= index,
      "1 and 3 are a quorum of 3",
    );
  });

  it("refuses a change before the leader has committed an entry of its term", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.core(1).campaign();
    for (let i = 0; i < 4; i++) net.deliverOnce(); // pre-vote, vote: leader, no-op not acknowledged
    assert.equal(net.core(1).status().role, "leader");
    assert.throws(
      () => net.core(1).proposeConfChange({ type: "addLearner", nodeId: 4 }),
      (e) =>
        e instanceof ConfChangeError &&
        /committed an entry of its term/.test(e.message),
    );
  });

  it("refuses a second change while one is uncommitted", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    net.cut([1], [2, 3]);
    net.core(1).proposeConfChange({ type: "addLearner", nodeId: 4 });
    assert.throws(
      () => net.core(1).proposeConfChange({ type: "addLearner", nodeId: 5 }),
      (e) =>
        e instanceof ConfChangeError &&
        /uncommitted membership change/.test(e.message),
    );
  });

  it("refuses changes that do not apply, and refuses on a follower", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    const core = net.core(1);
    assert.throws(
      () => core.proposeConfChange({ type: "promote", nodeId: 2 }),
      ConfChangeError,
    );
    assert.throws(
      () => core.proposeConfChange({ type: "remove", nodeId: 9 }),
      ConfChangeError,
    );
    assert.throws(
      () => core.proposeConfChange({ type: "addLearner", nodeId: 3 }),
      ConfChangeError,
    );
    assert.throws(
      () => core.proposeConfChange({ type: "bogus", nodeId: 3 } as never),
      ConfChangeError,
    );
    assert.throws(
      () => net.core(2).proposeConfChange({ type: "addLearner", nodeId: 4 }),
      NotLeaderError,
    );
  });

  it("a follower uses the latest configuration in its log, and reverts when that entry is truncated", () => {
    const net = new CoreCluster({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.run(1);
    net.cut([1], [3, 4, 5]);
    net.core(1).proposeConfChange({ type: "addLearner", nodeId: 6 });
    net.deliver();
    assert.deepEqual(
      net.core(2).status().conf.learners,
      [6],
      "uncommitted, yet in force",
    );
    net.heal();
    net.stop(1);
    net.isolate(2);
    net.tick(10, [3, 4, 5]);
    // Out of their lease now; a node whose random timeout was as short
    // pre-campaigned too: drop those pre-votes, so node 3's campaign runs.
    net.take((m) => m.from !== 3);
    net.elect(3);
    assert.equal(net.core(3).status().role, "leader");
    net.propose(3, "overwrite");
    net.deliver();
    net.heal();
    net.run(3);
    assert.deepEqual(
      net.core(2).status().conf.learners,
      [],
      "the change was truncated",
    );
    assert.deepEqual(net.appliedTexts(2), ["overwrite"]);
  });
});

describe("conf change codec", () => {
  it("round-trips every change type", () => {
    for (
      const type of ["addLearner", "promote", "addVoter", "remove"] as const
    ) {
      assert.deepEqual(
        decodeConfChange(encodeConfChange({ type, nodeId: 7 })),
        {
          type,
          nodeId: 7,
        },
      );
    }
  });

  it("refuses malformed data with a clear error", () => {
    const bad = [
      new Uint8Array([0xff, 0xfe]),
      new TextEncoder().encode("[1]"),
      new TextEncoder().encode('{"type":"nuke","nodeId":1}'),
      new TextEncoder().encode('{"type":"remove","nodeId":-1}'),
      new TextEncoder().encode('{"type":"remove"}'),
      new Uint8Array(1000),
    ];
    for (const data of bad) {
      assert.throws(
        () => decodeConfChange(data),
        (e) => e instanceof ConfChangeError && /^Expected/.test(e.message),
      );
    }
    assert.throws(
      () => encodeConfChange({ type: "remove", nodeId: 1.5 }),
      ConfChangeError,
    );
  });
});
