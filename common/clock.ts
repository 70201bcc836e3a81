/**
 * Time as a parameter: every part of the controller that waits takes a
 * {@linkcode Clock}, so tests drive time by hand instead of sleeping.
 *
 * @module
 */

/**
 * A handle returned by {@linkcode Clock.setTimeout}.
 *
 * @example
 * ```ts
 * import { ManualClock, type TimerHandle } from "./clock.ts";
 * const clock = new ManualClock();
 * const resync: TimerHandle = clock.setTimeout(() => console.log("resync"), 30_000);
 * clock.clearTimeout(resync); // cancelled: advancing past 30 s fires nothing
 * clock.advance(30_000);
 * ```
 */
export type TimerHandle = unknown;

/**
 * A source of time and timers.
 *
 * @example Taking a clock so tests control time
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Clock, ManualClock } from "./clock.ts";
 * function leaseExpired(clock: Clock, renewedAt: number, ttlMs: number): boolean {
 *   return clock.now() - renewedAt >= ttlMs;
 * }
 * const clock = new ManualClock(); // systemClock in production
 * clock.advance(15_000);
 * assert.equal(leaseExpired(clock, 0, 15_000), true);
 * ```
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and the global timers.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const started = systemClock.now();
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) =>
    clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `ms` on `clock`, or rejects with the signal's reason when
 * `signal` aborts first.
 *
 * @example
 * ```ts
 * import { sleep, systemClock } from "./clock.ts";
 * await sleep(systemClock, 1);
 * ```
 */
export function sleep(
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A clock that moves only when told: `advance(ms)` fires the timers that fall
 * due, in order. For deterministic tests.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock();
 * let fired = false;
 * clock.setTimeout(() => fired = true, 100);
 * clock.advance(100);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  /** Starts at `start` milliseconds (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current simulated time. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at `now() + ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  /** Cancels a timer. */
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** The time of the earliest pending timer, or `undefined`. */
  nextAt(): number | undefined {
    let next: number | undefined;
    for (const { at } of this.#timers.values()) {
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let dueId: number | undefined;
      let dueAt = Infinity;
      for (const [id, { at }] of this.#timers) {
        if (at <= target && at < dueAt) {
          dueAt = at;
          dueId = id;
        }
      }
      if (dueId === undefined) break;
      const timer = this.#timers.get(dueId)!;
      this.#timers.delete(dueId);
      this.#now = Math.max(this.#now, dueAt);
      timer.fn();
    }
    this.#now = target;
  }
}
