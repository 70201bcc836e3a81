/**
 * Decides whether a history is linearizable: whether every operation can be
 * given one instant between its invocation and its completion such that,
 * taken in the order of those instants, the operations are a legal run of
 * the sequential {@linkcode Model}.
 *
 * @module
 */
import { HistoryError, type Operation } from "./history.ts";
import type { Model } from "./model.ts";
import { searchLinearization } from "./_search.ts";

/**
 * `ok`: a linearization was found. `violation`: none exists. `unknown`: the
 * search ran out of its budget before deciding (never reported as `ok`).
 *
 * @example
 * ```ts
 * import type { Verdict } from "@k8s-operator/k8s-operator/testing";
 * // "unknown" is not a pass: the search gave up before deciding.
 * const passed = (v: Verdict) => v === "ok";
 * ```
 */
export type Verdict = "ok" | "violation" | "unknown";

/**
 * Options of {@linkcode checkLinearizability}.
 *
 * @example A bounded check
 * ```ts
 * import { type CheckOptions, registerModel, type RegisterInput, type RegisterOutput } from "@k8s-operator/k8s-operator/testing";
 * const options: CheckOptions<string | null, RegisterInput, RegisterOutput> = {
 *   model: registerModel,
 *   maxSteps: 1_000_000, // per partition
 *   timeoutMs: 60_000, // for the whole history
 * };
 * ```
 */
export interface CheckOptions<S, I, O> {
  /** The sequential specification. */
  model: Model<S, I, O>;
  /**
   * Search steps allowed per partition (default 10,000,000); a partition
   * that needs more is `unknown`.
   */
  maxSteps?: number;
  /**
   * Milliseconds allowed for the whole check (default: no limit); the
   * partition being searched when it runs out, and every later one, are
   * `unknown`.
   */
  timeoutMs?: number;
  /** The clock `timeoutMs` is measured on (default `performance.now`). */
  clock?: () => number;
}

/**
 * The verdict on one partition (one key) of a history.
 *
 * @example Printing each key's figures
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLinearizability, type Operation, type PartitionResult, registerModel, type RegisterInput, type RegisterOutput } from "@k8s-operator/k8s-operator/testing";
 * const history: Operation<RegisterInput, RegisterOutput>[] = [
 *   { client: 0, input: { key: "a", op: "put", value: "1" }, invokedAt: 0, completedAt: 1, output: { ok: true } },
 *   { client: 1, input: { key: "b", op: "get" }, invokedAt: 2, completedAt: 3, output: { ok: true, value: null } },
 * ];
 * const { partitions } = checkLinearizability(history, { model: registerModel });
 * const lines = (partitions as PartitionResult<RegisterInput, RegisterOutput>[]).map((p) =>
 *   `${p.key}: ${p.operations} operations, ${p.indeterminate} indeterminate, ${p.verdict}`
 * );
 * assert.deepEqual(lines, ["a: 1 operations, 0 indeterminate, ok", "b: 1 operations, 0 indeterminate, ok"]);
 * ```
 */
export interface PartitionResult<I, O> {
  /** The partition (the model's `partition`; `""` without one). */
  key: string;
  /** This partition's verdict. */
  verdict: Verdict;
  /** Operations in the partition. */
  operations: number;
  /** Of them, operations without a known output. */
  indeterminate: number;
  /** Search steps taken. */
  steps: number;
  /** Milliseconds the search took. */
  ms: number;
  /**
   * On a violation: the longest order of operations the search could
   * linearize before getting stuck.
   */
  linearized?: Operation<I, O>[];
  /**
   * On a violation: the operation that completed without any valid point
   * to take effect after `linearized`.
   */
  blocked?: Operation<I, O>;
  /** On a violation or `unknown`: what went wrong, in words. */
  explanation?: string;
}

/**
 * The verdict on a whole history: `violation` if any partition has one,
 * else `unknown` if any partition ran out of budget, else `ok`.
 *
 * @example
 * ```ts
 * import { type CheckResult, checkLinearizability, registerModel, type RegisterInput, type RegisterOutput } from "@k8s-operator/k8s-operator/testing";
 * const result: CheckResult<RegisterInput, RegisterOutput> = checkLinearizability([
 *   { client: 0, input: { key: "a", op: "put", value: "x" }, invokedAt: 0, completedAt: 1, output: {} },
 *   { client: 1, input: { key: "a", op: "get" }, invokedAt: 2, completedAt: 3, output: { value: null } },
 * ], { model: registerModel });
 * if (result.verdict !== "ok") console.log(result.explanation); // the stale read, in words
 * ```
 */
export interface CheckResult<I, O> {
  /** The verdict. */
  verdict: Verdict;
  /** Operations checked. */
  operations: number;
  /** Search steps over all partitions. */
  steps: number;
  /** Milliseconds the whole check took. */
  ms: number;
  /** Per partition, sorted by key. */
  partitions: PartitionResult<I, O>[];
  /** Unless `ok`: the first violation's explanation, or which partitions were not decided. */
  explanation?: string;
}

function validate<I, O>(op: Operation<I, O>, index: number): void {
  if (!Number.isFinite(op.invokedAt)) {
    throw new HistoryError(
      `Expected operation ${index} to have a finite invocation time, found ${op.invokedAt}`,
    );
  }
  if (!(op.completedAt >= op.invokedAt)) {
    throw new HistoryError(
      `Expected operation ${index} to complete at or after its invocation (${op.invokedAt}), found ${op.completedAt}`,
    );
  }
  if (op.completedAt === Infinity && op.output !== undefined) {
    throw new HistoryError(
      `Expected indeterminate operation ${index} (completedAt Infinity) to have no output, found ${
        JSON.stringify(op.output)
      }`,
    );
  }
}

function ms(t: number): string {
  return t === Infinity ? "never" : `${t.toFixed(1)} ms`;
}

function explainViolation<S, I, O>(
  model: Model<S, I, O>,
  key: string,
  ops: readonly Operation<I, O>[],
  linearized: readonly Operation<I, O>[],
  blocked: Operation<I, O>,
): string {
  const describe = (op: Operation<I, O>) =>
    model.describeOperation?.(op.input, op.output) ??
      `${JSON.stringify(op.input)} -> ${
        op.output === undefined ? "?" : JSON.stringify(op.output)
      }`;
  const at = (op: Operation<I, O>) =>
    `${describe(op)} (client ${op.client}, invoked at ${
      ms(op.invokedAt)
    }, completed ${
      op.completedAt === Infinity ? "never" : "at " + ms(op.completedAt)
    })`;
  let state = model.init();
  for (const op of linearized) {
    const r = model.step(state, op.input, op.output);
    if (r.ok) state = r.state;
  }
  const shown = model.describeState?.(state) ?? JSON.stringify(state);
  const tail = linearized.slice(-3).map(at).join("; ");
  const where = key === "" ? "the history" : `partition ${JSON.stringify(key)}`;
  return `Expected the ${ops.length} operations of ${where} to be linearizable, ` +
    `found no valid order: ${at(blocked)} has no point to take effect. ` +
    `The longest valid order holds ${linearized.length} operations` +
    (linearized.length > 0 ? `, ending ${tail},` : "") +
    ` and leaves the state ${shown}.`;
}

/**
 * Checks a history against a model: splits it by `model.partition`, then
 * searches each partition for a linearization (Wing–Gong with memoisation,
 * as porcupine does), within the budget.
 *
 * Throws {@linkcode HistoryError} for a malformed history. An indeterminate
 * operation (`completedAt: Infinity`) may take effect at any point after its
 * invocation or not at all, so record unknown outcomes as such, never as
 * failures.
 *
 * @example A stale read after a completed write
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLinearizability, registerModel } from "@k8s-operator/k8s-operator/testing";
 * const result = checkLinearizability([
 *   { client: 0, input: { key: "a", op: "put", value: "x" }, invokedAt: 0, completedAt: 1, output: {} },
 *   { client: 1, input: { key: "a", op: "get" }, invokedAt: 2, completedAt: 3, output: { value: null } },
 * ], { model: registerModel });
 * assert.equal(result.verdict, "violation");
 * assert.deepEqual(result.partitions[0].blocked?.input, { key: "a", op: "get" });
 * ```
 */
export function checkLinearizability<S, I, O>(
  history: readonly Operation<I, O>[],
  options: CheckOptions<S, I, O>,
): CheckResult<I, O> {
  const { model } = options;
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const deadline = started + (options.timeoutMs ?? Infinity);
  const maxSteps = options.maxSteps ?? 10_000_000;
  const byKey = new Map<string, Operation<I, O>[]>();
  history.forEach((op, i) => {
    validate(op, i);
    const key = model.partition?.(op.input) ?? "";
    let ops = byKey.get(key);
    if (ops === undefined) byKey.set(key, ops = []);
    ops.push(op);
  });
  const partitions: PartitionResult<I, O>[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    const indeterminate = ops.filter((op) => op.output === undefined).length;
    const t0 = clock();
    if (t0 > deadline) {
      partitions.push({
        key,
        verdict: "unknown",
        operations: ops.length,
        indeterminate,
        steps: 0,
        ms: 0,
        explanation:
          `Not searched: the time budget of ${options.timeoutMs} ms ran out before`,
      });
      continue;
    }
    const outcome = searchLinearization(model, ops, {
      maxSteps,
      deadline,
      clock,
    });
    const result: PartitionResult<I, O> = {
      key,
      verdict: outcome.verdict,
      operations: ops.length,
      indeterminate,
      steps: outcome.steps,
      ms: clock() - t0,
    };
    if (outcome.verdict === "violation") {
      result.linearized = outcome.linearized.map((i) => ops[i]);
      result.blocked = ops[outcome.blocked!];
      result.explanation = explainViolation(
        model,
        key,
        ops,
        result.linearized,
        result.blocked,
      );
    } else if (outcome.verdict === "unknown") {
      result.explanation = `Undecided after ${outcome.steps} search steps ` +
        `(budget: ${maxSteps} steps, ${options.timeoutMs ?? "no"} ms limit)`;
    }
    partitions.push(result);
  }
  const violation = partitions.find((p) => p.verdict === "violation");
  const unknown = partitions.filter((p) => p.verdict === "unknown");
  const verdict: Verdict = violation !== undefined
    ? "violation"
    : unknown.length > 0
    ? "unknown"
    : "ok";
  const result: CheckResult<I, O> = {
    verdict,
    operations: history.length,
    steps: partitions.reduce((sum, p) => sum + p.steps, 0),
    ms: clock() - started,
    partitions,
  };
  if (violation !== undefined) result.explanation = violation.explanation;
  else if (unknown.length > 0) {
    result.explanation = `${unknown.length} of ${partitions.length} ` +
      `partitions undecided (${
        unknown.slice(0, 5).map((p) => JSON.stringify(p.key)).join(", ")
      }${unknown.length > 5 ? ", ..." : ""}): ${unknown[0].explanation}`;
  }
  return result;
}
