/**
 * Internal: lets reconcile workers that keep finding work which completes
 * without I/O (a resync of objects that need nothing) give the event loop a
 * turn every `sliceMs`. Such work runs in one chain of microtasks, so
 * without a turn no response, watch event or timer (the lease's renewal
 * among them) is handled until every queued key is done: at a takeover
 * with 10,000 cached objects that stalled the loop for hundreds of
 * milliseconds.
 *
 * Whether the loop turned is learnt from a timer on the event loop itself
 * (`setTimeout`, not the controller's clock: a test's manual clock must
 * not see extra timers); how long the work ran is read from the
 * controller's clock, so a manual clock that does not move never pauses.
 *
 * @module
 */
import type { Clock } from "../common/clock.ts";

/** Pauses callers that ran `sliceMs` without the event loop turning. */
export class EventLoopTurns {
  readonly #clock: Clock;
  readonly #sliceMs: number;
  /** When work began since the event loop last turned, if it did. */
  #since: number | undefined;
  #turn: Promise<void> | undefined;

  constructor(clock: Clock, sliceMs: number) {
    this.#clock = clock;
    this.#sliceMs = sliceMs;
  }

  /**
   * A promise to await when the event loop has not turned for `sliceMs`
   * (it resolves on the next turn); `undefined` otherwise, so the common
   * case allocates nothing.
   */
  pause(): Promise<void> | undefined {
    if (this.#turn) return this.#turn;
    const now = this.#clock.now();
    if (this.#since === undefined) {
      this.#since = now;
      setTimeout(() => this.#since = undefined, 0);
      return undefined;
    }
    if (now - this.#since < this.#sliceMs) return undefined;
    this.#turn = new Promise((resolve) =>
      setTimeout(() => {
        this.#turn = undefined;
        this.#since = undefined;
        resolve();
      }, 0)
    );
    return this.#turn;
  }
}
