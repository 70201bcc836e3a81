/**
 * From a TypeBox (JSON Schema) schema to the structural OpenAPI v3 schema a
 * CustomResourceDefinition carries: the rewrites of TypeBox idioms, then the
 * checks a real kube-apiserver 1.32 makes (`schemaProblems` of
 * `client/schema.ts`).
 *
 * @module
 */
import { type JSONSchemaProps, schemaProblems } from "../client/schema.ts";
import { NonStructuralSchemaError } from "./errors.ts";
import { isSchema, normalize } from "./_normalize.ts";

export type { JSONSchemaProps };

/**
 * Options of {@linkcode toStructuralSchema}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { NonStructuralSchemaError } from "./errors.ts";
 * import { type StructuralSchemaOptions, toStructuralSchema } from "./schema.ts";
 * const options: StructuralSchemaOptions = { path: "status", kind: "Website" };
 * assert.throws(
 *   () => toStructuralSchema(Type.Object({ extra: Type.Any() }), options),
 *   (error) => error instanceof NonStructuralSchemaError && error.problems[0].path === "status.extra",
 * );
 * ```
 */
export interface StructuralSchemaOptions {
  /** The path of the schema in the resource, used in messages (default `spec`). */
  path?: string;
  /** The kind the schema belongs to, used in the error message. */
  kind?: string;
}

/**
 * Turns a TypeBox/JSON Schema into the structural OpenAPI v3 schema a
 * CustomResourceDefinition carries, or throws `NonStructuralSchemaError`
 * listing every violation with its path and rule.
 *
 * Rewrites of TypeBox idioms happen first, each exact for the values the
 * static type allows: a union of literals becomes `{type, enum}`, `const`
 * a one-value `enum`, a union with `Type.Null()` `nullable: true` (a
 * nullable enum keeps its values in `allOf`, since the server never
 * accepts null for a field with an `enum`), `Type.Union([Type.Integer(),
 * Type.String()])` `x-kubernetes-int-or-string`, `Type.Record(Type.String(),
 * X)` `additionalProperties: X`, `additionalProperties: true`
 * `x-kubernetes-preserve-unknown-fields` (the server prunes everything under
 * `additionalProperties: true`), numeric `exclusiveMinimum` /
 * `exclusiveMaximum` the OpenAPI v3.0 boolean form, and annotations the
 * server drops (`examples`, `readOnly`, `writeOnly`) are left out.
 * Everything else is checked as written, by the server's rules
 * (`schemaProblems` of `client/schema.ts`); CEL rules are not compiled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { toStructuralSchema } from "./schema.ts";
 *
 * const schema = toStructuralSchema(
 *   Type.Object({ size: Type.Union([Type.Literal("s"), Type.Literal("m")]) }),
 * );
 * assert.deepEqual(schema.properties?.size, { type: "string", enum: ["s", "m"] });
 * ```
 */
export function toStructuralSchema(
  schema: unknown,
  options: StructuralSchemaOptions = {},
): JSONSchemaProps {
  const path = options.path ?? "spec";
  const normalized = normalize(schema);
  const problems = schemaProblems(normalized, { path });
  if (
    problems.length === 0 && isSchema(normalized) &&
    normalized.type !== "object"
  ) {
    problems.push({
      path,
      reason: "FieldValueInvalid",
      message: `type must be object for ${path}, found ${
        JSON.stringify(normalized.type)
      }`,
    });
  }
  if (problems.length > 0) {
    throw new NonStructuralSchemaError(
      options.kind ?? "the resource",
      problems,
    );
  }
  return normalized as JSONSchemaProps;
}
