/**
 * Histories of concurrent operations, as a linearizability checker reads
 * them: what each client invoked, what it got back, and when, on one clock.
 *
 * @module
 */

/**
 * One operation of a history: its input, its output, and the interval in
 * which it took effect, on a monotonic clock shared by every client.
 *
 * An operation whose outcome is unknown (a timeout, a reset connection, a
 * server that died with the request) is **indeterminate**: it may or may not
 * have taken effect, at any time after its invocation. Record it with
 * `completedAt: Infinity` and no `output`. Recording it as failed would hide
 * a write that did happen (a later read of its value would look invented);
 * recording it as completed would invent a deadline it never had.
 *
 * @example A put that completed and one whose answer was lost
 * ```ts
 * import type { Operation, RegisterInput, RegisterOutput } from "@k8s-operator/k8s-operator/testing";
 * const done: Operation<RegisterInput, RegisterOutput> = {
 *   client: 0,
 *   input: { key: "a", op: "put", value: "0.1" },
 *   invokedAt: 10.5,
 *   completedAt: 14.25,
 *   output: {},
 * };
 * const lost: Operation<RegisterInput, RegisterOutput> = {
 *   client: 1,
 *   input: { key: "a", op: "put", value: "1.1" },
 *   invokedAt: 12,
 *   completedAt: Infinity, // may take effect at any time after 12
 * };
 * ```
 */
export interface Operation<I, O> {
  /** Which client issued it (for reports). */
  client: number;
  /** What was asked. */
  input: I;
  /** When it was invoked, in milliseconds on the shared clock. */
  invokedAt: number;
  /**
   * When its answer arrived, in milliseconds on the same clock; `Infinity`
   * when the outcome is unknown.
   */
  completedAt: number;
  /**
   * What it returned; absent when unknown (always so when `completedAt` is
   * `Infinity`).
   */
  output?: O;
}

/**
 * Raised for a history no execution could have produced: an operation
 * completed before it was invoked, a time that is not a number, an output
 * recorded for an operation that never completed, or a recorder handle used
 * twice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLinearizability, HistoryError, registerModel } from "@k8s-operator/k8s-operator/testing";
 * assert.throws(
 *   () =>
 *     checkLinearizability([
 *       { client: 0, input: { key: "a", op: "get" }, invokedAt: 5, completedAt: 4, output: { value: null } },
 *     ], { model: registerModel }),
 *   (error) => error instanceof HistoryError && /^Expected operation 0 to complete at or after/.test(error.message),
 * );
 * ```
 */
export class HistoryError extends Error {
  /** Describes what was expected and what was found. */
  constructor(message: string) {
    super(message);
    this.name = "HistoryError";
  }
}

/**
 * Options of a {@linkcode HistoryRecorder}.
 *
 * @example A recorder on a fake clock
 * ```ts
 * import { HistoryRecorder, type HistoryRecorderOptions } from "@k8s-operator/k8s-operator/testing";
 * let now = 0;
 * const options: HistoryRecorderOptions = { clock: () => now };
 * const recorder = new HistoryRecorder<string, string>(options);
 * const id = recorder.invoke(0, "ping");
 * now = 3;
 * recorder.complete(id, "pong"); // invoked at 0, completed at 3
 * ```
 */
export interface HistoryRecorderOptions {
  /**
   * The clock every client's operations are stamped with, in milliseconds
   * (default `performance.now`). It must be one monotonic clock for all
   * clients: times from different processes' clocks cannot be compared.
   */
  clock?: () => number;
}

/**
 * Records a history as clients run: stamp the invocation just before the
 * request leaves, and the completion as soon as its answer is read, on one
 * clock.
 *
 * Every invoked operation ends in exactly one of three ways:
 * {@linkcode HistoryRecorder.complete} (the answer arrived),
 * {@linkcode HistoryRecorder.indeterminate} (the outcome is unknown: it
 * stays in the history as possibly applied at any later time), or
 * {@linkcode HistoryRecorder.discard} (it certainly had no effect: refused
 * before it was sent, or a read whose answer was lost). Operations still
 * pending when {@linkcode HistoryRecorder.history} is called count as
 * indeterminate.
 *
 * @example Two clients
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   checkLinearizability, HistoryRecorder, registerModel,
 *   type RegisterInput, type RegisterOutput,
 * } from "@k8s-operator/k8s-operator/testing";
 * const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
 * const put = recorder.invoke(0, { key: "a", op: "put", value: "0.1" });
 * const get = recorder.invoke(1, { key: "a", op: "get" });
 * recorder.complete(put, {});
 * recorder.complete(get, { value: null }); // concurrent with the put: either value is fine
 * const result = checkLinearizability(recorder.history(), { model: registerModel });
 * assert.equal(result.verdict, "ok");
 * ```
 */
export class HistoryRecorder<I, O> {
  readonly #clock: () => number;
  readonly #ops: (Operation<I, O> | undefined)[] = [];
  readonly #pending = new Set<number>();
  #indeterminate = 0;
  #discarded = 0;

  /** A recorder stamping times on `options.clock`. */
  constructor(options: HistoryRecorderOptions = {}) {
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Records an invocation now; returns the handle to end it with. */
  invoke(client: number, input: I): number {
    const id = this.#ops.length;
    this.#ops.push({
      client,
      input,
      invokedAt: this.#clock(),
      completedAt: Infinity,
    });
    this.#pending.add(id);
    return id;
  }

  /** Records that the operation returned `output`, now. */
  complete(id: number, output: O): void {
    const op = this.#take(id);
    op.completedAt = this.#clock();
    op.output = output;
  }

  /**
   * Records that the outcome is unknown: the operation may take effect at
   * any time after its invocation, or never.
   */
  indeterminate(id: number): void {
    this.#take(id);
    this.#indeterminate++;
  }

  /** Drops an operation that certainly had no effect and returned nothing. */
  discard(id: number): void {
    this.#take(id);
    this.#ops[id] = undefined;
    this.#discarded++;
  }

  /** Operations invoked and not yet ended. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Operations ended as indeterminate so far (not counting pending ones). */
  get indeterminateCount(): number {
    return this.#indeterminate;
  }

  /** Operations discarded so far. */
  get discardedCount(): number {
    return this.#discarded;
  }

  /**
   * The history so far, in invocation order: completed and indeterminate
   * operations, and pending ones as indeterminate. Copies; recording may
   * go on.
   */
  history(): Operation<I, O>[] {
    const out: Operation<I, O>[] = [];
    for (const op of this.#ops) if (op !== undefined) out.push({ ...op });
    return out;
  }

  #take(id: number): Operation<I, O> {
    const op = this.#ops[id];
    if (!this.#pending.delete(id) || op === undefined) {
      throw new HistoryError(
        `Expected a pending operation handle, found ${id} (unknown or already ended)`,
      );
    }
    return op;
  }
}
