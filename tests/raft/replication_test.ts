import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import type { Entry, Message } from "../../raft/types.ts";
import {
  CoreCluster,
  memberState,
  testIncarnation,
} from "../../testing/raft/cores.ts";

function terms(net: CoreCluster, id: number): number[] {
  return net.storages.get(id)!.load().entries.map((e) => e.term);
}

describe("log replication", () => {
  it("a follower that was partitioned catches up once the partition heals", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
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
    const net = new CoreCluster({ voters: [1, 2, 3] });
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
    // Follower 2 holds x and an uncommitted entry of term 1 at index 4; the
    // leader of term 2 holds x, then entries 4 and 5 of its own term, committed.
    const entry = (term: number, index: number, text: string): Entry => ({
      term,
      index,
      type: "normal",
      data: new TextEncoder().encode(text),
    });
    const bootstrap = { voters: [1, 2, 3], learners: [] };
    const follower = new RaftCore({
      id: 2,
      state: memberState(2, bootstrap, {
        hardState: { term: 1, vote: 1, commit: 2 },
        entries: [entry(1, 2, "a"), entry(1, 3, "x"), entry(1, 4, "stale")],
      }),
      bootstrap,
      random: () => 0.5,
      applied: 2,
    });
    const append = (index: number, entries: Entry[]): Message => ({
      type: "append",
      from: 3,
      to: 2,
      term: 2,
      index,
      logTerm: 1,
      entries,
      commit: 5,
      reject: false,
      rejectHint: 0,
      snapshot: null,
      incarnation: testIncarnation(3),
      toIncarnation: testIncarnation(2),
    });
    const applied = () =>
      follower.ready().committedEntries.map((e) =>
        new TextDecoder().decode(e.data)
      );
    // An append that stops at index 3 (delayed, or capped by maxEntriesPerAppend).
    follower.step(append(2, [entry(1, 3, "x")]));
    assert.equal(follower.status().commit, 3);
    assert.deepEqual(applied(), ["x"]);
    follower.advance();
    follower.step(append(3, [entry(2, 4, "y"), entry(2, 5, "z")]));
    assert.equal(follower.status().commit, 5);
    assert.deepEqual(applied(), ["y", "z"]);
  });

  it("a heartbeat tells a lagging follower the leader's whole commit index, which it commits only as far as an append proved", () => {
    const entry = (term: number, index: number, text: string): Entry => ({
      term,
      index,
      type: "normal",
      data: new TextEncoder().encode(text),
    });
    const bootstrap = { voters: [1, 2, 3], learners: [] };
    const follower = new RaftCore({
      id: 2,
      state: memberState(2, bootstrap, {
        hardState: { term: 1, vote: 1, commit: 2 },
        entries: [entry(1, 2, "a"), entry(1, 3, "x"), entry(1, 4, "stale")],
      }),
      bootstrap,
      random: () => 0.5,
      applied: 2,
    });
    const message = (partial: Partial<Message>): Message => ({
      type: "heartbeat",
      from: 3,
      to: 2,
      term: 2,
      index: 0,
      logTerm: 0,
      entries: [],
      commit: 5,
      reject: false,
      rejectHint: 0,
      snapshot: null,
      incarnation: testIncarnation(3),
      toIncarnation: testIncarnation(2),
      ...partial,
    });
    assert.equal(follower.status().leaderCommit, null, "no leader heard yet");
    follower.step(message({}));
    assert.equal(follower.status().leaderCommit, 5, "the leader's commit");
    assert.equal(follower.status().commit, 2, "nothing proven in term 2 yet");
    follower.step(
      message({
        type: "append",
        index: 2,
        logTerm: 1,
        entries: [entry(1, 3, "x")],
      }),
    );
    assert.equal(follower.status().commit, 3, "the append proved index 3");
    follower.step(message({}));
    assert.equal(follower.status().commit, 3, "never into the stale tail");
    assert.equal(follower.status().leaderCommit, 5);
  });

  it("a leader's heartbeat to a follower behind it carries the leader's commit index, not the follower's match", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    for (const t of ["a", "b", "c"]) net.propose(1, t);
    net.deliver();
    const commit = net.core(1).status().commit;
    net.heal();
    net.tick(1, [1]);
    const [heartbeat] = net.take((m) => m.type === "heartbeat" && m.to === 3);
    assert.equal(heartbeat.commit, commit);
    net.core(3).step(heartbeat);
    const s = net.core(3).status();
    assert.equal(s.leaderCommit, commit, "3 knows how far behind it is");
    assert.ok(s.commit < commit);
    net.deliver();
    assert.equal(net.core(3).status().commit, commit, "then catches up");
  });

  it("fast backtracking repairs a long divergent log in a few round trips", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
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

  it("a leader sends what was proposed between two Readies in one append per follower, and a moved commit index once", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    const before = net.sent.length;
    for (let i = 0; i < 5; i++) net.propose(1, `e${i}`);
    net.flush();
    const appends = net.sent.slice(before).filter((m) => m.type === "append");
    assert.deepEqual(
      appends.map((m) => [m.to, m.entries.map((e) => e.index)]),
      [[2, [3, 4, 5, 6, 7]], [3, [3, 4, 5, 6, 7]]],
    );
    // Both acknowledgements arrive in one batch: the commit index they move
    // goes to each follower once.
    const acked = net.sent.length;
    net.deliverOnce();
    net.deliverOnce();
    const commits = net.sent.slice(acked).filter((m) =>
      m.type === "append" && m.from === 1
    );
    assert.deepEqual(commits.map((m) => [m.to, m.commit]), [[2, 7], [3, 7]]);
    net.deliver();
    assert.deepEqual(net.appliedTexts(3), ["e0", "e1", "e2", "e3", "e4"]);
  });

  it("a commit index that moved waits one Ready for new entries to ride with, and goes out alone in the next when none came", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    const leader = net.core(1);
    const drive = (core: typeof leader) => {
      const out = [];
      while (core.hasReady()) {
        const r = core.ready();
        out.push(r);
        core.advance();
      }
      return out;
    };
    const step = (to: number, messages: readonly Message[]) => {
      for (const m of messages) if (m.to === to) net.core(to).step(m);
      const answers = drive(net.core(to)).flatMap((r) => r.messages);
      for (const m of answers) leader.step(m);
    };
    // An entry, acknowledged by both followers: its commit is held once...
    leader.propose(new TextEncoder().encode("a"));
    const sent = drive(leader).flatMap((r) => r.messages);
    step(2, sent);
    step(3, sent);
    const index = leader.status().lastIndex;
    assert.equal(leader.status().commit, index);
    const held = leader.ready();
    assert.deepEqual(held.committedEntries.map((e) => e.index), [index]);
    assert.deepEqual(held.messages, [], "no append only for the commit yet");
    leader.advance();
    // ... and rides with the next proposal's append,
    leader.propose(new TextEncoder().encode("b"));
    const next = leader.ready();
    assert.deepEqual(
      next.messages.map((m) => [m.to, m.entries.length, m.commit]),
      [[2, 1, index], [3, 1, index]],
    );
    leader.advance();
    for (const r of drive(leader)) assert.deepEqual(r.messages, []);
    step(2, next.messages);
    step(3, next.messages);
    // or, with nothing proposed, goes out alone in the Ready after.
    assert.deepEqual(leader.ready().messages, []);
    leader.advance();
    const alone = leader.ready();
    assert.deepEqual(
      alone.messages.map((m) => [m.to, m.entries.length, m.commit]),
      [[2, 0, index + 1], [3, 0, index + 1]],
    );
  });

  it("flow control: at most maxInflightAppends unacknowledged appends to a follower", () => {
    const net = new CoreCluster({
      voters: [1, 2],
      tuning: { maxInflightAppends: 2, maxEntriesPerAppend: 1 },
    });
    net.elect(1);
    net.filter = (m) => !(m.from === 2 && m.type === "appendResp");
    for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
    net.deliver();
    const appends = net.sent.filter((m) =>
      m.type === "append" && m.to === 2 && m.entries.length > 0 &&
      m.entries[0].index > 2
    );
    assert.equal(appends.length, 2);
    assert.equal(net.core(1).status().progress[2].inflight, 2);
    net.filter = () => true;
    net.run(12);
    assert.equal(net.appliedTexts(2).length, 10);
  });

  it("each append carries at most maxEntriesPerAppend entries", () => {
    const net = new CoreCluster({
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
    const net = new CoreCluster({ voters: [1, 2, 3] });
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

  it("a follower that lost acknowledged entries (memory storage, restarted empty) is re-added, sent them again, and promoted back", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    for (const t of ["a", "b"]) net.propose(1, t);
    net.run(2);
    assert.equal(net.core(1).status().progress[3].match, 4);
    net.stop(3);
    net.storages.set(3, new MemoryStorage());
    const fresh = net.start(3).status().incarnation;
    assert.notEqual(fresh, testIncarnation(3));
    net.propose(1, "c");
    net.run(8);
    assert.deepEqual(net.appliedTexts(3), ["a", "b", "c"]);
    assert.deepEqual(
      terms(net, 3),
      terms(net, 1).slice(0, terms(net, 3).length),
    );
    const conf = net.core(1).status().conf;
    assert.deepEqual(conf.voters.toSorted(), [1, 2, 3]);
    assert.equal(conf.incarnations?.[3], fresh, "as its new incarnation");
  });

  it("followers learn the commit index and apply what the leader applied", () => {
    const net = new CoreCluster({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    for (const t of ["a", "b"]) net.propose(1, t);
    net.run(2);
    for (const id of [1, 2, 3, 4, 5]) {
      assert.deepEqual(net.appliedTexts(id), ["a", "b"]);
      assert.equal(net.core(id).status().commit, 4);
    }
  });
});
