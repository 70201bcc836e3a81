/**
 * A clock that every process on the machine reads alike, for stamping the
 * guard intervals of the multi-process tests.
 *
 * `performance.timeOrigin + performance.now()` is not one: Node takes the
 * wall-clock and the monotonic reading of its time origin at slightly
 * different moments, so under load a whole process is off by milliseconds
 * (measured: 5–6 ms for some processes on a loaded 2-core machine, against
 * `Date.now()`), which is enough to make two intervals of different
 * processes appear to overlap or not. `Date.now()` reads the one system
 * clock, but only to the millisecond. This clock anchors `performance.now()`
 * to `Date.now()` at the instant the latter turns over to a new millisecond,
 * so it has the monotonic clock's resolution and the system clock's origin.
 *
 * @module
 */

/** The two clocks {@linkcode wallClock} reads (injected in its tests). */
export interface WallClockSources {
  /** The system clock in whole milliseconds (default `Date.now`). */
  dateNow?: () => number;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  perfNow?: () => number;
}

/** A turnover seen within this window (ms) is taken at once. */
const NARROW_MS = 0.05;
/** Turnovers watched at most, about a millisecond each. */
const MAX_EDGES = 12;

/**
 * Returns a function giving the time in milliseconds since the epoch on the
 * system clock, with sub-millisecond resolution. Spins for up to about
 * 12 ms (usually 1–2 ms). Given a reading of the monotonic clock
 * (`performance.now()`, or the `perfNow` source), the function converts
 * that instant instead of reading the clock again, so a value judged at one
 * reading is stamped with that same reading.
 *
 * Each sample brackets one turnover of `Date.now()` from `ms - 1` to `ms`
 * between a monotonic reading taken before the last call that still read
 * `ms - 1` and one taken after the first call that read `ms`. A preemption
 * anywhere in that stretch only widens the bracket, so the narrowest
 * bracket of several is kept: a loaded machine that preempts the spin makes
 * the anchor take longer, not read early (the former anchor read early by
 * as long as a preemption lasted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wallClock } from "./wall_clock.ts";
 * const wall = wallClock();
 * const drift = wall() - Date.now();
 * assert.ok(drift > -1 && drift < 1); // Date.now() is the same clock, in whole milliseconds
 * const at = performance.now();
 * assert.equal(wall(at), wall(at)); // one instant, converted, not read again
 * ```
 */
export function wallClock(
  sources: WallClockSources = {},
): (at?: number) => number {
  const dateNow = sources.dateNow ?? (() => Date.now());
  const perfNow = sources.perfNow ?? (() => performance.now());
  let offset = 0;
  let width = Infinity;
  // Only if every turnover jumped: the reading just after one, early by
  // at most as long as the loop was held up.
  let fallback = -Infinity;
  for (let i = 0; i < MAX_EDGES && width > NARROW_MS; i++) {
    let lastBefore = perfNow();
    const previous = dateNow();
    for (;;) {
      const before = perfNow();
      const ms = dateNow();
      const after = perfNow();
      if (ms === previous) {
        lastBefore = before;
        continue;
      }
      // Only a turnover by one millisecond is bracketed: a jump means the
      // turnover to `ms` came while this loop was not running.
      if (ms === previous + 1 && after - lastBefore < width) {
        width = after - lastBefore;
        offset = ms - (lastBefore + after) / 2;
      }
      fallback = Math.max(fallback, ms - after);
      break;
    }
  }
  if (width === Infinity) offset = fallback;
  return (at = perfNow()) => offset + at;
}
