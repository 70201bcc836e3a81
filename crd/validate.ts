/**
 * Runtime validation of values against a structural schema: the subset of
 * OpenAPI v3 a CustomResourceDefinition carries, with the Kubernetes
 * extensions (`nullable`, `x-kubernetes-int-or-string`,
 * `x-kubernetes-preserve-unknown-fields`, list types). No code generation,
 * no `eval`: it runs the same under Deno, Node and locked-down runtimes.
 *
 * @module
 */
import type { FieldProblem } from "./errors.ts";
import type { JSONSchemaProps } from "./schema.ts";

/**
 * Options of {@linkcode validateValue}.
 *
 * @example
 * ```ts ignore
 * const problems = validateValue(schema, value, { path: "spec", rejectUnknownFields: false });
 * ```
 */
export interface ValidateValueOptions {
  /** The path of the value, prefixed to every problem (such as `spec`). */
  path?: string;
  /**
   * Report fields the schema does not name (default true). The API server
   * would silently prune them, which usually hides a typo.
   */
  rejectUnknownFields?: boolean;
}

interface Context {
  problems: FieldProblem[];
  rejectUnknown: boolean;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return "integer";
    if (!Number.isFinite(value)) return String(value);
  }
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length &&
      keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

function key(path: string, name: string): string {
  const safe = /^[A-Za-z_$][\w$-]*$/.test(name);
  if (path === "") return safe ? name : `[${JSON.stringify(name)}]`;
  return safe ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default:
      return false;
  }
}

const patterns = new Map<string, RegExp>();

function compiled(pattern: string): RegExp {
  let regexp = patterns.get(pattern);
  if (regexp === undefined) {
    regexp = new RegExp(pattern, "u");
    patterns.set(pattern, regexp);
  }
  return regexp;
}

function checkValue(
  ctx: Context,
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
): void {
  const before = ctx.problems.length;
  const add = (message: string, at = path) =>
    ctx.problems.push({ path: at, message });
  if (value === null) {
    if (schema.nullable === true) return;
    if (schema.type !== undefined || schema["x-kubernetes-int-or-string"]) {
      add(`expected ${schema.type ?? "integer or string"}, found null`);
      return;
    }
  }
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (
      !(typeof value === "string" ||
        (typeof value === "number" && Number.isInteger(value)))
    ) {
      add(`expected integer or string, found ${describe(value)}`);
      return;
    }
  } else if (schema.type !== undefined && !matchesType(schema.type, value)) {
    add(`expected ${schema.type}, found ${describe(value)}`);
    return;
  }
  if (
    Array.isArray(schema.enum) && !schema.enum.some((v) => deepEqual(v, value))
  ) {
    add(
      `expected one of ${
        schema.enum.map((v) => JSON.stringify(v)).join(", ")
      }, found ${JSON.stringify(value)}`,
    );
  }
  if (typeof value === "string") checkString(schema, value, add);
  if (typeof value === "number") checkNumber(schema, value, add);
  if (Array.isArray(value)) checkArray(ctx, schema, value, path);
  if (isObject(value)) checkObject(ctx, schema, value, path);
  if (ctx.problems.length === before) checkJunctors(ctx, schema, value, path);
}

function checkString(
  schema: JSONSchemaProps,
  value: string,
  add: (message: string) => void,
): void {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    add(
      `expected at least ${schema.minLength} characters, found ${length}`,
    );
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    add(`expected at most ${schema.maxLength} characters, found ${length}`);
  }
  if (
    typeof schema.pattern === "string" && !compiled(schema.pattern).test(value)
  ) {
    add(
      `expected a string matching ${schema.pattern}, found ${
        JSON.stringify(value)
      }`,
    );
  }
}

function checkNumber(
  schema: JSONSchemaProps,
  value: number,
  add: (message: string) => void,
): void {
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum === true && !(value > schema.minimum)) {
      add(`expected a number greater than ${schema.minimum}, found ${value}`);
    } else if (value < schema.minimum) {
      add(`expected a number of at least ${schema.minimum}, found ${value}`);
    }
  }
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum === true && !(value < schema.maximum)) {
      add(`expected a number less than ${schema.maximum}, found ${value}`);
    } else if (value > schema.maximum) {
      add(`expected a number of at most ${schema.maximum}, found ${value}`);
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
    const quotient = value / schema.multipleOf;
    if (Math.abs(quotient - Math.round(quotient)) > 1e-9) {
      add(`expected a multiple of ${schema.multipleOf}, found ${value}`);
    }
  }
}

function checkArray(
  ctx: Context,
  schema: JSONSchemaProps,
  value: unknown[],
  path: string,
): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    ctx.problems.push({
      path,
      message:
        `expected at least ${schema.minItems} items, found ${value.length}`,
    });
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    ctx.problems.push({
      path,
      message:
        `expected at most ${schema.maxItems} items, found ${value.length}`,
    });
  }
  if (schema.items !== undefined) {
    value.forEach((item, i) =>
      checkValue(ctx, schema.items!, item, `${path}[${i}]`)
    );
  }
  const listType = schema["x-kubernetes-list-type"];
  const mapKeys = schema["x-kubernetes-list-map-keys"];
  if (listType === "set" || (listType === "map" && Array.isArray(mapKeys))) {
    const seen: unknown[] = [];
    value.forEach((item, i) => {
      const identity = listType === "set"
        ? item
        : mapKeys!.map((k) => isObject(item) ? item[k] : undefined);
      if (seen.some((s) => deepEqual(s, identity))) {
        ctx.problems.push({
          path: `${path}[${i}]`,
          message: listType === "set"
            ? `expected unique items (x-kubernetes-list-type: set), found a duplicate of ${
              JSON.stringify(item)
            }`
            : `expected unique keys ${
              mapKeys!.join(", ")
            } (x-kubernetes-list-type: map), found a duplicate ${
              JSON.stringify(identity)
            }`,
        });
      }
      seen.push(identity);
    });
  }
}

function checkObject(
  ctx: Context,
  schema: JSONSchemaProps,
  value: Record<string, unknown>,
  path: string,
): void {
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (value[name] === undefined && properties[name]?.default === undefined) {
      ctx.problems.push({ path: key(path, name), message: "is required" });
    }
  }
  const count = Object.keys(value).length;
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    ctx.problems.push({
      path,
      message: `expected at least ${schema.minProperties} keys, found ${count}`,
    });
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    ctx.problems.push({
      path,
      message: `expected at most ${schema.maxProperties} keys, found ${count}`,
    });
  }
  const additional = schema.additionalProperties;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true ||
    additional === true;
  for (const name of Object.keys(value)) {
    const field = value[name];
    if (field === undefined) continue;
    const known = Object.hasOwn(properties, name)
      ? properties[name]
      : undefined;
    if (known !== undefined) {
      checkValue(ctx, known, field, key(path, name));
    } else if (typeof additional === "object") {
      checkValue(ctx, additional, field, key(path, name));
    } else if (
      !preserve && ctx.rejectUnknown && schema.type !== undefined
    ) {
      ctx.problems.push({
        path: key(path, name),
        message: "unknown field (the schema does not define it)",
      });
    }
  }
}

function passes(
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
): boolean {
  const inner: Context = { problems: [], rejectUnknown: false };
  checkValue(inner, schema, value, path);
  return inner.problems.length === 0;
}

function checkJunctors(
  ctx: Context,
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
): void {
  for (const branch of schema.allOf ?? []) {
    checkValue(
      { problems: ctx.problems, rejectUnknown: false },
      branch,
      value,
      path,
    );
  }
  if (
    schema.anyOf !== undefined &&
    !schema.anyOf.some((b) => passes(b, value, path))
  ) {
    ctx.problems.push({
      path,
      message:
        `expected a value matching at least one of ${schema.anyOf.length} anyOf schemas, found none`,
    });
  }
  if (schema.oneOf !== undefined) {
    const matching = schema.oneOf.filter((b) => passes(b, value, path));
    if (matching.length !== 1) {
      ctx.problems.push({
        path,
        message:
          `expected a value matching exactly one of ${schema.oneOf.length} oneOf schemas, found ${matching.length}`,
      });
    }
  }
  if (schema.not !== undefined && passes(schema.not, value, path)) {
    ctx.problems.push({
      path,
      message: "expected a value not matching the not schema, found a match",
    });
  }
}

/**
 * Checks `value` against a structural schema and returns every problem
 * found, each with its path (`spec.replicas`, `spec.ports[1].name`). An
 * empty list means the value is valid. Defaults are not applied (the API
 * server does that), so a missing required field that has a default is
 * accepted.
 *
 * @example
 * ```ts
 * import { validateValue } from "./validate.ts";
 *
 * const problems = validateValue(
 *   { type: "object", properties: { replicas: { type: "integer", minimum: 1 } } },
 *   { replicas: 0 },
 *   { path: "spec" },
 * );
 * console.log(problems); // [{ path: "spec.replicas", message: "expected a number of at least 1, found 0" }]
 * ```
 */
export function validateValue(
  schema: JSONSchemaProps,
  value: unknown,
  options: ValidateValueOptions = {},
): FieldProblem[] {
  const ctx: Context = {
    problems: [],
    rejectUnknown: options.rejectUnknownFields ?? true,
  };
  checkValue(ctx, schema, value, options.path ?? "");
  return ctx.problems;
}
