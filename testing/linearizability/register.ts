/**
 * A key-value store as a model: one register per key, with get, put and
 * compare-and-set, checked key by key.
 *
 * @module
 */
import type { Model, StepResult } from "./model.ts";

/**
 * An operation on one key of a key-value store (`null` stands for an
 * absent key). Give every put and every compare-and-set a value no other
 * operation writes, so that a read tells which write it saw.
 *
 * @example
 * ```ts
 * import type { RegisterInput } from "@k8s-operator/k8s-operator/testing";
 * const ops: RegisterInput[] = [
 *   { key: "owner", op: "put", value: "client0.1" },
 *   { key: "owner", op: "cas", expected: "client0.1", value: "client1.1" },
 *   { key: "owner", op: "get" },
 * ];
 * ```
 */
export type RegisterInput =
  | { key: string; op: "get" }
  | { key: string; op: "put"; value: string }
  | { key: string; op: "cas"; expected: string | null; value: string | null };

/**
 * What an operation on a register returned: a get's `value` (`null`: the
 * key was absent), a compare-and-set's `ok`; a put returns `{}`.
 *
 * @example
 * ```ts
 * import type { RegisterOutput } from "@k8s-operator/k8s-operator/testing";
 * const read: RegisterOutput = { value: "client0.1" };
 * const swapped: RegisterOutput = { ok: true };
 * const written: RegisterOutput = {};
 * ```
 */
export interface RegisterOutput {
  /** The value a get read; `null` for an absent key. */
  value?: string | null;
  /** Whether a compare-and-set swapped. */
  ok?: boolean;
}

function text(value: string | null | undefined): string {
  return value === null
    ? "absent"
    : value === undefined
    ? "?"
    : JSON.stringify(value);
}

/**
 * The model of {@linkcode RegisterInput} operations: a map from keys to
 * values, partitioned by key. A get with an unknown output constrains
 * nothing; a put or compare-and-set with an unknown output takes effect
 * when linearized (a compare-and-set swaps exactly when its expectation
 * holds) and may be linearized after everything else, which is the same as
 * never.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLinearizability, registerModel } from "@k8s-operator/k8s-operator/testing";
 * const result = checkLinearizability([
 *   { client: 0, input: { key: "a", op: "cas", expected: null, value: "x" }, invokedAt: 0, completedAt: 2, output: { ok: true } },
 *   { client: 1, input: { key: "a", op: "cas", expected: null, value: "y" }, invokedAt: 1, completedAt: 3, output: { ok: true } },
 * ], { model: registerModel });
 * assert.equal(result.verdict, "violation"); // only one of two concurrent claims can win
 * ```
 */
export const registerModel: Model<
  string | null,
  RegisterInput,
  RegisterOutput
> = {
  init: () => null,
  partition: (input) => input.key,
  step(state, input, output): StepResult<string | null> {
    switch (input.op) {
      case "get":
        return output === undefined || output.value === state
          ? { ok: true, state }
          : { ok: false };
      case "put":
        return { ok: true, state: input.value };
      case "cas": {
        const holds = state === input.expected;
        if (output !== undefined && output.ok !== holds) return { ok: false };
        return { ok: true, state: holds ? input.value : state };
      }
    }
  },
  describeOperation(input, output): string {
    switch (input.op) {
      case "get":
        return `get ${JSON.stringify(input.key)} -> ${text(output?.value)}`;
      case "put":
        return `put ${JSON.stringify(input.key)} ${text(input.value)}`;
      case "cas":
        return `cas ${JSON.stringify(input.key)} ${text(input.expected)} -> ${
          text(input.value)
        }: ${output?.ok === undefined ? "?" : output.ok ? "ok" : "failed"}`;
    }
  },
  describeState: text,
};
