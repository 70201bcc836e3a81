/**
 * A linearizability checker in the style of Knossos and porcupine: record
 * what concurrent clients invoked and got back, on one clock, and decide
 * whether some order of instants, one inside each operation's interval,
 * explains every answer.
 *
 * - {@linkcode HistoryRecorder} stamps invocations and completions and
 *   keeps unknown outcomes as indeterminate operations.
 * - {@linkcode checkLinearizability} searches each partition (key) for a
 *   linearization (Wing–Gong with Lowe's memoisation) within a budget and
 *   answers `ok`, `violation` (with the operation that had no valid point)
 *   or, when the budget ran out, `unknown`.
 * - {@linkcode registerModel} is the model of a key-value store with get,
 *   put and compare-and-set.
 *
 * @example Checking a recorded history
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   checkLinearizability, HistoryRecorder, registerModel,
 *   type RegisterInput, type RegisterOutput,
 * } from "@k8s-operator/k8s-operator/testing";
 * const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
 * const put = recorder.invoke(0, { key: "a", op: "put", value: "0.1" });
 * recorder.complete(put, {});
 * const get = recorder.invoke(1, { key: "a", op: "get" });
 * recorder.complete(get, { value: "0.1" });
 * const lost = recorder.invoke(0, { key: "a", op: "put", value: "0.2" });
 * recorder.indeterminate(lost); // the connection broke: it may have been applied
 * const result = checkLinearizability(recorder.history(), { model: registerModel, timeoutMs: 10_000 });
 * assert.equal(result.verdict, "ok");
 * ```
 *
 * @module
 */
export {
  checkLinearizability,
  type CheckOptions,
  type CheckResult,
  type PartitionResult,
  type Verdict,
} from "./checker.ts";
export {
  HistoryError,
  HistoryRecorder,
  type HistoryRecorderOptions,
  type Operation,
} from "./history.ts";
export type { Model, StepResult } from "./model.ts";
export {
  type RegisterInput,
  registerModel,
  type RegisterOutput,
} from "./register.ts";
