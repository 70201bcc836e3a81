import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NotLeaderError, RaftError } from "../../raft/errors.ts";
import { CoreCluster } from "../../testing/raft/cores.ts";

const ELECTION = 10;

describe("leadership transfer", () => {
  it("a caught-up follower gets timeoutNow and wins the next term at once", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(2);
    net.core(1).transferLeadership(2);
    net.deliver();
    assert.equal(net.core(2).status().role, "leader");
    assert.equal(net.core(2).status().term, 2);
    assert.equal(net.core(1).status().role, "follower");
    assert.equal(net.core(1).status().leader, 2);
    const votes = net.sent.filter((m) => m.type === "vote" && m.term === 2);
    assert.ok(votes.length > 0 && votes.every((m) => m.transfer === true));
  });

  it("a transfer-initiated campaign is not refused by followers that still hear from the leader", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(2); // 3 has just heard from 1: it is sticky to 1
    net.core(1).transferLeadership(2);
    net.deliver();
    const grant = net.sent.find((m) =>
      m.type === "voteResp" && m.from === 3 && m.to === 2
    );
    assert.equal(grant?.reject, false);
  });

  it("a lagging target is caught up first, then sent timeoutNow", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(2);
    net.propose(1, "x");
    net.deliver();
    net.heal();
    net.core(1).transferLeadership(2);
    const first = net.take(() => true);
    assert.ok(first.every((m) => m.type !== "timeoutNow"));
    for (const m of first) net.cores.get(m.to)?.step(m);
    net.deliver();
    assert.equal(net.core(2).status().role, "leader");
    assert.deepEqual(net.appliedTexts(2), ["x"]);
  });

  it("proposals are refused while transferring, with the transferee as hint", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(2);
    net.core(1).transferLeadership(2);
    assert.throws(
      () => net.propose(1, "x"),
      (e) => e instanceof NotLeaderError && e.leader === 2,
    );
  });

  it("a transfer to an unreachable node is abandoned after an election timeout", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(2);
    net.core(1).transferLeadership(2);
    net.run(10);
    assert.equal(net.core(1).status().role, "leader");
    assert.equal(net.core(1).status().transferee, null);
    assert.equal(typeof net.propose(1, "x"), "number");
  });

  it("an abandoned transfer ends the lease for at most an election timeout", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(2);
    assert.ok(net.core(1).leaseTicks()! <= 1);
    // 2 is caught up: timeoutNow leaves at once, and is lost.
    net.filter = (m) => m.type !== "timeoutNow";
    net.core(1).transferLeadership(2);
    net.flush();
    assert.ok(net.sent.some((m) => m.type === "timeoutNow" && m.to === 2));
    const leased: number[] = [];
    for (let t = 1; t <= 30; t++) {
      net.run(1);
      if (net.core(1).leaseTicks()! < ELECTION - 2) leased.push(t);
    }
    assert.equal(net.core(1).status().role, "leader");
    assert.equal(net.core(1).status().term, 1, "no election happened");
    assert.equal(net.core(1).status().transferee, null, "abandoned");
    assert.ok(leased.length > 0, "the leader holds a lease again");
    assert.ok(
      leased[0] >= ELECTION && leased[0] <= ELECTION + 2,
      `not while the target might still win, then within two ticks: first at tick ${
        leased[0]
      }`,
    );
    assert.deepEqual(
      leased,
      Array.from({ length: 31 - leased[0] }, (_, i) => leased[0] + i),
      "and keeps it",
    );
  });

  it("after a timeoutNow sent late in a transfer, the lease resumes only an election timeout after it", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(2);
    net.isolate(2);
    net.propose(1, "x");
    net.core(1).transferLeadership(2);
    net.run(ELECTION - 2);
    // 2 returns just before the transfer would be abandoned: it catches up,
    // and the timeoutNow it is then sent is lost.
    net.filter = (m) => m.type !== "timeoutNow";
    net.heal();
    let sentAt = -1;
    const leasedAt: number[] = [];
    for (let t = 1; t <= 30; t++) {
      net.run(1);
      if (sentAt < 0 && net.sent.some((m) => m.type === "timeoutNow")) {
        sentAt = t;
      }
      if (net.core(1).leaseTicks()! < ELECTION - 2) leasedAt.push(t);
    }
    assert.ok(sentAt > 0, "timeoutNow was sent");
    assert.equal(net.core(1).status().transferee, null, "abandoned");
    assert.ok(leasedAt.length > 0, "the lease came back");
    assert.ok(
      leasedAt[0] >= sentAt + ELECTION,
      `no lease within an election timeout of the timeoutNow (sent at ${sentAt}, lease at ${
        leasedAt[0]
      })`,
    );
  });

  it("refuses a target that is not a voter, and refuses on a follower", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    assert.throws(() => net.core(1).transferLeadership(9), RaftError);
    assert.throws(
      () => net.core(2).transferLeadership(3),
      (e) => e instanceof NotLeaderError && e.leader === 1,
    );
  });

  it("a timeoutNow from a node that is not the leader is ignored", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.core(2).step({
      type: "timeoutNow",
      from: 3,
      to: 2,
      term: 1,
      logTerm: 0,
      index: 0,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: null,
    });
    assert.equal(net.core(2).status().role, "follower");
    assert.equal(net.core(2).status().term, 1);
  });
});
