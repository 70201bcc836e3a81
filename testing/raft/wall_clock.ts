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

/**
 * Returns a function giving the time in milliseconds since the epoch on the
 * system clock, with sub-millisecond resolution. Spins for up to about 3 ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wallClock } from "./wall_clock.ts";
 * const wall = wallClock();
 * const drift = wall() - Date.now();
 * assert.ok(drift > -1 && drift < 1); // Date.now() is the same clock, in whole milliseconds
 * ```
 */
export function wallClock(): () => number {
  let offset = -Infinity;
  // Three edges: a preemption between the two reads only makes an offset
  // smaller, so the largest is the closest.
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    let ms = before;
    let at = 0;
    while (ms === before) {
      ms = Date.now();
      at = performance.now();
    }
    offset = Math.max(offset, ms - at);
  }
  return () => offset + performance.now();
}
