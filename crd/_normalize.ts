/**
 * The rewrites of TypeBox idioms into the structural schema that a real
 * kube-apiserver 1.32 treats the way the TypeScript type reads, before any
 * check. Each one is exact for the values the static type allows.
 *
 * @module
 */

type Schema = Record<string, unknown>;

/** Whether `value` is a schema object. */
export function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string | undefined {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") {
    return Number.isInteger(value) ? "integer" : "number";
  }
  return undefined;
}

/**
 * Keywords that only annotate (no validation meaning) and that a
 * `JSONSchemaProps` lacks: the API server drops them with a warning, so
 * the manifest leaves them out.
 */
const ANNOTATIONS = new Set([
  "examples",
  "readOnly",
  "writeOnly",
  "deprecated",
  "$comment",
]);

/** A union of literals (`anyOf` of `{type, const}`) becomes `{type, enum}`. */
function literalUnion(branches: Schema[]): Schema | undefined {
  const values: unknown[] = [];
  let type: string | undefined;
  for (const branch of branches) {
    const keys = Object.keys(branch).filter((k) => k !== "type");
    if (keys.length !== 1 || (keys[0] !== "const" && keys[0] !== "enum")) {
      return undefined;
    }
    const own = keys[0] === "const" ? [branch.const] : branch.enum;
    if (!Array.isArray(own)) return undefined;
    for (const value of own) {
      const valueType = jsonType(value);
      if (valueType === undefined) return undefined;
      const merged = type === "number" || valueType === "number"
        ? (type === undefined || type === "integer" || type === "number") &&
            (valueType === "integer" || valueType === "number")
          ? "number"
          : undefined
        : type === undefined || type === valueType
        ? valueType
        : undefined;
      if (merged === undefined) return undefined;
      type = merged;
      values.push(value);
    }
  }
  return type === undefined ? undefined : { type, enum: values };
}

/** `Type.Union([Type.Integer(), Type.String()])`, in either order. */
function isIntegerOrString(branches: Schema[]): boolean {
  if (branches.length !== 2) return false;
  const types = branches.map((b) =>
    Object.keys(b).length === 1 ? b.type : undefined
  ).sort();
  return types[0] === "integer" && types[1] === "string";
}

const JUNCTORS = new Set(["allOf", "anyOf", "oneOf", "not"]);

/**
 * Rewrites the TypeBox idioms and copies only own enumerable keys (TypeBox
 * keeps its markers non-enumerable). Inside `allOf`/`anyOf`/`oneOf`/`not`
 * (`nested`), no `type` is added: value validations only.
 */
export function normalize(input: unknown, nested = false): unknown {
  if (Array.isArray(input)) return input.map((x) => normalize(x, nested));
  if (!isSchema(input)) return input;
  let schema: Schema = {};
  for (const key of Object.keys(input)) {
    if (ANNOTATIONS.has(key)) continue;
    const value = input[key];
    schema[key] = key === "default" || key === "enum" || key === "example" ||
        key === "const" || key === "x-kubernetes-validations"
      ? structuredClone(value)
      : key === "properties" && isSchema(value)
      ? Object.fromEntries(
        Object.keys(value).map((
          name,
        ) => [name, normalize(value[name], nested)]),
      )
      : normalize(value, nested || JUNCTORS.has(key));
  }
  for (const junctor of ["anyOf", "oneOf"] as const) {
    const branches = schema[junctor];
    if (!Array.isArray(branches) || !branches.every(isSchema)) continue;
    const nulls = branches.filter((b) =>
      b.type === "null" && Object.keys(b).length === 1
    );
    const others = branches.filter((b) => !nulls.includes(b));
    if (nulls.length === 1 && others.length >= 1) {
      const rest = { ...schema };
      delete rest[junctor];
      const inner = others.length === 1 ? others[0] : literalUnion(others) ??
        (isIntegerOrString(others)
          ? { "x-kubernetes-int-or-string": true }
          : { [junctor]: others });
      schema = { ...rest, ...inner, nullable: true };
      continue;
    }
    if (!nested && isIntegerOrString(branches)) {
      const rest = { ...schema };
      delete rest[junctor];
      schema = { ...rest, "x-kubernetes-int-or-string": true };
      continue;
    }
    const merged = literalUnion(branches);
    if (merged !== undefined) {
      const rest = { ...schema };
      delete rest[junctor];
      if (nested) delete merged.type;
      schema = { ...rest, ...merged };
    }
  }
  if ("const" in schema && !("enum" in schema)) {
    schema.enum = [schema.const];
    delete schema.const;
  }
  if (!nested && Array.isArray(schema.enum) && schema.type === undefined) {
    const types = new Set(
      schema.enum.filter((v) => v !== null).map(jsonType),
    );
    if (types.size === 1 && !types.has(undefined)) {
      schema.type = [...types][0];
    } else if (
      types.size === 2 && types.has("integer") && types.has("number")
    ) {
      schema.type = "number";
    }
  }
  // The server checks an enum even on null and never matches null, so a
  // nullable enum would refuse null: keep the values in allOf, which the
  // server does not evaluate on null.
  if (schema.nullable === true && Array.isArray(schema.enum)) {
    const values = schema.enum.filter((v) => v !== null);
    delete schema.enum;
    const allOf = Array.isArray(schema.allOf) ? schema.allOf : [];
    schema.allOf = [{ enum: values }, ...allOf];
  }
  const pattern = schema.patternProperties;
  if (
    isSchema(pattern) && Object.keys(pattern).length === 1 &&
    isSchema(pattern["^.*$"]) && schema.additionalProperties === undefined &&
    (!isSchema(schema.properties) ||
      Object.keys(schema.properties).length === 0)
  ) {
    schema.additionalProperties = pattern["^.*$"];
    delete schema.patternProperties;
    delete schema.properties;
  }
  // additionalProperties: true keeps any field in JSON Schema; the server
  // prunes everything nested under it. Preserving unknown fields is what
  // the type (an open object) says.
  if (!nested && schema.additionalProperties === true) {
    delete schema.additionalProperties;
    schema["x-kubernetes-preserve-unknown-fields"] = true;
  }
  if (
    isSchema(schema.properties) &&
    Object.keys(schema.properties).length === 0 &&
    (isSchema(schema.additionalProperties) ||
      schema["x-kubernetes-preserve-unknown-fields"] === true)
  ) {
    delete schema.properties;
  }
  for (
    const [exclusive, inclusive] of [
      ["exclusiveMinimum", "minimum"],
      ["exclusiveMaximum", "maximum"],
    ] as const
  ) {
    if (
      typeof schema[exclusive] === "number" && schema[inclusive] === undefined
    ) {
      schema[inclusive] = schema[exclusive];
      schema[exclusive] = true;
    }
  }
  return schema;
}
