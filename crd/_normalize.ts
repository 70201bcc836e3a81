/**
 * The exact rewrites of TypeBox idioms into their structural equivalents,
 * before any check.
 *
 * @module
 */

type Schema = Record<string, unknown>;

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

/**
 * Rewrites the TypeBox idioms that have an exact structural equivalent and
 * copies only own enumerable keys (TypeBox keeps its markers non-enumerable).
 */
export function normalize(input: unknown): unknown {
  if (Array.isArray(input)) return input.map(normalize);
  if (!isSchema(input)) return input;
  let schema: Schema = {};
  for (const key of Object.keys(input)) {
    const value = input[key];
    schema[key] = key === "default" || key === "enum" || key === "example" ||
        key === "const"
      ? structuredClone(value)
      : key === "properties" && isSchema(value)
      ? Object.fromEntries(
        Object.keys(value).map((name) => [name, normalize(value[name])]),
      )
      : normalize(value);
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
      const inner = others.length === 1
        ? others[0]
        : literalUnion(others) ?? { [junctor]: others };
      schema = { ...rest, ...inner, nullable: true };
      continue;
    }
    const merged = literalUnion(branches);
    if (merged !== undefined) {
      const rest = { ...schema };
      delete rest[junctor];
      schema = { ...rest, ...merged };
    }
  }
  if ("const" in schema && !("enum" in schema)) {
    schema.enum = [schema.const];
    delete schema.const;
  }
  if (Array.isArray(schema.enum) && schema.type === undefined) {
    const types = new Set(schema.enum.map(jsonType));
    if (types.size === 1 && !types.has(undefined)) {
      schema.type = [...types][0];
    } else if (
      types.size === 2 && types.has("integer") && types.has("number")
    ) {
      schema.type = "number";
    }
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
  if (
    isSchema(schema.properties) &&
    Object.keys(schema.properties).length === 0 &&
    isSchema(schema.additionalProperties)
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
