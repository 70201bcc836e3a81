/**
 * The in-memory Raft log of one core: a snapshot point followed by entries,
 * the commit index, and the point from which entries are not yet handed out
 * for persistence.
 *
 * @module
 */
import { RaftError } from "./errors.ts";
import type { Entry } from "./types.ts";

/** An index and the term of the entry there. */
export interface IndexTerm {
  index: number;
  term: number;
}

/** The log: `entries[i].index === snapshotIndex + 1 + i`. */
export class RaftLog {
  snapshotIndex: number;
  snapshotTerm: number;
  entries: Entry[];
  committed: number;
  /** The first index not yet handed out in a `Ready`. */
  unstableFrom: number;

  constructor(snapshot: IndexTerm, entries: Entry[]) {
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    this.entries = entries.slice();
    this.committed = snapshot.index;
    this.unstableFrom = this.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term at `index`, or `undefined` when it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) {
      return undefined;
    }
    return this.entries[index - this.snapshotIndex - 1].term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) {
      return undefined;
    }
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The §5.4.1 check: is a log ending at (`lastTerm`, `lastIndex`) at least as up to date as ours? */
  isUpToDate(lastTerm: number, lastIndex: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm ||
      (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** The entries the log holds in `[lo, hi)`; compacted indexes are left out. */
  slice(lo: number, hi: number): Entry[] {
    const base = this.snapshotIndex + 1;
    if (hi <= base) return [];
    return this.entries.slice(Math.max(lo, base) - base, hi - base);
  }

  /**
   * The largest index at or below `index` whose term is at most `term`, with
   * that term (term 0 when the index is compacted). Used for fast
   * backtracking of rejected appends.
   */
  findConflictByTerm(index: number, term: number): IndexTerm {
    for (let i = Math.min(index, this.lastIndex()); i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** The first entry whose term differs from ours (or that we lack), or `undefined`. */
  findConflict(entries: Entry[]): Entry | undefined {
    return entries.find((e) => this.term(e.index) !== e.term);
  }

  /**
   * Appends contiguous entries, dropping our entries at or after the first
   * one. The first must follow the snapshot point and be at most one past
   * the last index; otherwise a `RaftError` is thrown and the log is kept.
   */
  truncateAndAppend(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first <= this.snapshotIndex || first > this.lastIndex() + 1) {
      throw new RaftError(
        `Expected appended entries to start between index ${this.firstIndex()} and ${
          this.lastIndex() + 1
        }, found ${first}`,
      );
    }
    const gap = entries.findIndex((e, i) => e.index !== first + i);
    if (gap !== -1) {
      throw new RaftError(
        `Expected appended entries contiguous from index ${first}, found index ${
          entries[gap].index
        } at position ${gap}`,
      );
    }
    this.entries.length = first - this.snapshotIndex - 1;
    for (const e of entries) this.entries.push(e);
    this.unstableFrom = Math.min(this.unstableFrom, first);
  }

  /**
   * Moves the commit index forward to `index`; `false` when it is not
   * ahead. A `RaftError` when `index` is past the last index.
   */
  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) {
      throw new RaftError(
        `Expected a commit index at most the last index ${this.lastIndex()}, found ${index}`,
      );
    }
    this.committed = index;
    return true;
  }

  /** Entries not yet handed out, marking them handed. */
  takeUnstable(): Entry[] {
    const out = this.slice(this.unstableFrom, this.lastIndex() + 1);
    this.unstableFrom = this.lastIndex() + 1;
    return out;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  /** Replaces the whole log by a snapshot point (a snapshot received from the leader). */
  restore(snapshot: IndexTerm): void {
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    this.entries = [];
    this.committed = snapshot.index;
    this.unstableFrom = snapshot.index + 1;
  }

  /** Drops entries up to `index`, which must be in the log. */
  compact(index: number): void {
    const term = this.term(index);
    if (term === undefined || index <= this.snapshotIndex) return;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }
}
