import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftError } from "../../raft/errors.ts";
import type { Entry, Snapshot } from "../../raft/types.ts";

const entry = (term: number, index: number): Entry => ({
  term,
  index,
  type: "normal",
  data: new Uint8Array([index]),
});

const snapshot = (index: number, term: number): Snapshot => ({
  metadata: { index, term, conf: { voters: [1, 2, 3], learners: [] } },
  data: new Uint8Array([9]),
});

const terms = (s: MemoryStorage) =>
  s.load().entries.map((e) => `${e.index}/${e.term}`);

describe("MemoryStorage", () => {
  it("starts empty and is not durable", () => {
    const s = new MemoryStorage();
    assert.equal(s.durable, false);
    assert.deepEqual(s.load(), {
      hardState: { term: 0, vote: null, commit: 0 },
      snapshot: null,
      entries: [],
    });
  });

  it("stores hard state and entries, and returns copies", () => {
    const s = new MemoryStorage();
    s.save({
      hardState: { term: 2, vote: 1, commit: 1 },
      entries: [entry(1, 1), entry(2, 2)],
      snapshot: null,
    });
    const loaded = s.load();
    loaded.entries[0].data[0] = 99;
    loaded.hardState.term = 7;
    assert.equal(s.load().entries[0].data[0], 1);
    assert.deepEqual(s.load().hardState, { term: 2, vote: 1, commit: 1 });
  });

  it("drops stored entries at or after the first new one", () => {
    const s = new MemoryStorage();
    s.save({
      hardState: null,
      entries: [entry(1, 1), entry(1, 2), entry(1, 3)],
      snapshot: null,
    });
    s.save({ hardState: null, entries: [entry(2, 2)], snapshot: null });
    assert.deepEqual(terms(s), ["1/1", "2/2"]);
  });

  it("refuses entries that would leave a gap, changing nothing", () => {
    const s = new MemoryStorage();
    s.save({ hardState: null, entries: [entry(1, 1)], snapshot: null });
    assert.throws(
      () =>
        s.save({
          hardState: { term: 5, vote: null, commit: 0 },
          entries: [entry(1, 3)],
          snapshot: null,
        }),
      (e) =>
        e instanceof RaftError &&
        /Expected entries to start between index 1 and 2, found 3/.test(
          e.message,
        ),
    );
    assert.deepEqual(terms(s), ["1/1"]);
    assert.equal(s.load().hardState.term, 0);
  });

  it("compaction keeps the entries after a snapshot of its own log", () => {
    const s = new MemoryStorage();
    s.save({
      hardState: null,
      entries: [entry(1, 1), entry(1, 2), entry(1, 3)],
      snapshot: null,
    });
    s.compact(snapshot(2, 1));
    assert.deepEqual(terms(s), ["3/1"]);
    assert.equal(s.load().snapshot?.metadata.index, 2);
  });

  it("a snapshot that does not match the log replaces the whole log", () => {
    const s = new MemoryStorage();
    s.save({
      hardState: null,
      entries: [entry(1, 1), entry(1, 2), entry(1, 3)],
      snapshot: null,
    });
    s.save({ hardState: null, entries: [], snapshot: snapshot(2, 2) });
    assert.deepEqual(terms(s), []);
    s.save({ hardState: null, entries: [entry(2, 3)], snapshot: null });
    assert.deepEqual(terms(s), ["3/2"]);
  });

  it("ignores a snapshot older than the one it has", () => {
    const s = new MemoryStorage();
    s.save({
      hardState: null,
      entries: [entry(1, 1), entry(1, 2), entry(1, 3)],
      snapshot: null,
    });
    s.compact(snapshot(2, 1));
    s.compact(snapshot(1, 1));
    assert.equal(s.load().snapshot?.metadata.index, 2);
    assert.deepEqual(terms(s), ["3/1"]);
  });

  it("refuses calls once closed", () => {
    const s = new MemoryStorage();
    s.close();
    assert.throws(() => s.load(), RaftError);
  });
});
