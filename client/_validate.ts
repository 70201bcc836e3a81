/**
 * Validation of a (pruned, defaulted) value as the API server does it:
 * kube-openapi's schema validator with its quirks (numbers compared in
 * their decoded Go type, enums converted to the enum value's type, a
 * relative epsilon for `multipleOf`), then `x-kubernetes-list-type`
 * uniqueness and embedded resources. CEL rules (`x-kubernetes-validations`)
 * are not evaluated: only the server can.
 *
 * @module
 */
import { checkedFormat, matchesFormat } from "./_formats.ts";
import {
  child,
  goTrunc,
  index,
  isInt64,
  isObject,
  jsonEqual,
  type JsonObject,
} from "./_json.ts";
import { isDNS1035Label, objectMetaProblems } from "./_meta.ts";
import { compilePattern } from "./_regexp.ts";
import type { FieldProblem, JSONSchemaProps } from "./schema.ts";

type Add = (problem: FieldProblem) => void;

const MAX_JSON_FLOAT = 2 ** 53 - 1;

/** go-openapi/swag 0.23 `IsFloat64AJSONInteger`, `uint64(f)` as on amd64. */
export function isFloat64AJSONInteger(f: number): boolean {
  if (!Number.isFinite(f) || f < -MAX_JSON_FLOAT || f > MAX_JSON_FLOAT) {
    return false;
  }
  const truncated = goTrunc(f);
  const g = f >= 0 || truncated === 0
    ? Math.abs(truncated)
    : 2 ** 64 + truncated;
  if (f === g || f === truncated) return true;
  const diff = Math.abs(f - g);
  if (f === 0 || g === 0 || diff < Number.MIN_VALUE) return false;
  return diff / Math.min(Math.abs(f) + Math.abs(g), Number.MAX_VALUE) < 1e-9;
}

/** The JSON type the server sees for a value. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return isInt64(value) ? "integer" : "number";
  if (typeof value === "object") return "object";
  return typeof value;
}

function describe(value: unknown): string {
  const kind = kindOf(value);
  if (kind === "number" && Number.isInteger(value)) {
    return `${value}, an integer beyond the int64 range (a float to the server)`;
  }
  return kind;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function typeOk(schema: JSONSchemaProps, value: unknown): boolean {
  const kind = kindOf(value);
  const types = schema["x-kubernetes-int-or-string"] === true
    ? ["integer", "string"]
    : schema.type === undefined
    ? []
    : [schema.type];
  if (types.length === 0) return true;
  if (types.includes(kind)) return true;
  if (kind === "number" && types.includes("integer")) {
    return isFloat64AJSONInteger(value as number);
  }
  return kind === "integer" && types.includes("number");
}

/** A bound or factor fits the schema's numeric type (`IsValueValidAgainstRange`). */
function fitsType(schema: JSONSchemaProps, constraint: number): boolean {
  if (schema.type !== "integer") return true;
  return Number.isInteger(constraint) && isInt64(constraint) &&
    Math.abs(constraint) < 1e21;
}

function multipleOfFloat(data: number, factor: number): boolean {
  const mult = factor < 1 ? (1 / factor) * data : data / factor;
  return isFloat64AJSONInteger(mult);
}

function checkNumber(
  schema: JSONSchemaProps,
  value: number,
  path: string,
  add: Add,
): void {
  const native = isInt64(value);
  const factor = schema.multipleOf;
  if (factor !== undefined) {
    if (factor <= 0) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: `expected a positive multipleOf, found ${factor}`,
      });
    } else if (fitsType(schema, factor) && native) {
      const f = goTrunc(factor);
      if (f <= 0) {
        add({
          path,
          reason: "FieldValueInvalid",
          message:
            `expected a number the server can check against multipleOf ${factor}: it compares integers with the factor truncated to ${f}, found ${value}`,
        });
      } else if (value % f !== 0) {
        add({
          path,
          reason: "FieldValueInvalid",
          message: `expected a multiple of ${f}, found ${value}`,
        });
      }
    } else if (!multipleOfFloat(value, factor)) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: `expected a multiple of ${factor}, found ${value}`,
      });
    }
  }
  const bound = (limit: number) =>
    fitsType(schema, limit) && native ? goTrunc(limit) : limit;
  if (schema.maximum !== undefined) {
    const max = bound(schema.maximum);
    if (schema.exclusiveMaximum === true ? value >= max : value > max) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: `expected a number ${
          schema.exclusiveMaximum === true ? "less than" : "of at most"
        } ${schema.maximum}, found ${value}`,
      });
    }
  }
  if (schema.minimum !== undefined) {
    const min = bound(schema.minimum);
    if (schema.exclusiveMinimum === true ? value <= min : value < min) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: `expected a number ${
          schema.exclusiveMinimum === true ? "greater than" : "of at least"
        } ${schema.minimum}, found ${value}`,
      });
    }
  }
}

/** `max*`/`min*` of lengths, items and keys, with the server's reasons. */
function checkCount(
  add: Add,
  path: string,
  count: { found: number; min?: number; max?: number; unit: string },
): void {
  if (count.max !== undefined && count.found > count.max) {
    add({
      path,
      reason: count.unit === "characters"
        ? "FieldValueTooLong"
        : "FieldValueTooMany",
      message:
        `expected at most ${count.max} ${count.unit}, found ${count.found}`,
    });
  }
  if (count.min !== undefined && count.found < count.min) {
    add({
      path,
      reason: "FieldValueInvalid",
      message:
        `expected at least ${count.min} ${count.unit}, found ${count.found}`,
    });
  }
}

function checkString(
  schema: JSONSchemaProps,
  value: string,
  path: string,
  add: Add,
): void {
  checkCount(add, path, {
    found: [...value].length,
    min: schema.minLength,
    max: schema.maxLength,
    unit: "characters",
  });
  if (typeof schema.pattern === "string") {
    const pattern = compilePattern(schema.pattern);
    if (pattern instanceof Error) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: `expected a valid RE2 pattern, found ${
          show(schema.pattern)
        }: ${pattern.message}`,
      });
    } else if (!pattern.test(value)) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: `expected a string matching ${schema.pattern} (RE2), found ${
          show(value)
        }`,
      });
    }
  }
  if (
    typeof schema.format === "string" && !matchesFormat(schema.format, value)
  ) {
    add({
      path,
      reason: "FieldValueInvalid",
      message: `expected a string of format ${
        checkedFormat(schema.format)
      }, found ${show(value)}`,
    });
  }
}

/** kube-openapi's enum check: the value converted to each enum value's Go type. */
function enumMatches(candidate: unknown, value: unknown): boolean {
  if (candidate === null || value === null || value === undefined) return false;
  if (typeof candidate === "number" && typeof value === "number") {
    return isInt64(candidate) && !isInt64(value)
      ? goTrunc(value) === candidate
      : value === candidate;
  }
  if (typeof candidate === "string" && typeof value === "number") {
    return isInt64(value) && value >= 0 && value <= 0x10ffff &&
      !(value >= 0xd800 && value <= 0xdfff) &&
      String.fromCodePoint(value) === candidate;
  }
  return jsonEqual(candidate, value);
}

/** A validation pass over one value. */
export class Validator {
  readonly problems: FieldProblem[] = [];
  readonly #add: Add = (problem) => this.problems.push(problem);

  /** Validates `value` at `path` against `schema` (kube-openapi). */
  value(schema: JSONSchemaProps, value: unknown, path: string): void {
    const add = this.#add;
    if (value === null) {
      if (
        schema.nullable !== true &&
        (schema.type !== undefined ||
          schema["x-kubernetes-int-or-string"] === true)
      ) {
        add({
          path,
          reason: "FieldValueTypeInvalid",
          message: `expected ${
            schema["x-kubernetes-int-or-string"] === true
              ? "integer or string"
              : schema.type
          }, found null`,
        });
      }
      if (Array.isArray(schema.enum) && schema.enum.length > 0) {
        add({
          path,
          reason: "FieldValueNotSupported",
          message: `expected one of ${
            schema.enum.map(show).join(", ")
          }, found null (the API server never accepts null for a field with an enum)`,
        });
      }
      return;
    }
    if (!typeOk(schema, value)) {
      add({
        path,
        reason: "FieldValueTypeInvalid",
        message: `expected ${
          schema["x-kubernetes-int-or-string"] === true
            ? "integer or string"
            : schema.type
        }, found ${describe(value)}`,
      });
      return;
    }
    this.#junctors(schema, value, path);
    if (typeof value === "string") checkString(schema, value, path, add);
    if (typeof value === "number") checkNumber(schema, value, path, add);
    if (Array.isArray(value)) this.#array(schema, value, path);
    if (
      Array.isArray(schema.enum) && schema.enum.length > 0 &&
      !schema.enum.some((c) => enumMatches(c, value))
    ) {
      add({
        path,
        reason: "FieldValueNotSupported",
        message: `expected one of ${schema.enum.map(show).join(", ")}, found ${
          show(value)
        }`,
      });
    }
    if (isObject(value)) this.#object(schema, value, path);
  }

  #passes(schema: JSONSchemaProps, value: unknown, path: string): boolean {
    const inner = new Validator();
    inner.value(schema, value, path);
    return inner.problems.length === 0;
  }

  #junctors(schema: JSONSchemaProps, value: unknown, path: string): void {
    const add = this.#add;
    for (const branch of schema.allOf ?? []) {
      if (!this.#passes(branch, value, path)) {
        this.value(branch, value, path);
        add({
          path,
          reason: "FieldValueInvalid",
          message: "expected a value valid for all of the allOf schemas",
        });
      }
    }
    if (
      schema.anyOf !== undefined &&
      !schema.anyOf.some((b) => this.#passes(b, value, path))
    ) {
      add({
        path,
        reason: "FieldValueInvalid",
        message:
          `expected a value matching at least one of ${schema.anyOf.length} anyOf schemas, found none`,
      });
    }
    if (schema.oneOf !== undefined) {
      const count = schema.oneOf.filter((b) =>
        this.#passes(b, value, path)
      ).length;
      if (count !== 1) {
        add({
          path,
          reason: "FieldValueInvalid",
          message:
            `expected a value matching exactly one of ${schema.oneOf.length} oneOf schemas, found ${count}`,
        });
      }
    }
    if (schema.not !== undefined && this.#passes(schema.not, value, path)) {
      add({
        path,
        reason: "FieldValueInvalid",
        message: "expected a value not matching the not schema, found a match",
      });
    }
  }

  #array(schema: JSONSchemaProps, value: unknown[], path: string): void {
    checkCount(this.#add, path, {
      found: value.length,
      min: schema.minItems,
      max: schema.maxItems,
      unit: "items",
    });
    if (schema.items !== undefined) {
      value.forEach((item, i) =>
        this.value(schema.items!, item, index(path, i))
      );
    }
  }

  #object(schema: JSONSchemaProps, value: JsonObject, path: string): void {
    const add = this.#add;
    checkCount(add, path, {
      found: Object.keys(value).length,
      min: schema.minProperties,
      max: schema.maxProperties,
      unit: "keys",
    });
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(value, name)) {
        add({
          path: child(path, name),
          reason: "FieldValueRequired",
          message: "is required",
        });
      }
    }
    const properties = schema.properties ?? {};
    const more = isObject(schema.additionalProperties)
      ? schema.additionalProperties as JSONSchemaProps
      : undefined;
    for (const [name, field] of Object.entries(value)) {
      if (Object.hasOwn(properties, name)) {
        this.value(properties[name], field, child(path, name));
      } else if (more !== undefined) {
        this.value(more, field, child(path, name));
      } else if (schema.additionalProperties === false) {
        add({
          path: child(path, name),
          reason: "FieldValueForbidden",
          message: "is not allowed (additionalProperties: false)",
        });
      }
    }
  }

  /** `x-kubernetes-list-type` set and map uniqueness, everywhere in `value`. */
  lists(
    schema: JSONSchemaProps | undefined,
    value: unknown,
    path: string,
  ): void {
    if (schema === undefined) return;
    if (isObject(value)) {
      const more = isObject(schema.additionalProperties)
        ? schema.additionalProperties as JSONSchemaProps
        : undefined;
      for (const [name, field] of Object.entries(value)) {
        const sub = schema.properties?.[name] ?? more;
        this.lists(sub, field, child(path, name));
      }
      return;
    }
    if (!Array.isArray(value)) return;
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set") {
      this.#unique(value, path, (item) => `a duplicate of ${show(item)}`);
    }
    if (listType === "map") {
      const keys = schema["x-kubernetes-list-map-keys"] ?? [];
      const bad = value.findIndex((item) => item !== null && !isObject(item));
      if (bad >= 0) {
        this.#add({
          path: index(path, bad),
          reason: "FieldValueInvalid",
          message:
            `expected an object in a list of x-kubernetes-list-type map, found ${
              show(value[bad])
            }`,
        });
      } else {
        const identities = value.map((item) => {
          const id: JsonObject = {};
          for (const key of keys) {
            if (isObject(item) && Object.hasOwn(item, key)) id[key] = item[key];
          }
          return id;
        });
        this.#unique(
          identities,
          path,
          (id) =>
            `a duplicate of the keys ${show(id)} (x-kubernetes-list-type map)`,
        );
      }
    }
    if (schema.items !== undefined) {
      value.forEach((item, i) =>
        this.lists(schema.items, item, index(path, i))
      );
    }
  }

  #unique(
    identities: unknown[],
    path: string,
    describe: (identity: unknown) => string,
  ): void {
    const seen: unknown[] = [];
    const reported: unknown[] = [];
    identities.forEach((identity, i) => {
      if (seen.some((s) => jsonEqual(s, identity))) {
        if (!reported.some((r) => jsonEqual(r, identity))) {
          reported.push(identity);
          this.#add({
            path: index(path, i),
            reason: "FieldValueDuplicate",
            message: `expected unique items, found ${describe(identity)}`,
          });
        }
      } else {
        seen.push(identity);
      }
    });
  }

  /** Embedded resources (`x-kubernetes-embedded-resource`): apiVersion, kind, metadata. */
  embedded(
    schema: JSONSchemaProps | undefined,
    value: unknown,
    path: string,
  ): void {
    if (schema === undefined) return;
    if (isObject(value)) {
      if (schema["x-kubernetes-embedded-resource"] === true) {
        this.#resource(value, path);
      }
      const more = isObject(schema.additionalProperties)
        ? schema.additionalProperties as JSONSchemaProps
        : undefined;
      for (const [name, field] of Object.entries(value)) {
        const sub = schema.properties?.[name] ?? more;
        this.embedded(sub, field, child(path, name));
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) =>
        this.embedded(schema.items, item, index(path, i))
      );
    }
  }

  #resource(value: JsonObject, path: string): void {
    const add = this.#add;
    for (const key of ["apiVersion", "kind"]) {
      const field = value[key];
      if (!Object.hasOwn(value, key)) {
        add({
          path: child(path, key),
          reason: "FieldValueRequired",
          message: "is required in an embedded resource",
        });
      } else if (typeof field !== "string" || field === "") {
        add({
          path: child(path, key),
          reason: "FieldValueInvalid",
          message: `expected a non-empty string, found ${show(field)}`,
        });
      } else if (key === "apiVersion" && field.split("/").length > 2) {
        add({
          path: child(path, key),
          reason: "FieldValueInvalid",
          message: `expected group/version, found ${show(field)}`,
        });
      } else if (key === "kind" && !isDNS1035Label(field.toLowerCase())) {
        add({
          path: child(path, key),
          reason: "FieldValueInvalid",
          message:
            `expected a kind (letters, digits, '-', starting with a letter), found ${
              show(field)
            }`,
        });
      }
    }
    if (Object.hasOwn(value, "metadata")) {
      const meta = value.metadata;
      if (!isObject(meta)) {
        add({
          path: child(path, "metadata"),
          reason: "FieldValueInvalid",
          message: `expected an object, found ${show(meta)}`,
        });
      } else {
        for (
          const problem of objectMetaProblems(meta, {
            path: child(path, "metadata"),
            namespaced: typeof meta.namespace === "string" &&
              meta.namespace !== "",
            rule: "path-segment",
            requireName: false,
          })
        ) add(problem);
      }
    }
  }
}
