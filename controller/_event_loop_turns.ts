/**
 * Internal: the controller's work queue, which gives the event loop a turn
 * when it handed out keys back to back for `sliceMs` (5 ms) without one:
 * its workers keep finding work that completes without I/O (a resync of
 * objects that need nothing). Such work runs in one chain of microtasks, so
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
import { WorkQueue, type WorkQueueOptions } from "./work_queue.ts";

/**
 * A work queue whose `get()`, when a key is ready but the event loop has
 * not turned for 5 ms, hands it out after the next turn.
 */
export function turningQueue<K>(
  options: WorkQueueOptions<K> & { clock: Clock },
): WorkQueue<K> {
  return new TurningWorkQueue<K>(options);
}

class TurningWorkQueue<K> extends WorkQueue<K> {
  readonly #turns: EventLoopTurns;

  constructor(options: WorkQueueOptions<K> & { clock: Clock }) {
    super(options);
    this.#turns = new EventLoopTurns(options.clock);
  }

  override get(signal?: AbortSignal): Promise<K | undefined> {
    // Waiting for a key is a turn already.
    if (this.length === 0) return super.get(signal);
    const pause = this.#turns.pause();
    return pause ? pause.then(() => this.get(signal)) : super.get(signal);
  }
}

/** Pauses callers that ran `sliceMs` without the event loop turning. */
export class EventLoopTurns {
  readonly #clock: Clock;
  readonly #sliceMs: number;
  /** When work began since the event loop last turned, if it did. */
  #since: number | undefined;
  #turn: Promise<void> | undefined;

  constructor(clock: Clock, sliceMs = 5) {
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
