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
    core.campaign();
    const first = core.ready();
    assert.deepEqual(first.entries.map((e) => [e.index, e.type]), [[
      2,
      "empty",
    ]]);
    assert.deepEqual(first.committedEntries.map((e) => e.index), [1, 2]);
    core.advance();
    const index = core.propose(new TextEncoder().encode("x"));
    const second = core.ready();
    assert.deepEqual(second.entries.map((e) => e.index), [index]);
    assert.deepEqual(second.committedEntries.map((e) => e.index), [index]);
    assert.equal(second.hardState?.commit, index);
    core.advance();
    assert.equal(core.status().applied, index);
    assert.equal(core.hasReady(), false);
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
