import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../raft/types.ts";
import { CoreCluster, testIncarnation } from "../../testing/raft/cores.ts";
import { below, seeded } from "../../testing/raft/random.ts";

const ELECTION = 10;

describe("leader lease", () => {
  it("is null on followers and candidates", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    assert.equal(net.core(1).leaseTicks(), null);
    net.elect(1);
    assert.equal(net.core(2).leaseTicks(), null);
  });

  it("is not granted by votes alone: a new leader has no lease until a quorum answers it in its term", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.filter = (m) => m.type !== "appendResp" && m.type !== "heartbeatResp";
    net.elect(1);
    assert.equal(net.core(1).status().role, "leader");
    assert.ok(net.core(1).leaseTicks()! >= ELECTION);
    net.filter = () => true;
    net.run(1);
    assert.ok(net.core(1).leaseTicks()! <= 1);
  });

  it("is granted one round trip after the election: the new leader heartbeats with its first append, not a tick later", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.run(3);
    net.elect(1);
    // No tick since the election: only the heartbeat sent with it was answered.
    assert.equal(net.core(1).status().role, "leader");
    assert.equal(net.core(1).leaseTicks(), 0);
  });

  it("stays fresh while a majority answers, and ages tick by tick when it does not", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.run(20);
    assert.ok(net.core(1).leaseTicks()! <= 1, "1 and 2 are a majority");
    net.isolate(1);
    const start = net.core(1).leaseTicks()!;
    net.run(4);
    assert.equal(net.core(1).leaseTicks(), start + 4);
  });

  it("counts the quorum-th most recent acknowledgement (leader counting as now)", () => {
    const net = new CoreCluster({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.run(1);
    net.cut([1], [4, 5]);
    net.run(3);
    net.cut([1], [3]);
    net.run(2);
    // 2 answered now, 3 two ticks ago, 4 and 5 five ticks ago: quorum 3 -> 2.
    assert.equal(net.core(1).leaseTicks(), 2);
  });

  it("while the lease holds, no other node can be elected (leader stickiness)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new CoreCluster({ voters: [1, 2, 3, 4, 5], seed });
      net.elect(1);
      net.run(2);
      net.isolate(1);
      for (let t = 0; t < 60; t++) {
        net.tick(1);
        net.deliver();
        const others = net.leaders().filter((id) => id !== 1);
        if (others.length > 0) {
          assert.ok(
            net.core(1).leaseTicks() === null ||
              net.core(1).leaseTicks()! >= ELECTION,
            `seed ${seed}: node ${others[0]} elected while 1's lease is ${
              net.core(1).leaseTicks()
            }`,
          );
        }
      }
      assert.equal(net.leaders().filter((id) => id !== 1).length, 1);
    }
  });

  it("followers that hear from the leader refuse a node that cannot reach it (partial partition)", () => {
    const net = new CoreCluster({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.cut([1], [4, 5]);
    for (let t = 0; t < 60; t++) {
      net.run(1);
      assert.deepEqual(net.leaders(), [1]);
      assert.ok(net.core(1).leaseTicks()! <= 1);
    }
    assert.equal(net.core(2).status().term, 1);
  });

  it("a restarted follower ignores vote requests for an election timeout", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    net.stop(2);
    net.start(2);
    net.isolate(1);
    const preVote = {
      type: "preVote" as const,
      from: 3,
      to: 2,
      term: 2,
      logTerm: 1,
      index: net.core(3).status().lastIndex,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: null,
      incarnation: testIncarnation(3),
      toIncarnation: testIncarnation(2),
    };
    net.core(2).step(preVote);
    assert.equal(net.take((m) => m.from === 2).length, 0, "ignored");
    net.tick(10, [2]);
    net.take(() => true);
    net.core(2).step(preVote);
    const [answer] = net.take((m) => m.from === 2);
    assert.equal(answer.type, "preVoteResp");
    assert.equal(answer.reject, false);
  });

  it("with message delays up to D ticks, no leader is elected while an older leader's lease (electionTicks - D) runs", () => {
    const D = 3;
    let elections = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const random = seeded(seed);
      const net = new CoreCluster({ voters: [1, 2, 3, 4, 5], seed });
      const pending: { at: number; m: Message }[] = [];
      const leaderOfTerm = new Map<number, number>();
      /** Per term, the first tick at which its leader may no longer act. */
      const leaseEnds = new Map<number, number>();
      for (let now = 0; now < 400; now++) {
        if (now % 40 === 0) {
          net.heal();
          const leader = net.leaders()[0];
          const victim = leader !== undefined && random() < 0.6
            ? leader
            : 1 + below(random, 5);
          net.cut([victim], [1, 2, 3, 4, 5].filter((id) => id !== victim));
        }
        net.tick(1);
        for (const m of net.take(() => true)) {
          pending.push({ at: now + 1 + below(random, D), m });
        }
        const due = pending.filter((p) => p.at <= now);
        for (const p of due) pending.splice(pending.indexOf(p), 1);
        for (const { m } of due) net.cores.get(m.to)?.step(m);
        net.flush();
        for (const id of net.leaders()) {
          const { term } = net.core(id).status();
          if (!leaderOfTerm.has(term)) {
            leaderOfTerm.set(term, id);
            elections++;
            for (const [older, end] of leaseEnds) {
              assert.ok(
                older >= term || end <= now,
                `seed ${seed} tick ${now}: ${id} leads term ${term} while the lease of term ${older} runs until ${end}`,
              );
            }
          }
          const lease = net.core(id).leaseTicks()!;
          if (lease < ELECTION - D) {
            const end = now + (ELECTION - D - lease);
            leaseEnds.set(term, Math.max(leaseEnds.get(term) ?? 0, end));
          }
        }
      }
    }
    assert.ok(elections > 60, `${elections} elections`);
  });

  it("is void once a timeoutNow was sent in this term", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(2);
    assert.ok(net.core(1).leaseTicks()! < ELECTION);
    net.filter = (m) => m.type !== "timeoutNow";
    net.core(1).transferLeadership(2);
    net.deliver();
    net.run(1);
    assert.equal(net.core(1).status().role, "leader");
    assert.ok(net.core(1).leaseTicks()! >= ELECTION);
  });

  it("per-member acknowledgement ages are reported in status", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.run(3);
    const progress = net.core(1).status().progress;
    assert.equal(progress[2].ticksSinceAck, 0);
    assert.equal(progress[3].ticksSinceAck, 3);
  });
});
