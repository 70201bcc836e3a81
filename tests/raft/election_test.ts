import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import { CoreCluster } from "../../testing/raft/cores.ts";

const EMPTY = {
  hardState: { term: 0, vote: null, commit: 0 },
  snapshot: null,
  entries: [],
};

describe("leader election", () => {
  it("a campaigning node becomes leader of a three-node cluster in term 1", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    assert.deepEqual(
      [1, 2, 3].map((id) => net.core(id).status().leader),
      [1, 1, 1],
    );
    assert.equal(net.core(1).status().role, "leader");
    assert.equal(net.core(1).status().term, 1);
    assert.equal(net.core(2).status().vote, 1);
  });

  it("a single-node cluster elects itself without messages", () => {
    const net = new CoreCluster({ voters: [1] });
    net.core(1).campaign();
    net.flush();
    assert.equal(net.core(1).status().role, "leader");
    assert.equal(net.queue.length, 0);
  });

  it("someone is elected by ticking alone, with randomized timeouts", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], seed: 7 });
    net.run(25);
    assert.equal(net.leaders().length, 1);
  });

  it("randomized timeouts fall in [electionTicks, 2 * electionTicks)", () => {
    for (const r of [0, 0.5, 0.9999]) {
      const core = new RaftCore({
        id: 1,
        state: EMPTY,
        bootstrap: { voters: [1, 2, 3], learners: [] },
        random: () => r,
        electionTicks: 10,
      });
      // A pristine voter of the bootstrap membership probes the others at
      // its election timeout (it campaigns once it holds a log).
      let ticks = 0;
      for (let sent = false; !sent && ticks < 100;) {
        core.tick();
        ticks++;
        if (core.hasReady()) {
          sent = core.ready().messages.some((m) => m.type === "probe");
          core.advance();
        }
      }
      assert.equal(ticks, 10 + Math.floor(r * 10));
    }
  });

  it("a voter refuses a candidate whose log is less up to date (§5.4.1)", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.propose(1, "x");
    net.deliver();
    net.heal();
    net.stop(1);
    net.tick(10, [2]); // 2 no longer hears from 1: no stickiness
    net.core(3).campaign();
    net.deliver();
    assert.notEqual(net.core(3).status().role, "leader");
    net.core(2).campaign();
    net.deliver();
    assert.equal(net.core(2).status().role, "leader");
    assert.deepEqual(net.appliedTexts(2), ["x"]);
  });

  it("a follower that votes for a candidate does not vote for another in that term", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false },
    });
    net.core(1).campaign();
    net.take((m) => m.to === 3);
    net.deliverOnce(); // 2 votes for 1
    assert.equal(net.core(2).status().vote, 1);
    net.take(() => true);
    net.core(3).campaign(); // term 1 as well
    const asks = net.take((m) => m.type === "vote" && m.to === 2);
    assert.equal(asks[0].term, 1);
    net.core(2).step(asks[0]);
    const [answer] = net.take((m) => m.type === "voteResp" && m.to === 3);
    assert.equal(answer.reject, true);
  });
});

describe("pre-vote", () => {
  it("a partitioned node does not raise its term and does not disrupt the leader on return", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.run(50);
    assert.equal(net.core(3).status().term, 1, "pre-votes keep the term");
    assert.equal(net.core(3).status().role, "preCandidate");
    net.heal();
    net.run(5);
    assert.equal(net.core(1).status().role, "leader");
    assert.equal(net.core(1).status().term, 1);
    assert.equal(net.core(3).status().leader, 1);
  });

  it("without pre-vote the returning node bumps the term and forces a new election", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false, checkQuorum: false },
    });
    net.elect(1);
    net.isolate(3);
    net.run(50);
    assert.ok(net.core(3).status().term > 1);
    net.heal();
    net.run(30);
    assert.ok(net.core(1).status().term > 1);
  });

  it("a pre-vote round that wins is followed by a real election in term + 1", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.core(2).campaign();
    assert.equal(net.core(2).status().role, "preCandidate");
    assert.equal(net.core(2).status().term, 0);
    const preVotes = net.take((m) => m.type === "preVote");
    assert.deepEqual(preVotes.map((m) => [m.to, m.term]), [[1, 1], [3, 1]]);
    for (const m of preVotes) net.core(m.to).step(m);
    net.deliver();
    assert.equal(net.core(2).status().role, "leader");
    assert.equal(net.core(2).status().term, 1);
  });

  it("a refused pre-vote changes no one's term, so the next election is in term + 1", () => {
    // No check-quorum, so no leader stickiness: node 2 answers at once.
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { checkQuorum: false },
    });
    net.elect(1);
    net.isolate(3);
    net.propose(1, "x");
    net.deliver();
    net.stop(1);
    net.heal();
    net.core(3).campaign();
    const preVotes = net.take((m) => m.type === "preVote" && m.to === 2);
    assert.deepEqual(preVotes.map((m) => m.term), [2]);
    net.core(2).step(preVotes[0]);
    net.flush();
    assert.equal(net.core(2).status().term, 1, "a pre-vote is not a vote");
    assert.deepEqual(
      net.take((m) => m.type === "preVoteResp").map((m) => [m.from, m.reject]),
      [[2, true]],
      "3 lacks x, so 2 refuses",
    );
    net.elect(2);
    assert.equal(net.core(2).status().role, "leader");
    assert.equal(net.core(2).status().term, 2);
  });
});

describe("check-quorum", () => {
  it("a leader cut off from the majority steps down after an election timeout", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.run(21);
    assert.equal(net.core(1).status().role, "follower");
    assert.equal(net.core(1).status().leader, null);
  });

  it("a leader that hears from a majority keeps leading", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.run(40);
    assert.equal(net.core(1).status().role, "leader");
  });

  it("with check-quorum off an isolated leader keeps its role", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { checkQuorum: false },
    });
    net.elect(1);
    net.isolate(1);
    net.run(40);
    assert.equal(net.core(1).status().role, "leader");
  });

  it("a deposed leader that returns learns the newer term from its followers' answers and steps down", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { checkQuorum: false },
    });
    net.elect(1);
    net.isolate(1);
    net.tick(10, [2, 3]);
    net.elect(2);
    net.heal();
    net.tick(1, [1]);
    net.deliver();
    assert.equal(net.core(1).status().role, "follower");
    assert.equal(net.core(1).status().term, 2);
    assert.deepEqual(net.leaders(), [2]);
  });

  it("leader stickiness: a follower that hears from its leader ignores vote requests", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false },
    });
    net.elect(1);
    net.run(3);
    net.cut([3], [1]);
    net.core(3).campaign(); // term 2
    net.deliver();
    assert.equal(
      net.core(2).status().term,
      1,
      "2 ignored the higher-term vote",
    );
    assert.equal(net.core(2).status().leader, 1);
    assert.notEqual(net.core(3).status().role, "leader");
  });

  it("a follower that has not heard from a leader for an election timeout grants votes", () => {
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false },
    });
    net.elect(1);
    net.stop(1);
    net.tick(10, [2]);
    net.core(3).campaign();
    net.deliver();
    assert.equal(net.core(3).status().role, "leader");
  });
});
