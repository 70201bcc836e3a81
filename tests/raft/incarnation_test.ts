/**
 * Disk loss (issue 12, defect 7): a member that lost its state while others
 * kept theirs counts toward no quorum until it is a voter again, and a new
 * cluster is bootstrapped only when every member reports it holds nothing.
 * Scenario tests on the core; the simulator (`tests/sim/`) runs the same
 * faults under every schedule.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import {
  decodeConfChange,
  decodeConfState,
  encodeConfChange,
  encodeConfState,
} from "../../raft/conf_change.ts";
import { ConfChangeError } from "../../raft/errors.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import type { Message } from "../../raft/types.ts";
import { CoreCluster, testIncarnation } from "../../testing/raft/cores.ts";

/** A core that ignores incarnations, as k8s-operator 0.1.0 did. */
class IgnoresIncarnations extends RaftCore {
  protected override incarnationMatches(): boolean {
    return true;
  }
}

describe("a member that lost its state", () => {
  for (const broken of [false, true]) {
    it(
      `${
        broken ? "(a core that ignores incarnations) does" : "does not"
      } count towards a commit before it is a voter again`,
      () => {
        // 1 leads; 2 is cut off; 3 loses its disk and restarts empty. An
        // entry on 1 and on the new 3 must not be committed: the old 3 may
        // have held entries the new one lacks.
        const net = new CoreCluster({
          voters: [1, 2, 3],
          factory: broken ? (o) => new IgnoresIncarnations(o) : undefined,
        });
        net.elect(1);
        net.run(1);
        net.cut([1, 3], [2]);
        net.wipe(3);
        const index = net.propose(1, "x");
        net.run(20);
        if (broken) {
          assert.ok(net.core(1).status().commit >= index, "the broken core");
        } else {
          assert.ok(net.core(1).status().commit < index, "not committed");
          assert.deepEqual(net.appliedTexts(1), []);
        }
      },
    );
  }

  it("cannot vote twice in a term it voted in before it lost its disk", () => {
    // 3 votes for 1 in term 1, loses its disk, and is asked again in the
    // same term by 2. Its vote for 2 must not count: 1 and 2 would both
    // lead term 1.
    const net = new CoreCluster({
      voters: [1, 2, 3],
      tuning: { preVote: false },
    });
    net.core(1).campaign();
    const toThree = net.take((m) => m.type === "vote" && m.to === 3);
    net.take(() => true);
    net.core(3).step(toThree[0]);
    assert.equal(net.core(3).status().vote, 1);
    net.take(() => true);
    net.wipe(3);
    net.core(2).campaign(); // term 1 too: 2 had not heard of 1's campaign
    const asks = net.take((m) => m.type === "vote" && m.to === 3);
    assert.equal(asks[0].term, 1);
    assert.equal(asks[0].toIncarnation, testIncarnation(3));
    net.core(3).step(asks[0]);
    assert.deepEqual(
      net.take((m) => m.from === 3 && m.type === "voteResp"),
      [],
      "the request was for the old incarnation: the new one does not answer",
    );
    // Even a grant from the new incarnation would not count for 2.
    net.core(2).step({
      ...asks[0],
      type: "voteResp",
      from: 3,
      to: 2,
      incarnation: net.core(3).status().incarnation,
      toIncarnation: testIncarnation(2),
    });
    assert.equal(net.core(2).status().role, "candidate");
  });

  it("does not acknowledge a stale leader's appends meant for its old incarnation", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    net.cut([1], [2]);
    const index = net.propose(1, "stale");
    const appends = net.take((m) => m.type === "append" && m.to === 3);
    net.wipe(3);
    assert.ok(appends.length > 0);
    for (const m of appends) net.core(3).step(m);
    const answers = net.take((m) => m.from === 3);
    assert.ok(answers.every((m) => m.type === "probeResp"), "only a notice");
    for (const m of answers) net.core(1).step(m);
    assert.ok(net.core(1).status().commit < index);
  });

  it("is re-added by the leader as a learner with its new incarnation, then promoted once caught up", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, "a");
    net.run(2);
    const fresh = net.wipe(3).status().incarnation;
    const seen: string[] = [];
    for (let t = 0; t < 30; t++) {
      net.run(1);
      const conf = net.core(1).status().conf;
      const state = conf.voters.includes(3)
        ? conf.incarnations?.[3] === fresh ? "voter" : "old voter"
        : conf.learners.includes(3)
        ? "learner"
        : "absent";
      if (seen.at(-1) !== state) seen.push(state);
    }
    assert.deepEqual(seen, ["old voter", "learner", "voter"]);
    assert.deepEqual(net.appliedTexts(3), ["a"]);
    assert.equal(net.core(3).status().pristine, false);
  });

  it("never bootstraps a second cluster alone: members that hold a log say so", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    net.cut([3], [1]); // 3 hears only from 2, which holds a log
    net.wipe(3);
    for (let t = 0; t < 60; t++) {
      net.run(1);
      assert.notEqual(net.core(3).status().role, "leader");
      assert.notEqual(net.core(3).status().role, "candidate");
    }
    const answers = net.sent.filter((m) =>
      m.type === "probeResp" && m.to === 3
    );
    assert.ok(answers.length > 0 && answers.every((m) => m.reject));
    assert.equal(net.core(3).status().pristine, true);
  });
});

describe("a whole cluster that lost its state at once", () => {
  it("bootstraps a new one, recording every member's incarnation in its first entry", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], pristine: true });
    for (let t = 0; t < 100 && net.leaders().length === 0; t++) net.run(1);
    const [leader] = net.leaders();
    assert.ok(leader !== undefined, "a leader within 100 ticks");
    net.run(2);
    for (const id of [1, 2, 3]) {
      const [first] = net.storages.get(id)!.load().entries;
      assert.equal(first.type, "bootstrap");
      const conf = decodeConfState(first.data);
      assert.deepEqual(conf.voters, [1, 2, 3]);
      for (const v of [1, 2, 3]) {
        assert.equal(conf.incarnations?.[v], net.core(v).status().incarnation);
      }
    }
    net.propose(leader, "fresh");
    net.run(2);
    for (const id of [1, 2, 3]) {
      assert.deepEqual(net.appliedTexts(id), ["fresh"]);
    }
  });

  it("waits, however long, while one member is missing: no timeout starts a cluster", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], pristine: true });
    net.stop(3);
    net.run(500);
    assert.deepEqual(net.leaders(), []);
    for (const id of [1, 2]) {
      assert.equal(net.core(id).status().pristine, true);
      assert.equal(net.core(id).status().term, 0, "no election was held");
    }
    net.start(3);
    for (let t = 0; t < 100 && net.leaders().length === 0; t++) net.run(1);
    assert.equal(net.leaders().length, 1);
  });

  it("does not bootstrap while a member outside the initial membership holds a log: it is heard from, and asked", () => {
    // 4 joined later (a scale-up) as a voter and kept its log; 1, 2 and 3
    // lost theirs. 4 campaigns (it has no leader), so they hear from it.
    const net = new CoreCluster({ voters: [1, 2, 3], extra: [4] });
    net.elect(1);
    net.core(1).proposeConfChange({ type: "addLearner", nodeId: 4 });
    net.run(5);
    net.core(1).proposeConfChange({ type: "promote", nodeId: 4 });
    net.run(5);
    assert.deepEqual(net.core(4).status().conf.voters, [1, 2, 3, 4]);
    for (const id of [1, 2, 3]) net.wipe(id);
    net.run(300);
    assert.deepEqual(net.leaders(), []);
    for (const id of [1, 2, 3]) {
      assert.ok(
        net.sent.some((m) =>
          m.type === "probeResp" && m.from === 4 && m.to === id && m.reject
        ),
        `4 told ${id} that it holds a log`,
      );
    }
  });

  it("a member wiped after its bootstrap vote is re-added by the new leader as its new incarnation", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], pristine: true });
    net.tick(20); // a bootstrap waits two election timeouts after a start
    net.take(() => true);
    net.core(1).campaign(); // probes
    net.deliverOnce(); // probes reach 2 and 3
    net.deliverOnce(); // answers reach 1: it asks for bootstrap votes
    net.deliverOnce(); // 2 and 3 grant
    const grants = net.take((m) => m.type === "voteResp");
    assert.equal(grants.length, 2);
    const old = net.core(3).status().incarnation;
    const fresh = net.wipe(3).status().incarnation;
    for (const m of grants) net.core(1).step(m);
    assert.equal(net.core(1).status().role, "leader");
    net.flush();
    const first = decodeConfState(net.storages.get(1)!.load().entries[0].data);
    assert.equal(first.incarnations?.[3], old, "it voted as the old one");
    for (let t = 0; t < 40; t++) net.run(1);
    const conf = net.core(1).status().conf;
    assert.ok(conf.voters.includes(3));
    assert.equal(conf.incarnations?.[3], fresh);
  });

  it("the bootstrap leader's first append carries the membership to each follower", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], pristine: true });
    net.tick(20); // a bootstrap waits two election timeouts after a start
    net.take(() => true);
    net.core(1).campaign(); // probes
    net.deliverOnce(); // probes reach 2 and 3
    net.deliverOnce(); // answers reach 1: it asks for bootstrap votes
    net.deliverOnce(); // 2 and 3 grant
    net.deliverOnce(); // 1 leads
    assert.equal(net.core(1).status().role, "leader");
    const appends = net.take((m) => m.type === "append" && m.from === 1);
    assert.deepEqual(appends.map((m) => m.to).sort(), [2, 3]);
    for (const m of appends) {
      // Before: an append after index 1, refused by the empty follower,
      // which stayed without a membership a round trip longer.
      assert.equal(m.index, 0);
      assert.equal(m.entries[0]?.type, "bootstrap");
      net.core(m.to).step(m);
      assert.equal(net.core(m.to).status().pristine, false);
    }
  });

  it("a pristine node that voted forgets the answers it gathered before: a late one starts no bootstrap against the leader it voted for", () => {
    const net = new CoreCluster({ voters: [1, 2, 3], pristine: true });
    net.tick(20);
    net.take(() => true);
    net.core(2).campaign(); // 2 probes...
    net.deliverOnce();
    const late = net.take((m) => m.type === "probeResp" && m.to === 2);
    assert.equal(late.length, 2, "...and its answers are held up");
    net.core(1).campaign();
    for (let i = 0; i < 4; i++) net.deliverOnce();
    assert.equal(net.core(1).status().role, "leader");
    const term = net.core(1).status().term;
    net.core(2).tick(); // not a leader message yet: it only voted
    for (const m of late) net.core(2).step(m);
    // Before: 2 started a bootstrap election in a higher term, and its
    // answer to the leader's append deposed the leader.
    assert.equal(net.core(2).status().role, "follower");
    assert.equal(net.core(2).status().term, term);
    net.run(3);
    assert.deepEqual(net.leaders(), [1]);
    assert.equal(net.core(1).status().term, term);
  });

  it("a replayed pristine answer from a member that now holds a log starts nothing: it ignores the bootstrap vote and keeps its term", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    const term = net.core(2).status().term;
    const lone = net.wipe(3);
    // An old answer of 2, from when it was empty, and one of 1, replayed.
    for (const from of [1, 2]) {
      lone.step({
        type: "probeResp",
        from,
        to: 3,
        term: 0,
        logTerm: 0,
        index: 1,
        commit: 0,
        entries: [],
        reject: false,
        rejectHint: 0,
        snapshot: null,
        incarnation: testIncarnation(from),
        toIncarnation: lone.status().incarnation,
      });
    }
    lone.campaign();
    lone.step({
      type: "probeResp",
      from: 2,
      to: 3,
      term: 0,
      logTerm: 0,
      index: 1,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      snapshot: null,
      incarnation: testIncarnation(2),
      toIncarnation: lone.status().incarnation,
    });
    const bootstrapVotes = net.take((m) =>
      m.from === 3 && m.bootstrap === true
    );
    for (const m of bootstrapVotes) net.core(m.to).step(m);
    assert.equal(net.core(2).status().term, term, "its term did not move");
    assert.deepEqual(
      net.take((m) => m.to === 3 && m.type === "voteResp"),
      [],
      "nobody granted",
    );
    assert.notEqual(lone.status().role, "leader");
  });
});

describe("incarnations in storage and on the wire", () => {
  it("a memory storage keeps the incarnation the core hands it; a new one has none", () => {
    const storage = new MemoryStorage();
    assert.equal(storage.load().incarnation, undefined);
    const core = new RaftCore({
      id: 1,
      state: storage.load(),
      bootstrap: { voters: [1], learners: [] },
      random: () => 0.5,
      incarnation: 42,
    });
    const ready = core.ready();
    storage.save({ ...ready, snapshot: null });
    assert.equal(storage.load().incarnation, 42);
    const again = new RaftCore({
      id: 1,
      state: storage.load(),
      bootstrap: { voters: [1], learners: [] },
      random: () => 0.5,
    });
    assert.equal(again.status().incarnation, 42);
  });

  it("every message names its sender's incarnation and the receiver's as the sender knows it", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(2);
    const checked = net.sent.filter((m: Message) => m.type !== "probe");
    assert.ok(checked.length > 10);
    for (const m of checked) {
      assert.equal(m.incarnation, testIncarnation(m.from));
      assert.equal(m.toIncarnation, testIncarnation(m.to));
    }
  });

  it("membership encodings carry format version 2 and refuse version 1, naming both", () => {
    const change = { type: "rejoin" as const, nodeId: 3, incarnation: 9 };
    assert.deepEqual(decodeConfChange(encodeConfChange(change)), change);
    const conf = {
      voters: [1, 2],
      learners: [3],
      incarnations: { 1: 5, 2: 6 },
    };
    assert.deepEqual(decodeConfState(encodeConfState(conf)), conf);
    const old = new TextEncoder().encode('{"type":"promote","nodeId":3}');
    assert.throws(
      () => decodeConfChange(old),
      (e) =>
        e instanceof ConfChangeError && /version 2/.test(e.message) &&
        /version 1 \(k8s-operator 0\.1\.0/.test(e.message),
    );
    assert.throws(
      () => encodeConfChange({ type: "rejoin", nodeId: 3 }),
      ConfChangeError,
    );
    assert.throws(
      () => encodeConfState({ voters: [1, 2], learners: [] }),
      (e) => e instanceof ConfChangeError && /incarnation/.test(e.message),
    );
  });
});
