/**
 * Structural schemas (the OpenAPI v3 subset a CustomResourceDefinition
 * carries) as a real kube-apiserver 1.32 applies them, in one place for the
 * whole library: `crd/` checks definitions and objects with it, and the
 * test API server of `testing/` admits custom objects with it, so the two
 * cannot drift.
 *
 * - {@linkcode admitObject}: what the server does to a custom object on a
 *   write, in its order: unknown fields pruned (also under
 *   `additionalProperties: true`), nulls of non-nullable fields without a
 *   default dropped, unknown `metadata` fields dropped, defaults filled in
 *   (also where a non-nullable field is null), then validation (types with
 *   int64 bounds, formats the server checks, enums, bounds and `multipleOf`
 *   with the server's own arithmetic, RE2 patterns, list-type uniqueness,
 *   embedded resources, metadata).
 * - {@linkcode admitValue} and {@linkcode validateValue}: the same for one
 *   value (such as `spec`).
 * - {@linkcode schemaProblems}: the rules the server applies when a CRD is
 *   created (structural schema, list and map types, RE2 patterns, defaults
 *   validated as the server validates them).
 *
 * CEL rules (`x-kubernetes-validations`) are passed through and evaluated by
 * the server only: nothing here compiles or runs them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { admitValue } from "./schema.ts";
 *
 * const { value, problems } = admitValue(
 *   {
 *     type: "object",
 *     properties: {
 *       replicas: { type: "integer", minimum: 1, default: 1 },
 *       mode: { type: "string", nullable: true },
 *     },
 *   },
 *   { replicas: null, mode: null, typo: 1 },
 * );
 * assert.deepEqual(value, { replicas: 1, mode: null }); // typo pruned, null replaced by the default
 * assert.deepEqual(problems, []);
 * ```
 *
 * @module
 */
import {
  applyDefaults,
  coerceEmbeddedMeta,
  dropUnknownMeta,
  prune,
  pruneNulls,
} from "./_admit.ts";
import { isObject, wire } from "./_json.ts";
import { objectMetaProblems } from "./_meta.ts";
import { structuralProblems } from "./_structural.ts";
import { Validator } from "./_validate.ts";

/**
 * An OpenAPI v3 schema as a CustomResourceDefinition carries it
 * (`JSONSchemaProps` in the Kubernetes API).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type JSONSchemaProps, validateValue } from "./schema.ts";
 * const schema: JSONSchemaProps = { type: "object", properties: { replicas: { type: "integer", minimum: 1 } } };
 * assert.deepEqual(validateValue(schema, { replicas: 2 }), []);
 * ```
 */
export interface JSONSchemaProps {
  /** One of `object`, `array`, `string`, `integer`, `number`, `boolean`. */
  type?: string;
  /** Shown by `kubectl explain`. */
  description?: string;
  /** A format such as `date-time`; the server checks only some formats. */
  format?: string;
  /** A short title. */
  title?: string;
  /** The value the API server fills in when the field is absent. */
  default?: unknown;
  /** The fields of an object. */
  properties?: Record<string, JSONSchemaProps>;
  /** The schema of every value of a map. */
  additionalProperties?: JSONSchemaProps | boolean;
  /** Names of the fields that must be present. */
  required?: string[];
  /** The schema of every item of an array. */
  items?: JSONSchemaProps;
  /** The allowed values. */
  enum?: unknown[];
  /** Inclusive lower bound, exclusive when `exclusiveMinimum` is true. */
  minimum?: number;
  /** Inclusive upper bound, exclusive when `exclusiveMaximum` is true. */
  maximum?: number;
  /** Makes `minimum` exclusive. */
  exclusiveMinimum?: boolean;
  /** Makes `maximum` exclusive. */
  exclusiveMaximum?: boolean;
  /** The number must be a multiple of this. */
  multipleOf?: number;
  /** Least length of a string, in characters. */
  minLength?: number;
  /** Greatest length of a string, in characters. */
  maxLength?: number;
  /** An RE2 regular expression the string must match. */
  pattern?: string;
  /** Least number of items. */
  minItems?: number;
  /** Greatest number of items. */
  maxItems?: number;
  /** Least number of keys. */
  minProperties?: number;
  /** Greatest number of keys. */
  maxProperties?: number;
  /** `null` is allowed besides the type. */
  nullable?: boolean;
  /** Value validations that must all hold. */
  allOf?: JSONSchemaProps[];
  /** Value validations of which one at least must hold. */
  anyOf?: JSONSchemaProps[];
  /** Value validations of which exactly one must hold. */
  oneOf?: JSONSchemaProps[];
  /** A value validation that must not hold. */
  not?: JSONSchemaProps;
  /** Keep fields the schema does not name. */
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  /** An integer or a string (like a port name or number). */
  "x-kubernetes-int-or-string"?: boolean;
  /** The object is a whole Kubernetes object (apiVersion, kind, metadata). */
  "x-kubernetes-embedded-resource"?: boolean;
  /** How server-side apply merges the list: `atomic`, `set` or `map`. */
  "x-kubernetes-list-type"?: string;
  /** The key fields of a `map` list. */
  "x-kubernetes-list-map-keys"?: string[];
  /** How server-side apply merges the object: `atomic` or `granular`. */
  "x-kubernetes-map-type"?: string;
  /** CEL rules the API server checks (never evaluated by this library). */
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
  /** Other keywords. */
  [keyword: string]: unknown;
}

/**
 * The kind of a problem, as the API server names its `StatusCause`
 * reasons.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ProblemReason, validateValue } from "./schema.ts";
 * const schema = { type: "object", required: ["replicas"], properties: { replicas: { type: "integer" } } };
 * const reasons: (ProblemReason | undefined)[] = validateValue(schema, {}).map((p) => p.reason);
 * assert.deepEqual(reasons, ["FieldValueRequired"]);
 * ```
 */
export type ProblemReason =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueTypeInvalid"
  | "FieldValueNotSupported"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueDuplicate"
  | "FieldValueForbidden";

/**
 * One problem with one field of a value, or one node of a schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FieldProblem, validateValue } from "./schema.ts";
 * const schema = { type: "object", properties: { replicas: { type: "integer" } } };
 * const [problem]: FieldProblem[] = validateValue(schema, { replicas: "3" }, { path: "spec" });
 * assert.equal(problem.path, "spec.replicas");
 * assert.equal(problem.reason, "FieldValueTypeInvalid");
 * ```
 */
export interface FieldProblem {
  /** Where the problem is, as the server writes field paths: `spec.replicas`, `spec.ports[0].name`. */
  path: string;
  /** What was expected and what was found. */
  message: string;
  /** The server's name for this kind of problem. */
  reason?: ProblemReason;
}

/**
 * What the server would do with a value: the value it would store, and
 * the problems that make it refuse the write.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Admission, admitValue } from "./schema.ts";
 * const schema = { type: "object", properties: { replicas: { type: "integer", default: 1 } } };
 * const { value, problems, pruned }: Admission = admitValue(schema, { replicaz: 3 }, { path: "spec" });
 * assert.deepEqual(value, { replicas: 1 });
 * assert.deepEqual(problems, []);
 * assert.deepEqual(pruned, ["spec.replicaz"]);
 * ```
 */
export interface Admission {
  /** The value after pruning, null dropping and defaulting (a copy). */
  value: unknown;
  /** Every problem found; empty when the server would accept the value. */
  problems: FieldProblem[];
  /** The paths of the fields the server would prune (unknown fields). */
  pruned: string[];
}

/**
 * Options of {@linkcode admitValue} and {@linkcode validateValue}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateValue, type ValidateValueOptions } from "./schema.ts";
 * const schema = { type: "object", properties: { replicas: { type: "integer" } } };
 * const lenient: ValidateValueOptions = { path: "spec", rejectUnknownFields: false };
 * assert.deepEqual(validateValue(schema, { replicaz: 3 }, lenient), []); // pruned silently
 * assert.equal(validateValue(schema, { replicaz: 3 }, { path: "spec" })[0].reason, "FieldValueForbidden");
 * ```
 */
export interface ValidateValueOptions {
  /** The path of the value, prefixed to every problem (such as `spec`). */
  path?: string;
  /**
   * Report fields the schema does not define as problems, as the server
   * does with `fieldValidation=Strict` (without it, the server prunes them
   * silently). Default: true for {@linkcode validateValue}, false for
   * {@linkcode admitValue}.
   */
  rejectUnknownFields?: boolean;
}

function unknownProblems(pruned: string[]): FieldProblem[] {
  return pruned.map((path) => ({
    path,
    reason: "FieldValueForbidden",
    message:
      "unknown field: the schema does not define it (the API server prunes it unless fieldValidation is Strict)",
  }));
}

/**
 * Numbers JSON cannot carry: `JSON.stringify` sends NaN and ±Infinity as
 * null, which the server would then drop or refuse as null. Reported so
 * that a computation gone wrong is not silently lost.
 */
function nonFinite(value: unknown, path: string, out: FieldProblem[]): void {
  if (typeof value === "number" && !Number.isFinite(value)) {
    out.push({
      path,
      reason: "FieldValueInvalid",
      message:
        `expected a finite number, found ${value} (JSON would carry it as null)`,
    });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => nonFinite(item, `${path}[${i}]`, out));
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      nonFinite(item, path === "" ? key : `${path}.${key}`, out);
    }
  }
}

function validate(
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
): FieldProblem[] {
  const validator = new Validator();
  validator.value(schema, value, path);
  validator.lists(schema, value, path);
  validator.embedded(schema, value, path);
  return validator.problems;
}

/**
 * What the API server does with `value` as the content of a field of
 * `schema`: prunes unknown fields, drops nulls of non-nullable fields
 * without a default, fills in defaults, then validates. `value` is not
 * changed; the result holds a copy as it would travel (JSON).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { admitValue } from "./schema.ts";
 *
 * const schema = {
 *   type: "object",
 *   properties: { bag: { type: "object", additionalProperties: true } },
 * };
 * const { value } = admitValue(schema, { bag: { b: { c: "d" } } });
 * assert.deepEqual(value, { bag: { b: {} } }); // the server prunes under additionalProperties: true
 * ```
 */
export function admitValue(
  schema: JSONSchemaProps,
  value: unknown,
  options: ValidateValueOptions = {},
): Admission {
  const path = options.path ?? "";
  const problems: FieldProblem[] = [];
  nonFinite(value, path, problems);
  const copy = wire(value);
  const pruned = prune(copy, schema, { path, root: false });
  pruneNulls(copy, schema);
  coerceEmbeddedMeta(copy, schema, pruned, path);
  applyDefaults(copy, schema);
  problems.push(...validate(schema, copy, path));
  if (options.rejectUnknownFields === true) {
    problems.push(...unknownProblems(pruned));
  }
  return { value: copy, problems, pruned };
}

/**
 * Every problem the API server would find with `value` as the content of a
 * field of `schema`, after it prunes and defaults it (see
 * {@linkcode admitValue}). Unknown fields are reported too unless
 * `rejectUnknownFields` is false. Empty when valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateValue } from "./schema.ts";
 *
 * const problems = validateValue(
 *   { type: "object", properties: { replicas: { type: "integer", minimum: 1 } } },
 *   { replicas: 0 },
 *   { path: "spec" },
 * );
 * assert.deepEqual(problems, [{ path: "spec.replicas", reason: "FieldValueInvalid", message: "expected a number of at least 1, found 0" }]);
 * ```
 */
export function validateValue(
  schema: JSONSchemaProps,
  value: unknown,
  options: ValidateValueOptions = {},
): FieldProblem[] {
  return admitValue(schema, value, {
    ...options,
    rejectUnknownFields: options.rejectUnknownFields ?? true,
  }).problems;
}

/**
 * Options of {@linkcode admitObject}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { admitObject, type AdmitObjectOptions } from "./schema.ts";
 * const schema = { type: "object", properties: { status: { type: "object", properties: { ready: { type: "boolean" } } } } };
 * const object = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, status: { ready: true } };
 * // A write to the main resource of a kind with a status subresource.
 * const options: AdmitObjectOptions = { namespaced: true, dropStatus: true };
 * assert.equal((admitObject(schema, object, options).value as { status?: unknown }).status, undefined);
 * ```
 */
export interface AdmitObjectOptions {
  /** Whether the kind is namespaced (else a namespace is cleared). */
  namespaced: boolean;
  /** Drop `status`, as a create does when the status subresource is enabled. */
  dropStatus?: boolean;
  /** Report unknown fields (also of `metadata`), as `fieldValidation=Strict` does. */
  rejectUnknownFields?: boolean;
  /** A missing `name` is fine when `generateName` is set (default true). */
  requireName?: boolean;
}

/**
 * What the API server does with a whole custom object on a write, given
 * the CRD version's `openAPIV3Schema`: `apiVersion`, `kind` and `metadata`
 * are kept whatever the schema says (unknown `metadata` fields dropped),
 * the rest pruned, nulls dropped, defaults filled in; then the object and
 * its metadata (name, namespace, labels, annotations, finalizers) are
 * validated. CEL rules are not evaluated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { admitObject } from "./schema.ts";
 *
 * const schema = {
 *   type: "object",
 *   properties: {
 *     spec: { type: "object", properties: { replicas: { type: "integer", default: 1 } } },
 *   },
 * };
 * const { value, problems } = admitObject(schema, {
 *   apiVersion: "example.com/v1",
 *   kind: "Widget",
 *   metadata: { name: "w", labels: { app: "bad value!" } },
 *   spec: {},
 * }, { namespaced: true });
 * assert.deepEqual((value as { spec: unknown }).spec, { replicas: 1 });
 * assert.deepEqual(problems.map((p) => p.path), ["metadata.labels"]);
 * ```
 */
export function admitObject(
  schema: JSONSchemaProps,
  object: unknown,
  options: AdmitObjectOptions,
): Admission {
  if (!isObject(object)) {
    return {
      value: object,
      pruned: [],
      problems: [{
        path: "",
        reason: "FieldValueTypeInvalid",
        message: `expected an object, found ${
          object === null
            ? "null"
            : Array.isArray(object)
            ? "array"
            : typeof object
        }`,
      }],
    };
  }
  const problems: FieldProblem[] = [];
  nonFinite(object, "", problems);
  const copy = wire(object);
  const pruned: string[] = [];
  const metadata = copy.metadata;
  if (metadata !== undefined && !isObject(metadata)) {
    problems.push({
      path: "metadata",
      reason: "FieldValueTypeInvalid",
      message: `expected an object, found ${
        metadata === null
          ? "null"
          : Array.isArray(metadata)
          ? "array"
          : typeof metadata
      }`,
    });
  } else if (isObject(metadata)) {
    dropUnknownMeta(metadata, pruned, "metadata");
    if (!options.namespaced) delete metadata.namespace;
  }
  pruned.push(...prune(copy, schema, { path: "", root: true }));
  pruneNulls(copy, schema);
  coerceEmbeddedMeta(copy, schema, pruned, "");
  applyDefaults(copy, schema);
  if (options.dropStatus === true) delete copy.status;
  problems.push(...validate(schema, copy, ""));
  if (isObject(copy.metadata)) {
    problems.push(...objectMetaProblems(copy.metadata, {
      path: "metadata",
      namespaced: options.namespaced,
      rule: "subdomain",
      requireName: options.requireName ?? true,
    }));
  } else if (options.requireName ?? true) {
    problems.push({
      path: "metadata.name",
      reason: "FieldValueRequired",
      message: "name or generateName is required",
    });
  }
  if (options.rejectUnknownFields === true) {
    problems.push(...unknownProblems(pruned));
  }
  return { value: copy, problems, pruned: pruned.sort() };
}

/**
 * Options of {@linkcode schemaProblems}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schemaProblems, type SchemaProblemsOptions } from "./schema.ts";
 * const schema = { type: "object", properties: { size: { type: "string", examples: ["s"] } } };
 * const options: SchemaProblemsOptions = { path: "spec", refuseUnknownKeywords: true };
 * assert.equal(schemaProblems(schema, options)[0].path, "spec.size");
 * assert.deepEqual(schemaProblems(schema, { ...options, refuseUnknownKeywords: false }), []);
 * ```
 */
export interface SchemaProblemsOptions {
  /** The path of the schema, prefixed to every problem (default `spec`). */
  path?: string;
  /**
   * Report keywords a `JSONSchemaProps` does not have (`examples`,
   * `const`, …). The API server drops them silently, which can drop a
   * constraint: the library refuses them (default true).
   */
  refuseUnknownKeywords?: boolean;
}

/**
 * Every rule of a kube-apiserver 1.32 that a CRD schema (or a part of it,
 * such as the schema of `spec`) breaks, each with its path: structural
 * schema rules, list and map types, RE2 patterns, and defaults as the
 * server validates them (pruned, valid as written, formats checked).
 * Empty when the server would accept the schema. CEL rules are not
 * compiled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schemaProblems } from "./schema.ts";
 *
 * const problems = schemaProblems({
 *   type: "object",
 *   properties: {
 *     conf: { type: "object", default: {}, required: ["level"], properties: { level: { type: "integer", default: 3 } } },
 *   },
 * });
 * assert.equal(problems[0].path, "spec.conf.level"); // the server does not apply nested defaults to a default
 * ```
 */
export function schemaProblems(
  schema: unknown,
  options: SchemaProblemsOptions = {},
): FieldProblem[] {
  return structuralProblems(schema, {
    path: options.path ?? "spec",
    refuseUnknownKeywords: options.refuseUnknownKeywords ?? true,
  });
}
