/**
 * The rules a kube-apiserver 1.32 applies to a CustomResourceDefinition's
 * schema (apiextensions validation and structural-schema checks): types,
 * junctors, list and map types, RE2 patterns, and defaults validated the
 * way the server validates them (pruned, no nested defaults applied).
 *
 * @module
 */
import { prune } from "./_admit.ts";
import { isObject, jsonEqual } from "./_json.ts";
import { compilePattern } from "./_regexp.ts";
import { Validator } from "./_validate.ts";
import type { FieldProblem, JSONSchemaProps } from "./schema.ts";

type Schema = Record<string, unknown>;

const isSchema = isObject;

const TYPES = new Set([
  "object",
  "array",
  "string",
  "integer",
  "number",
  "boolean",
]);

const SUPPORTED = new Set([
  "type",
  "description",
  "format",
  "title",
  "default",
  "properties",
  "additionalProperties",
  "required",
  "items",
  "enum",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "nullable",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
  "example",
  "externalDocs",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
]);

const HINTS: Record<string, string> = {
  $ref: "$ref is not supported: inline the referenced schema",
  $id: "$id is not supported",
  id: "id is not supported",
  $schema: "$schema is not supported",
  definitions: "definitions is not supported: inline the schemas",
  $defs: "$defs is not supported: inline the schemas",
  dependencies: "dependencies is not supported",
  additionalItems:
    "additionalItems is not supported: tuples cannot be expressed, use an array of one item schema",
  patternProperties:
    "patternProperties is not supported: use additionalProperties (Type.Record(Type.String(), …))",
  const: "const is not supported: use enum",
};

type Level = "root" | "field" | "item";

interface Walk {
  problems: FieldProblem[];
  refuseUnknownKeywords: boolean;
}

function childPath(path: string, name: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(name)
    ? `${path}.${name}`
    : `${path}[${JSON.stringify(name)}]`;
}

function report(walk: Walk, path: string, message: string): void {
  walk.problems.push({ path, message, reason: "FieldValueInvalid" });
}

function checkKeywords(walk: Walk, schema: Schema, path: string): void {
  for (const key of Object.keys(schema)) {
    if (SUPPORTED.has(key)) continue;
    if (!walk.refuseUnknownKeywords && !Object.hasOwn(HINTS, key)) continue;
    report(
      walk,
      path,
      HINTS[key] ??
        `keyword ${key} is not supported in a CustomResourceDefinition schema`,
    );
  }
  for (const key of ["exclusiveMinimum", "exclusiveMaximum"]) {
    if (key in schema && typeof schema[key] !== "boolean") {
      report(
        walk,
        path,
        `${key} must be a boolean in OpenAPI v3.0 (set minimum/maximum and ${key}: true), found ${
          JSON.stringify(schema[key])
        }`,
      );
    }
  }
  if (schema.uniqueItems === true) {
    report(
      walk,
      path,
      "uniqueItems cannot be set to true (quadratic cost): use x-kubernetes-list-type: set",
    );
  }
  if (typeof schema.pattern === "string") {
    const compiled = compilePattern(schema.pattern);
    if (compiled instanceof Error) {
      report(
        walk,
        path,
        `pattern must be a valid RE2 regular expression (the API server compiles it with Go's regexp), found ${
          JSON.stringify(schema.pattern)
        }: ${compiled.message}`,
      );
    }
  }
}

/** Checks a node of the structure (not inside a junctor). */
function checkNode(
  walk: Walk,
  schema: unknown,
  path: string,
  level: Level,
): void {
  if (!isSchema(schema)) {
    report(
      walk,
      path,
      `expected a schema object, found ${JSON.stringify(schema)}`,
    );
    return;
  }
  checkKeywords(walk, schema, path);
  checkType(walk, schema, { path, level });
  checkListType(walk, schema, path);
  checkListMapKeys(walk, schema, path);
  checkMapType(walk, schema, path);
  checkChildren(walk, schema, path);
  checkJunctors(walk, schema, path);
  if (schema.default !== undefined && schema.default !== null) {
    checkDefault(walk, schema as JSONSchemaProps, path);
  }
}

/**
 * The type of a node and the extensions that constrain it:
 * `x-kubernetes-int-or-string`, `-preserve-unknown-fields`,
 * `-embedded-resource`.
 */
function checkType(
  walk: Walk,
  schema: Schema,
  at: { path: string; level: Level },
): void {
  const { path, level } = at;
  const type = schema.type;
  const intOrString = schema["x-kubernetes-int-or-string"] === true;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"];
  const embedded = schema["x-kubernetes-embedded-resource"] === true;
  if (type === undefined) {
    if (!intOrString && preserve !== true) {
      report(
        walk,
        path,
        level === "item"
          ? "type must not be empty for specified array items"
          : level === "root"
          ? "type must not be empty at the root"
          : "type must not be empty for specified object fields (only x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields allow that)",
      );
    }
  } else if (type === "null") {
    report(
      walk,
      path,
      "type cannot be null: use nullable: true (Type.Union([X, Type.Null()]))",
    );
  } else if (typeof type !== "string" || !TYPES.has(type)) {
    report(
      walk,
      path,
      `type must be one of ${[...TYPES].join(", ")}, found ${
        JSON.stringify(type)
      }`,
    );
  }
  if (intOrString && type !== undefined) {
    report(
      walk,
      path,
      "type must be empty if x-kubernetes-int-or-string is true",
    );
  }
  if (intOrString && preserve === true) {
    report(
      walk,
      path,
      "x-kubernetes-preserve-unknown-fields must be false if x-kubernetes-int-or-string is true",
    );
  }
  if (preserve !== undefined && preserve !== true) {
    report(
      walk,
      path,
      "x-kubernetes-preserve-unknown-fields must be true or undefined",
    );
  }
  if (embedded && type !== "object") {
    report(
      walk,
      path,
      "type must be object if x-kubernetes-embedded-resource is true",
    );
  }
  if (
    embedded && preserve !== true &&
    (!isSchema(schema.properties) ||
      Object.keys(schema.properties).length === 0)
  ) {
    report(
      walk,
      path,
      "properties must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
    );
  }
}

/** `x-kubernetes-list-type`, and what a set or map list needs of its items. */
function checkListType(walk: Walk, schema: Schema, path: string): void {
  const type = schema.type;
  const listType = schema["x-kubernetes-list-type"];
  if (listType !== undefined) {
    if (type !== "array") {
      report(
        walk,
        path,
        "type must be array if x-kubernetes-list-type is specified",
      );
    }
    if (listType !== "atomic" && listType !== "set" && listType !== "map") {
      report(
        walk,
        path,
        `x-kubernetes-list-type must be atomic, set or map, found ${
          JSON.stringify(listType)
        }`,
      );
    }
  }
  const itemSchema = isSchema(schema.items) ? schema.items : undefined;
  if (
    (listType === "set" || listType === "map") && itemSchema?.nullable === true
  ) {
    report(
      walk,
      `${path}[*]`,
      `items cannot be nullable when x-kubernetes-list-type is ${listType}`,
    );
  }
  if (listType === "set" && itemSchema !== undefined) {
    if (
      itemSchema.type === "object" &&
      itemSchema["x-kubernetes-map-type"] !== "atomic"
    ) {
      report(
        walk,
        `${path}[*]`,
        "items of a list with x-kubernetes-list-type set must be scalars, or objects with x-kubernetes-map-type atomic (the API server compares them whole)",
      );
    }
    if (
      itemSchema.type === "array" &&
      itemSchema["x-kubernetes-list-type"] !== undefined &&
      itemSchema["x-kubernetes-list-type"] !== "atomic"
    ) {
      report(
        walk,
        `${path}[*]`,
        "items of a list with x-kubernetes-list-type set that are lists must have x-kubernetes-list-type atomic",
      );
    }
  }
}

/** `x-kubernetes-list-map-keys`: set exactly on map lists, naming scalar, required item properties. */
function checkListMapKeys(walk: Walk, schema: Schema, path: string): void {
  const listType = schema["x-kubernetes-list-type"];
  const mapKeys = schema["x-kubernetes-list-map-keys"];
  if (listType === "map") {
    const items = isSchema(schema.items) ? schema.items : undefined;
    if (!Array.isArray(mapKeys) || mapKeys.length === 0) {
      report(
        walk,
        path,
        "x-kubernetes-list-map-keys must not be empty if x-kubernetes-list-type is map",
      );
    } else if (items?.type !== "object") {
      report(
        walk,
        path,
        "items must be of type object if x-kubernetes-list-type is map",
      );
    } else {
      const props = isSchema(items.properties) ? items.properties : {};
      const required = Array.isArray(items.required) ? items.required : [];
      for (const key of mapKeys) {
        const prop = props[String(key)];
        if (!isSchema(prop)) {
          report(
            walk,
            path,
            `x-kubernetes-list-map-keys entry ${
              JSON.stringify(key)
            } must name an item property`,
          );
        } else {
          if (!required.includes(key) && prop.default === undefined) {
            report(
              walk,
              path,
              `x-kubernetes-list-map-keys entry ${
                JSON.stringify(key)
              } must be required or have a default`,
            );
          }
          if (prop.type === "object" || prop.type === "array") {
            report(
              walk,
              path,
              `x-kubernetes-list-map-keys entry ${
                JSON.stringify(key)
              } must be a scalar (string, integer, number or boolean), found ${prop.type}`,
            );
          }
          if (prop.nullable === true) {
            report(
              walk,
              path,
              `x-kubernetes-list-map-keys entry ${
                JSON.stringify(key)
              } cannot be nullable`,
            );
          }
        }
      }
    }
  } else if (mapKeys !== undefined) {
    report(
      walk,
      path,
      "x-kubernetes-list-type must be map if x-kubernetes-list-map-keys is set",
    );
  }
}

/** `x-kubernetes-map-type`: on objects only, atomic or granular. */
function checkMapType(walk: Walk, schema: Schema, path: string): void {
  const type = schema.type;
  const mapType = schema["x-kubernetes-map-type"];
  if (mapType !== undefined) {
    if (type !== "object") {
      report(
        walk,
        path,
        "type must be object if x-kubernetes-map-type is specified",
      );
    }
    if (mapType !== "atomic" && mapType !== "granular") {
      report(
        walk,
        path,
        `x-kubernetes-map-type must be atomic or granular, found ${
          JSON.stringify(mapType)
        }`,
      );
    }
  }
}

/** `items`, `properties` and `additionalProperties`, each child checked in turn. */
function checkChildren(walk: Walk, schema: Schema, path: string): void {
  const type = schema.type;
  if (type === "array" && schema.items === undefined) {
    report(walk, path, "items must be specified for type array");
  }
  if (Array.isArray(schema.items)) {
    report(
      walk,
      path,
      "items must be a schema object and not an array (tuples are not supported)",
    );
  } else if (schema.items !== undefined) {
    checkNode(walk, schema.items, `${path}[*]`, "item");
  }
  const properties = schema.properties;
  if (properties !== undefined) {
    if (!isSchema(properties)) {
      report(walk, path, "properties must be an object of schemas");
    } else {
      for (const name of Object.keys(properties)) {
        checkNode(walk, properties[name], childPath(path, name), "field");
      }
    }
  }
  const additional = schema.additionalProperties;
  if (additional === false) {
    report(
      walk,
      path,
      "additionalProperties cannot be false: Kubernetes prunes unknown fields instead (drop it)",
    );
  } else if (additional !== undefined) {
    if (isSchema(properties) && Object.keys(properties).length > 0) {
      report(
        walk,
        path,
        "additionalProperties and properties are mutually exclusive (properties are for structs, additionalProperties for maps)",
      );
    }
    if (isSchema(additional)) checkNode(walk, additional, `${path}.*`, "field");
  }
}

function isIntOrStringPair(branches: unknown): boolean {
  return Array.isArray(branches) && branches.length === 2 &&
    isSchema(branches[0]) && isSchema(branches[1]) &&
    Object.keys(branches[0]).length === 1 && branches[0].type === "integer" &&
    Object.keys(branches[1]).length === 1 && branches[1].type === "string";
}

function checkJunctors(walk: Walk, schema: Schema, path: string): void {
  const intOrString = schema["x-kubernetes-int-or-string"] === true;
  for (const junctor of ["allOf", "anyOf", "oneOf"] as const) {
    const branches = schema[junctor];
    if (branches === undefined) continue;
    if (!Array.isArray(branches)) {
      report(walk, path, `${junctor} must be an array of schemas`);
      continue;
    }
    if (junctor === "anyOf" && intOrString && isIntOrStringPair(branches)) {
      continue;
    }
    branches.forEach((branch, i) => {
      if (
        junctor === "allOf" && i === 0 && intOrString && isSchema(branch) &&
        isIntOrStringPair(branch.anyOf)
      ) {
        const rest = { ...branch };
        delete rest.anyOf;
        checkNested(walk, rest, schema, `${path}.allOf[0]`);
        return;
      }
      checkNested(walk, branch, schema, `${path}.${junctor}[${i}]`);
    });
  }
  if (schema.not !== undefined) {
    checkNested(walk, schema.not, schema, `${path}.not`);
  }
}

const NESTED_FORBIDDEN: Record<string, string> = {
  type: "type must be empty inside allOf, anyOf, oneOf or not",
  default: "default must be undefined inside allOf, anyOf, oneOf or not",
  description: "description must be empty inside allOf, anyOf, oneOf or not",
  title: "title must be empty inside allOf, anyOf, oneOf or not",
  nullable: "nullable must be false inside allOf, anyOf, oneOf or not",
  additionalProperties:
    "additionalProperties must be undefined inside allOf, anyOf, oneOf or not",
  "x-kubernetes-preserve-unknown-fields":
    "x-kubernetes-preserve-unknown-fields must be false inside allOf, anyOf, oneOf or not",
  "x-kubernetes-embedded-resource":
    "x-kubernetes-embedded-resource must be false inside allOf, anyOf, oneOf or not",
  "x-kubernetes-int-or-string":
    "x-kubernetes-int-or-string must be false inside allOf, anyOf, oneOf or not",
  "x-kubernetes-list-type":
    "x-kubernetes-list-type must be undefined inside allOf, anyOf, oneOf or not",
  "x-kubernetes-list-map-keys":
    "x-kubernetes-list-map-keys must be empty inside allOf, anyOf, oneOf or not",
  "x-kubernetes-map-type":
    "x-kubernetes-map-type must be undefined inside allOf, anyOf, oneOf or not",
  "x-kubernetes-validations":
    "x-kubernetes-validations must be empty inside allOf, anyOf, oneOf or not",
};

/**
 * A value validation under a junctor: no types, defaults, descriptions or
 * extensions, and every field or item it names must also be specified by
 * the structure around it (`outer`).
 */
function checkNested(
  walk: Walk,
  schema: unknown,
  outer: Schema | undefined,
  path: string,
): void {
  if (!isSchema(schema)) {
    report(
      walk,
      path,
      `expected a schema object, found ${JSON.stringify(schema)}`,
    );
    return;
  }
  checkKeywords(walk, schema, path);
  for (const key of Object.keys(schema)) {
    const message = NESTED_FORBIDDEN[key];
    if (message !== undefined) {
      report(
        walk,
        path,
        `${message}, found ${key} (only value validations may go there: a union of typed schemas is not structural, and an intersection of objects must be merged, as Type.Evaluate(Type.Intersect([...])) does)`,
      );
    }
  }
  const properties = schema.properties;
  if (isSchema(properties)) {
    const outerProps = outer && isSchema(outer.properties)
      ? outer.properties
      : undefined;
    const outerMap = outer && isSchema(outer.additionalProperties)
      ? outer.additionalProperties
      : undefined;
    for (const name of Object.keys(properties)) {
      const fieldPath = childPath(path, name);
      if (name === "metadata") {
        report(
          walk,
          fieldPath,
          "metadata must not be specified inside allOf, anyOf, oneOf or not",
        );
      }
      const outerField = outerProps && isSchema(outerProps[name])
        ? outerProps[name] as Schema
        : undefined;
      if (outerField === undefined && outerMap === undefined) {
        report(
          walk,
          fieldPath,
          `field ${
            JSON.stringify(name)
          } must also be specified outside allOf, anyOf, oneOf or not`,
        );
      }
      checkNested(walk, properties[name], outerField ?? outerMap, fieldPath);
    }
  }
  if (schema.items !== undefined) {
    const outerItems = outer && isSchema(outer.items) ? outer.items : undefined;
    if (outerItems === undefined) {
      report(
        walk,
        `${path}[*]`,
        "items must also be specified outside allOf, anyOf, oneOf or not",
      );
    }
    checkNested(walk, schema.items, outerItems, `${path}[*]`);
  }
  for (const junctor of ["allOf", "anyOf", "oneOf"] as const) {
    const branches = schema[junctor];
    if (Array.isArray(branches)) {
      branches.forEach((branch, i) =>
        checkNested(walk, branch, outer, `${path}.${junctor}[${i}]`)
      );
    }
  }
  if (schema.not !== undefined) {
    checkNested(walk, schema.not, outer, `${path}.not`);
  }
}

/**
 * A default as the API server checks it: it must have no field the schema
 * would prune, and must be valid as written: nested defaults are not
 * applied first, and formats are checked.
 */
function checkDefault(walk: Walk, schema: JSONSchemaProps, path: string): void {
  const value = structuredClone(schema.default);
  prune(value, schema, { path, root: false });
  if (!jsonEqual(value, schema.default)) {
    report(
      walk,
      path,
      `default must not have unknown fields (the API server would prune them), found ${
        JSON.stringify(schema.default)
      }`,
    );
    return;
  }
  const validator = new Validator();
  validator.value(schema, schema.default, path);
  for (const problem of validator.problems) {
    report(
      walk,
      problem.path,
      `default must be valid as written (the API server checks it without applying nested defaults): ${problem.message}`,
    );
  }
}

/** Options of {@linkcode structuralProblems}. */
export interface StructuralOptions {
  /** The path of the schema, prefixed to every problem. */
  path: string;
  /** Report keywords a `JSONSchemaProps` lacks (the server drops them). */
  refuseUnknownKeywords: boolean;
}

/** Every rule the schema breaks, each with its path. */
export function structuralProblems(
  schema: unknown,
  options: StructuralOptions,
): FieldProblem[] {
  const walk: Walk = {
    problems: [],
    refuseUnknownKeywords: options.refuseUnknownKeywords,
  };
  checkNode(walk, schema, options.path, "field");
  return walk.problems;
}
