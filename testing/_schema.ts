/**
 * Custom resources against their CRD's structural OpenAPI v3 schema, as the
 * real server treats them: defaults filled in, unknown fields pruned, then
 * validated (types, required, enums, bounds, lengths, patterns, item
 * counts), every failure reported with its field path.
 *
 * @module
 */
import { isObject, type Json, type JsonObject } from "./_patch.ts";
import type { StatusCause } from "./_status.ts";

/** The subset of a JSONSchemaProps the server understands. */
export interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  required?: string[];
  enum?: Json[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: Json;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
}

function asSchema(value: unknown): OpenApiSchema | undefined {
  return isObject(value) ? value as unknown as OpenApiSchema : undefined;
}

function childSchema(
  schema: OpenApiSchema,
  key: string,
): OpenApiSchema | undefined {
  const prop = schema.properties?.[key];
  if (prop) return asSchema(prop);
  if (isObject(schema.additionalProperties)) {
    return asSchema(schema.additionalProperties);
  }
  return undefined;
}

function keepsUnknown(schema: OpenApiSchema): boolean {
  return schema["x-kubernetes-preserve-unknown-fields"] === true ||
    schema.additionalProperties === true;
}

/**
 * Fills defaults and prunes unknown fields, in place. The root keeps
 * `apiVersion`, `kind` and `metadata` whatever the schema says.
 */
export function defaultAndPrune(
  schema: OpenApiSchema,
  value: Json,
  root = false,
): Json {
  if (isObject(value)) {
    if (schema.properties) {
      for (const [key, prop] of Object.entries(schema.properties)) {
        if (!(key in value) && prop.default !== undefined) {
          value[key] = structuredClone(prop.default);
        }
      }
    }
    for (const key of Object.keys(value)) {
      if (
        root && (key === "apiVersion" || key === "kind" || key === "metadata")
      ) {
        continue;
      }
      const child = childSchema(schema, key);
      if (child) value[key] = defaultAndPrune(child, value[key]);
      else if (!keepsUnknown(schema)) delete value[key];
    }
  } else if (Array.isArray(value) && schema.items) {
    const items = asSchema(schema.items);
    if (items) {
      for (let i = 0; i < value.length; i++) {
        value[i] = defaultAndPrune(items, value[i]);
      }
    }
  }
  return value;
}

function typeName(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") {
    return Number.isInteger(value) ? "integer" : "number";
  }
  return typeof value;
}

function show(value: Json): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : JSON.stringify(value);
}

function typeMatches(schema: OpenApiSchema, value: Json): boolean {
  if (schema["x-kubernetes-int-or-string"]) {
    return typeof value === "string" ||
      (typeof value === "number" && Number.isInteger(value));
  }
  switch (schema.type) {
    case undefined:
      return true;
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

/** Validates `value`; returns one cause per failure, empty when valid. */
export function validateSchema(
  schema: OpenApiSchema,
  value: Json,
  path: string,
): StatusCause[] {
  const causes: StatusCause[] = [];
  walk(schema, value, path, causes);
  return causes;
}

function invalidCause(
  field: string,
  value: Json,
  message: string,
): StatusCause {
  return {
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${show(value)}: ${message}`,
  };
}

function walk(
  schema: OpenApiSchema,
  value: Json,
  path: string,
  causes: StatusCause[],
): void {
  if (value === null) {
    if (schema.nullable || schema.type === undefined) return;
    causes.push({
      reason: "FieldValueTypeInvalid",
      field: path,
      message: `Invalid value: "null": ${path} in body must be of type ${
        schema.type ?? "object"
      }: "null"`,
    });
    return;
  }
  if (!typeMatches(schema, value)) {
    const expected = schema["x-kubernetes-int-or-string"]
      ? "integer,string"
      : schema.type;
    causes.push({
      reason: "FieldValueTypeInvalid",
      field: path,
      message: `Invalid value: "${
        typeName(value)
      }": ${path} in body must be of type ${expected}: "${typeName(value)}"`,
    });
    return;
  }
  if (
    schema.enum &&
    !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))
  ) {
    causes.push({
      reason: "FieldValueNotSupported",
      field: path,
      message: `Unsupported value: ${show(value)}: supported values: ${
        schema.enum.map(show).join(", ")
      }`,
    });
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined) {
      const bad = schema.exclusiveMinimum
        ? value <= schema.minimum
        : value < schema.minimum;
      if (bad) {
        causes.push(invalidCause(
          path,
          value,
          `${path} in body should be greater than ${
            schema.exclusiveMinimum ? "" : "or equal to "
          }${schema.minimum}`,
        ));
      }
    }
    if (schema.maximum !== undefined) {
      const bad = schema.exclusiveMaximum
        ? value >= schema.maximum
        : value > schema.maximum;
      if (bad) {
        causes.push(invalidCause(
          path,
          value,
          `${path} in body should be less than ${
            schema.exclusiveMaximum ? "" : "or equal to "
          }${schema.maximum}`,
        ));
      }
    }
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      causes.push(invalidCause(
        path,
        value,
        `${path} in body should be at least ${schema.minLength} chars long`,
      ));
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      causes.push({
        reason: "FieldValueTooLong",
        field: path,
        message: `Too long: may not be more than ${schema.maxLength} bytes`,
      });
    }
    if (
      schema.pattern !== undefined &&
      !new RegExp(schema.pattern, "u").test(value)
    ) {
      causes.push(invalidCause(
        path,
        value,
        `${path} in body should match '${schema.pattern}'`,
      ));
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      causes.push(invalidCause(
        path,
        value,
        `${path} in body should have at least ${schema.minItems} items`,
      ));
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      causes.push({
        reason: "FieldValueTooMany",
        field: path,
        message:
          `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
      });
    }
    const items = asSchema(schema.items);
    if (items) value.forEach((v, i) => walk(items, v, `${path}[${i}]`, causes));
  }
  if (isObject(value)) {
    walkObject(schema, value, path, causes);
  }
}

function walkObject(
  schema: OpenApiSchema,
  value: JsonObject,
  path: string,
  causes: StatusCause[],
): void {
  const prefix = path === "" ? "" : `${path}.`;
  for (const key of schema.required ?? []) {
    if (!(key in value)) {
      causes.push({
        reason: "FieldValueRequired",
        field: `${prefix}${key}`,
        message: "Required value",
      });
    }
  }
  const count = Object.keys(value).length;
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    causes.push(invalidCause(
      path,
      count,
      `${path} in body should have at least ${schema.minProperties} properties`,
    ));
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    causes.push(invalidCause(
      path,
      count,
      `${path} in body should have at most ${schema.maxProperties} properties`,
    ));
  }
  for (const [key, child] of Object.entries(value)) {
    if (
      path === "" &&
      (key === "apiVersion" || key === "kind" || key === "metadata")
    ) {
      continue;
    }
    const sub = childSchema(schema, key);
    if (sub) walk(sub, child, `${prefix}${key}`, causes);
  }
}
