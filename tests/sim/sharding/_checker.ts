/**
 * The sharding simulator's checker. It keeps, per shard, the interval of
 * global (real) time in which each holder (a node's process) may act on the
 * shard by its own clock: from when it acquired the grant to when its clock
 * reaches the grant's end, cut short by a release or a crash. Whenever a
 * holder's grant starts or is extended, no other holder's interval of that
 * shard may reach past that instant: "at most one valid grant per shard at
 * every instant of the global clock".
 *
 * @module
 */

/** A broken invariant, with the global time it broke at. */
export class ShardViolation extends Error {
  /** Which invariant. */
  readonly invariant: string;
  /** Global time, ms. */
  readonly at: number;

  /** A violation of `invariant` at global time `at`. */
  constructor(invariant: string, options: { at: number; detail: string }) {
    super(
      `${invariant} violated at ${options.at.toFixed(3)} ms: ${options.detail}`,
    );
    this.name = "ShardViolation";
    this.invariant = invariant;
    this.at = options.at;
  }
}

interface Interval {
  holder: string;
  start: number;
  end: number;
}

/** The ground truth of every grant interval in a run. */
export class GrantChecker {
  /** shard → holder → its latest interval. */
  readonly #intervals = new Map<number, Map<string, Interval>>();
  /** shard → every interval, in the order they started. */
  readonly #history = new Map<number, Interval[]>();
  /** Acquisitions seen (a shard newly held by a holder). */
  acquisitions = 0;

  /**
   * A holder holds a shard from `now` until global time `end` (a new grant
   * or an extension). Throws {@linkcode ShardViolation} when another holder's
   * interval of the shard reaches past `now`. Returns `true` when the holder
   * did not hold the shard just before (an acquisition).
   */
  hold(
    holder: string,
    options: { shard: number; now: number; end: number },
  ): boolean {
    const { shard, now, end } = options;
    let byHolder = this.#intervals.get(shard);
    if (byHolder === undefined) {
      byHolder = new Map();
      this.#intervals.set(shard, byHolder);
    }
    for (const other of byHolder.values()) {
      if (other.holder !== holder && other.end > now) {
        throw new ShardViolation("at most one valid grant per shard", {
          at: now,
          detail: `shard ${shard} is held by ${other.holder} from ${
            other.start.toFixed(3)
          } until ${other.end.toFixed(3)} ms while ${holder} holds it from ${
            now.toFixed(3)
          } until ${end.toFixed(3)} ms`,
        });
      }
    }
    const mine = byHolder.get(holder);
    if (mine !== undefined && mine.end > now) {
      mine.end = Math.max(mine.end, end);
      return false;
    }
    this.acquisitions++;
    const interval = { holder, start: now, end };
    byHolder.set(holder, interval);
    const history = this.#history.get(shard) ?? [];
    history.push(interval);
    this.#history.set(shard, history);
    return true;
  }

  /** The holder stopped acting on `shard` at `now` (a release). */
  stop(holder: string, options: { shard: number; now: number }): void {
    const mine = this.#intervals.get(options.shard)?.get(holder);
    if (mine !== undefined) mine.end = Math.min(mine.end, options.now);
  }

  /** The holder's process died at `now`: every interval of it ends. */
  crash(holder: string, now: number): void {
    for (const byHolder of this.#intervals.values()) {
      const mine = byHolder.get(holder);
      if (mine !== undefined) mine.end = Math.min(mine.end, now);
    }
  }

  /**
   * The longest stretch of `[from, to)` in which no holder held `shard`
   * (intervals never overlap, so they are in time order).
   */
  longestGap(shard: number, options: { from: number; to: number }): number {
    let longest = 0;
    let covered = options.from;
    for (const i of this.#history.get(shard) ?? []) {
      if (i.end <= covered) continue;
      if (i.start >= options.to) break;
      longest = Math.max(longest, i.start - covered);
      covered = i.end;
    }
    return Math.max(longest, options.to - covered);
  }

  /** The holder valid on `shard` at `now`, if any. */
  holderAt(shard: number, now: number): string | null {
    for (const i of this.#intervals.get(shard)?.values() ?? []) {
      if (i.start <= now && now < i.end) return i.holder;
    }
    return null;
  }
}
