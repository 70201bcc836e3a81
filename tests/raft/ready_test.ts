import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftCore } from "../../raft/core.ts";
import type { PersistedState } from "../../raft/types.ts";
import { CoreCluster, memberState } from "../../testing/raft/cores.ts";

const empty: PersistedState = {
  hardState: { term: 0, vote: null, commit: 0 },
  snapshot: null,
  entries: [],
};

describe("the ready/advance hand-off", () => {
  it("a core on a new storage hands out its new incarnation to save, once; a restarted one has nothing to hand out", () => {
    const bootstrap = { voters: [1, 2, 3], learners: [] };
    const core = new RaftCore({
      id: 1,
      state: empty,
      bootstrap,
      random: () => 0.5,
      incarnation: 77,
    });
    assert.equal(core.hasReady(), true);
    const ready = core.ready();
    assert.equal(ready.incarnation, 77);
    assert.deepEqual(ready.messages, []);
    core.advance();
    assert.equal(core.hasReady(), false);
    const restarted = new RaftCore({
      id: 1,
      state: { ...empty, incarnation: 77 },
      bootstrap,
      random: () => 0.5,
      incarnation: 99,
    });
    assert.equal(restarted.hasReady(), false);
    assert.equal(restarted.status().incarnation, 77, "the stored one wins");
  });

  it("reports role changes as soft state and votes as hard state, once", () => {
    const bootstrap = { voters: [1, 2, 3], learners: [] };
    const core = new RaftCore({
      id: 1,
      state: memberState(1, bootstrap),
      bootstrap,
      random: () => 0.5,
      preVote: false,
      applied: 1,
    });
    core.campaign();
    const ready = core.ready();
    assert.deepEqual(ready.softState, {
      role: "candidate",
      leader: null,
      term: 1,
    });
    assert.deepEqual(ready.hardState, { term: 1, vote: 1, commit: 1 });
    assert.deepEqual(ready.messages.map((m) => [m.type, m.to]), [["vote", 2], [
      "vote",
      3,
    ]]);
    core.advance();
    assert.equal(core.hasReady(), false);
    core.tick();
    assert.equal(core.hasReady(), false, "nothing changed");
  });

  it("hands out each entry to persist once, and each committed entry to apply once", () => {
    const net = new CoreCluster({ voters: [1] });
    const core = net.core(1);
    const handed: number[] = [];
    const applied: number[] = [];
    const drain = () => {
      while (core.hasReady()) {
        const ready = core.ready();
        handed.push(...ready.entries.map((e) => e.index));
        applied.push(...ready.committedEntries.map((e) => e.index));
        core.advance();
      }
    };
    core.campaign();
    drain();
    const index = core.propose(new TextEncoder().encode("x"));
    drain();
    assert.deepEqual(handed, [2, index]);
    assert.deepEqual(applied, [1, 2, index]);
    assert.equal(core.status().applied, index);
    assert.equal(core.hasReady(), false);
  });

  it("a single voter commits an entry only once it is written: not in the Ready that hands it out", () => {
    const net = new CoreCluster({ voters: [1] });
    const core = net.core(1);
    core.campaign();
    while (core.hasReady()) {
      core.ready();
      core.advance();
    }
    const index = core.propose(new TextEncoder().encode("x"));
    const handing = core.ready();
    assert.deepEqual(handing.entries.map((e) => e.index), [index]);
    assert.deepEqual(handing.committedEntries, []);
    assert.ok((handing.hardState?.commit ?? 0) < index);
    core.advance(); // written
    const next = core.ready();
    assert.deepEqual(next.committedEntries.map((e) => e.index), [index]);
    assert.equal(next.hardState?.commit, index);
  });

  it("a leader that goes on before its write counts its own copy only once markPersisted says it is written", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.run(1);
    const leader = net.core(1);
    const index = leader.propose(new TextEncoder().encode("x"));
    const ready = leader.ready();
    const last = ready.entries[ready.entries.length - 1];
    assert.equal(last.index, index);
    leader.advance({ persisted: false }); // the write is still in progress
    // Follower 2 writes and acknowledges; 3 hears nothing.
    for (const m of ready.messages.filter((m) => m.to === 2)) {
      net.core(2).step(m);
    }
    const acks: typeof ready.messages = [];
    while (net.core(2).hasReady()) {
      const r = net.core(2).ready();
      net.storages.get(2)!.save(r);
      acks.push(...r.messages);
      net.core(2).advance();
    }
    for (const m of acks) leader.step(m);
    assert.ok(
      leader.status().commit < index,
      "one follower and a leader that has not written it are no quorum",
    );
    leader.markPersisted({ index: last.index, term: last.term + 1 });
    assert.ok(leader.status().commit < index, "another entry's term: ignored");
    leader.markPersisted({ index: last.index, term: last.term });
    assert.equal(leader.status().commit, index, "now it is on two of three");
    assert.deepEqual(
      leader.ready().committedEntries.map((e) => e.index),
      [index],
    );
  });

  it("a truncated suffix is handed out again from the first overwritten index", () => {
    const net = new CoreCluster({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.propose(1, "lost");
    net.deliver();
    net.tick(10, [2, 3]);
    net.core(2).campaign();
    net.deliver();
    net.propose(2, "kept");
    net.deliver();
    const storage = net.storages.get(1)!;
    const firstIndexes: number[] = [];
    const save = storage.save.bind(storage);
    storage.save = (write) => {
      if (write.entries.length > 0) firstIndexes.push(write.entries[0].index);
      save(write);
    };
    net.heal();
    net.run(3);
    assert.deepEqual(firstIndexes, [3], "index 3 (lost) is overwritten");
    assert.deepEqual(
      storage.load().entries.map((e) => e.term),
      net.storages.get(2)!.load().entries.map((e) => e.term),
    );
  });

  it("honours the applied option: committed entries after it are handed out, not before", () => {
    const net = new CoreCluster({ voters: [1] });
    net.elect(1);
    net.propose(1, "a");
    net.propose(1, "b");
    net.flush();
    const core = new RaftCore({
      id: 1,
      state: net.storages.get(1)!.load(),
      bootstrap: net.bootstrap,
      random: () => 0.5,
      applied: 3,
    });
    assert.deepEqual(core.ready().committedEntries.map((e) => e.index), [4]);
  });
});
