/**
 * Unit tests of `raft/_log.ts` alone, after etcd-io/raft's `log_test.go`:
 * each contract of `RaftLog` checked against a table of logs, without a core.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RaftLog } from "../../raft/_log.ts";
import { RaftError } from "../../raft/errors.ts";
import type { Entry } from "../../raft/types.ts";

/** Entries from `first` on, one per term given (etcd's `index(i).terms(...)`). */
function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({
    term,
    index: first + i,
    type: "normal",
    data: new Uint8Array([first + i]),
  }));
}

/** A log after a snapshot at (`index`, `term`) holding `entries`. */
function log(
  snapshot: { index: number; term: number },
  entries: Entry[],
): RaftLog {
  return new RaftLog(snapshot, entries);
}

/** The `index/term` of every entry the log holds. */
const held = (l: RaftLog) => l.entries.map((e) => `${e.index}/${e.term}`);

describe("RaftLog", () => {
  describe("bounds", () => {
    it("an empty log starts after index 0 of term 0", () => {
      const l = log({ index: 0, term: 0 }, []);
      assert.equal(l.firstIndex(), 1);
      assert.equal(l.lastIndex(), 0);
      assert.equal(l.lastTerm(), 0);
      assert.equal(l.term(0), 0);
      assert.equal(l.committed, 0);
      assert.equal(l.hasUnstable(), false);
    });

    it("a log after a snapshot starts at the snapshot's next index", () => {
      const l = log({ index: 10, term: 3 }, ents(11, 3, 4, 4));
      assert.equal(l.firstIndex(), 11);
      assert.equal(l.lastIndex(), 13);
      assert.equal(l.lastTerm(), 4);
      assert.equal(l.committed, 10, "the snapshot is committed");
    });

    it("a log of a bare snapshot ends at it, with its term", () => {
      const l = log({ index: 10, term: 3 }, []);
      assert.equal(l.lastIndex(), 10);
      assert.equal(l.lastTerm(), 3);
    });

    it("entries passed to the constructor are stable, not handed out again", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 2));
      assert.equal(l.hasUnstable(), false);
      assert.deepEqual(l.takeUnstable(), []);
    });

    it("copies the entries array it is given", () => {
      const given = ents(1, 1, 1);
      const l = log({ index: 0, term: 0 }, given);
      l.truncateAndAppend(ents(3, 1));
      assert.equal(given.length, 2);
    });
  });

  describe("term and entry", () => {
    const l = log({ index: 10, term: 3 }, ents(11, 3, 4, 4));
    const cases: [number, number | undefined][] = [
      [0, undefined],
      [9, undefined],
      [10, 3],
      [11, 3],
      [12, 4],
      [13, 4],
      [14, undefined],
    ];
    for (const [index, term] of cases) {
      it(`term(${index}) is ${term} (snapshot at 10/3, entries 11..13)`, () => {
        assert.equal(l.term(index), term);
        assert.equal(l.matchTerm(index, term ?? -1), term !== undefined);
      });
    }

    it("entry() is undefined at and below the snapshot and past the end", () => {
      assert.equal(l.entry(10), undefined);
      assert.equal(l.entry(9), undefined);
      assert.equal(l.entry(14), undefined);
      assert.deepEqual(l.entry(12), ents(12, 4)[0]);
    });
  });

  describe("isUpToDate (§5.4.1), log ending at 3/3", () => {
    const l = log({ index: 0, term: 0 }, ents(1, 1, 2, 3));
    const cases: [number, number, boolean][] = [
      // A higher last term wins whatever the index.
      [4, 2, true],
      [4, 3, true],
      [4, 4, true],
      // A lower last term loses whatever the index.
      [2, 2, false],
      [2, 3, false],
      [2, 4, false],
      // The same last term: an equal or longer log wins.
      [3, 2, false],
      [3, 3, true],
      [3, 4, true],
    ];
    for (const [term, index, want] of cases) {
      it(`a log ending at ${index}/${term} is ${want ? "" : "not "}up to date`, () => {
        assert.equal(l.isUpToDate(term, index), want);
      });
    }
  });

  describe("findConflict", () => {
    const cases: [string, Entry[], number | undefined][] = [
      ["no entries", [], undefined],
      ["all held", ents(1, 1, 2, 3), undefined],
      ["a held suffix", ents(2, 2, 3), undefined],
      ["the last held", ents(3, 3), undefined],
      ["held then new", ents(1, 1, 2, 3, 4, 4), 4],
      ["a held suffix then new", ents(2, 2, 3, 4, 5), 4],
      ["the last held then new", ents(3, 3, 4, 4), 4],
      ["only new", ents(4, 4, 4), 4],
      ["a different term at the first", ents(1, 4, 4), 1],
      ["a different term at the second", ents(2, 1, 4, 4), 2],
      ["a different term at the third", ents(3, 1, 2, 4, 4), 3],
    ];
    for (const [name, entries, want] of cases) {
      it(`log 1/1 2/2 3/3, ${name}: conflict at ${want}`, () => {
        const l = log({ index: 0, term: 0 }, ents(1, 1, 2, 3));
        assert.equal(l.findConflict(entries)?.index, want);
      });
    }
  });

  describe("findConflictByTerm", () => {
    // [snapshot index, snapshot term, terms after it, index, term, want index]
    const cases: [number, number, number[], number, number, number][] = [
      // A log from index 1: terms 2 2 5 5 5.
      [0, 0, [2, 2, 5, 5, 5], 5, 6, 5],
      [0, 0, [2, 2, 5, 5, 5], 5, 5, 5],
      [0, 0, [2, 2, 5, 5, 5], 5, 4, 2],
      [0, 0, [2, 2, 5, 5, 5], 5, 2, 2],
      [0, 0, [2, 2, 5, 5, 5], 5, 1, 0],
      [0, 0, [2, 2, 5, 5, 5], 1, 2, 1],
      [0, 0, [2, 2, 5, 5, 5], 1, 1, 0],
      [0, 0, [2, 2, 5, 5, 5], 0, 0, 0],
      // Past the end, the search starts from the last index it holds.
      [0, 0, [2, 2, 5, 5, 5], 100, 2, 2],
      [0, 0, [2, 2, 5, 5, 5], 100, 5, 5],
      // After a snapshot at 10/3: terms 3 3 3 4 4 4 at 11..16.
      [10, 3, [3, 3, 3, 4, 4, 4], 14, 9, 14],
      [10, 3, [3, 3, 3, 4, 4, 4], 14, 4, 14],
      [10, 3, [3, 3, 3, 4, 4, 4], 14, 3, 13],
      [10, 3, [3, 3, 3, 4, 4, 4], 11, 5, 11],
      [10, 3, [3, 3, 3, 4, 4, 4], 10, 5, 10],
      [10, 3, [3, 3, 3, 4, 4, 4], 10, 3, 10],
      // At or below the snapshot with a lower term: the compacted index
      // below, whose term is unknown.
      [10, 3, [3, 3, 3, 4, 4, 4], 14, 2, 9],
      [10, 3, [3, 3, 3, 4, 4, 4], 10, 2, 9],
      [10, 3, [3, 3, 3, 4, 4, 4], 9, 2, 9],
      [10, 3, [3, 3, 3, 4, 4, 4], 4, 2, 4],
      [10, 3, [3, 3, 3, 4, 4, 4], 0, 0, 0],
    ];
    for (const [snapIndex, snapTerm, terms, index, term, want] of cases) {
      it(`snapshot ${snapIndex}/${snapTerm} + [${terms}]: (${index}, ${term}) → ${want}`, () => {
        const l = log(
          { index: snapIndex, term: snapTerm },
          ents(snapIndex + 1, ...terms),
        );
        const found = l.findConflictByTerm(index, term);
        assert.equal(found.index, want);
        assert.equal(found.term, l.term(want) ?? 0, "the term found is ours");
        assert.ok(
          found.term <= term,
          "the term found is at most the one asked",
        );
      });
    }
  });

  describe("slice", () => {
    const l = log({ index: 10, term: 3 }, ents(11, 3, 4, 4, 5));
    const cases: [number, number, string[]][] = [
      [11, 11, []],
      [11, 12, ["11/3"]],
      [11, 15, ["11/3", "12/4", "13/4", "14/5"]],
      [13, 15, ["13/4", "14/5"]],
      [14, 20, ["14/5"]],
      [15, 20, []],
      // Compacted indexes are left out.
      [5, 13, ["11/3", "12/4"]],
      [5, 10, []],
    ];
    for (const [lo, hi, want] of cases) {
      it(`[${lo}, ${hi}) of 11..14 after snapshot 10 is [${want}]`, () => {
        assert.deepEqual(
          l.slice(lo, hi).map((e) => `${e.index}/${e.term}`),
          want,
        );
      });
    }
  });

  describe("truncateAndAppend", () => {
    it("appends after the last entry and marks the new ones unstable", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 2));
      l.truncateAndAppend(ents(3, 2, 3));
      assert.deepEqual(held(l), ["1/1", "2/2", "3/2", "4/3"]);
      assert.deepEqual(l.takeUnstable().map((e) => e.index), [3, 4]);
    });

    it("replaces a conflicting suffix and hands out the replacement", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 1, 1, 1));
      l.truncateAndAppend(ents(2, 2));
      assert.deepEqual(held(l), ["1/1", "2/2"]);
      assert.equal(l.lastIndex(), 2);
      assert.deepEqual(l.takeUnstable().map((e) => `${e.index}/${e.term}`), [
        "2/2",
      ]);
    });

    it("moves the unstable point back over entries already handed out", () => {
      const l = log({ index: 0, term: 0 }, []);
      l.truncateAndAppend(ents(1, 1, 1, 1));
      assert.equal(l.takeUnstable().length, 3);
      l.truncateAndAppend(ents(2, 2, 2, 2));
      assert.equal(l.unstableFrom, 2);
      assert.deepEqual(l.takeUnstable().map((e) => `${e.index}/${e.term}`), [
        "2/2",
        "3/2",
        "4/2",
      ]);
      assert.equal(l.hasUnstable(), false);
    });

    it("replaces the first entry after a snapshot", () => {
      const l = log({ index: 5, term: 2 }, ents(6, 2, 2));
      l.truncateAndAppend(ents(6, 3));
      assert.deepEqual(held(l), ["6/3"]);
      assert.equal(l.term(5), 2, "the snapshot point is kept");
    });

    it("does nothing with no entries", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1));
      l.truncateAndAppend([]);
      assert.deepEqual(held(l), ["1/1"]);
      assert.equal(l.hasUnstable(), false);
    });

    it("refuses entries that would leave a gap after the last index, and keeps the log", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 1));
      assert.throws(
        () => l.truncateAndAppend(ents(5, 2)),
        (e: unknown) =>
          e instanceof RaftError &&
          /Expected appended entries to start between index 1 and 3, found 5/
            .test(e.message),
      );
      assert.deepEqual(held(l), ["1/1", "2/1"]);
      assert.equal(l.term(3), undefined);
      assert.equal(l.hasUnstable(), false);
    });

    it("refuses entries that would overwrite the snapshot, and keeps the log", () => {
      const l = log({ index: 5, term: 2 }, ents(6, 2));
      assert.throws(
        () => l.truncateAndAppend(ents(5, 3, 3)),
        (e: unknown) =>
          e instanceof RaftError &&
          /Expected appended entries to start between index 6 and 7, found 5/
            .test(e.message),
      );
      assert.deepEqual(held(l), ["6/2"]);
      assert.equal(l.term(5), 2);
    });

    it("refuses entries that are not contiguous, and keeps the log", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1));
      const broken = [...ents(2, 1), ...ents(4, 1)];
      assert.throws(
        () => l.truncateAndAppend(broken),
        (e: unknown) =>
          e instanceof RaftError &&
          /Expected appended entries contiguous from index 2, found index 4 at position 1/
            .test(e.message),
      );
      assert.deepEqual(held(l), ["1/1"]);
    });
  });

  describe("commitTo", () => {
    it("only moves forward, and says whether it moved", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 2, 3));
      assert.equal(l.commitTo(2), true);
      assert.equal(l.committed, 2);
      assert.equal(l.commitTo(1), false);
      assert.equal(l.commitTo(2), false);
      assert.equal(l.committed, 2);
      assert.equal(l.commitTo(3), true);
      assert.equal(l.committed, 3);
    });

    it("refuses to commit past the last index, and keeps the commit", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 2));
      l.commitTo(1);
      assert.throws(
        () => l.commitTo(3),
        (e: unknown) =>
          e instanceof RaftError &&
          /Expected a commit index at most the last index 2, found 3/.test(
            e.message,
          ),
      );
      assert.equal(l.committed, 1);
    });
  });

  describe("restore", () => {
    it("replaces the whole log by the snapshot point, committed", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 1, 2));
      l.truncateAndAppend(ents(4, 2));
      l.restore({ index: 20, term: 5 });
      assert.deepEqual(held(l), []);
      assert.equal(l.firstIndex(), 21);
      assert.equal(l.lastIndex(), 20);
      assert.equal(l.lastTerm(), 5);
      assert.equal(l.committed, 20);
      assert.equal(l.hasUnstable(), false, "no entry left to hand out");
      assert.equal(l.term(19), undefined);
    });

    it("a restored log appends from the snapshot's next index", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1));
      l.restore({ index: 20, term: 5 });
      l.truncateAndAppend(ents(21, 5));
      assert.deepEqual(l.takeUnstable().map((e) => e.index), [21]);
    });
  });

  describe("compact", () => {
    it("drops entries up to the index, which becomes the snapshot point", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 2, 2, 3, 3));
      l.commitTo(4);
      l.compact(3);
      assert.deepEqual(held(l), ["4/3", "5/3"]);
      assert.equal(l.snapshotIndex, 3);
      assert.equal(l.snapshotTerm, 2);
      assert.equal(l.firstIndex(), 4);
      assert.equal(l.lastIndex(), 5);
      assert.equal(l.term(3), 2);
      assert.equal(l.term(2), undefined);
      assert.equal(l.committed, 4, "the commit index is not touched");
    });

    it("compacting to the last index leaves a bare snapshot point", () => {
      const l = log({ index: 0, term: 0 }, ents(1, 1, 2));
      l.compact(2);
      assert.deepEqual(held(l), []);
      assert.equal(l.lastIndex(), 2);
      assert.equal(l.lastTerm(), 2);
    });

    const ignored: [string, number][] = [
      ["at the snapshot index", 5],
      ["below the snapshot index", 3],
      ["past the last index", 9],
    ];
    for (const [name, index] of ignored) {
      it(`ignores an index ${name}`, () => {
        const l = log({ index: 5, term: 2 }, ents(6, 2, 3));
        l.compact(index);
        assert.equal(l.snapshotIndex, 5);
        assert.deepEqual(held(l), ["6/2", "7/3"]);
      });
    }
  });
});
