/**
 * The sequential specification a history is checked against.
 *
 * @module
 */

/**
 * What a {@linkcode Model} says about one operation in one state: either it
 * could have returned what it returned (`ok`, and the state after it), or
 * not.
 *
 * @example
 * ```ts
 * import type { StepResult } from "@k8s-operator/k8s-operator/testing";
 * const accepted: StepResult<number> = { ok: true, state: 2 };
 * const refused: StepResult<number> = { ok: false };
 * ```
 */
export type StepResult<S> = { ok: true; state: S } | { ok: false };

/**
 * A sequential object: its initial state and how each operation moves it.
 * `step` must be deterministic and must not change `state` in place.
 *
 * @example A counter with `add` (output ignored) and `read`
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLinearizability, type Model } from "@k8s-operator/k8s-operator/testing";
 * type Input = { op: "add"; n: number } | { op: "read" };
 * const counter: Model<number, Input, number> = {
 *   init: () => 0,
 *   step(state, input, output) {
 *     if (input.op === "add") return { ok: true, state: state + input.n };
 *     // A read whose answer was lost (output undefined) constrains nothing.
 *     return output === undefined || output === state ? { ok: true, state } : { ok: false };
 *   },
 * };
 * const result = checkLinearizability([
 *   { client: 0, input: { op: "add", n: 2 }, invokedAt: 0, completedAt: 2, output: 2 },
 *   { client: 1, input: { op: "read" }, invokedAt: 3, completedAt: 4, output: 0 },
 * ], { model: counter });
 * assert.equal(result.verdict, "violation"); // the read came after the add completed
 * ```
 */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * Whether `input` could have returned `output` in `state`, and the state
   * after it. `output` is `undefined` for an operation whose outcome is
   * unknown: accept it if it could take effect in `state` at all.
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /**
   * The independent object an operation acts on (a key). Each partition is
   * checked alone, which is sound when operations on different partitions
   * never interact (P-compositionality) and makes the search far smaller.
   * Default: one partition.
   */
  partition?(input: I): string;
  /**
   * A primitive identifying a state, for memoisation: equal for equal
   * states, different for different ones. Default: the state itself when
   * it is a primitive, its JSON otherwise.
   */
  stateKey?(state: S): unknown;
  /** One operation in reports (default: input and output as JSON). */
  describeOperation?(input: I, output: O | undefined): string;
  /** One state in reports (default: JSON). */
  describeState?(state: S): string;
}
