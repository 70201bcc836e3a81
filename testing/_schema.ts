/**
 * Custom resources against their CRD's structural OpenAPI v3 schema, with
 * the library's own implementation of what a real kube-apiserver does
 * (`client/schema.ts`, shared with `crd/`): unknown fields pruned, nulls
 * dropped, defaults filled in, then validated (types, formats, enums,
 * bounds, patterns as RE2, list-type uniqueness, embedded resources,
 * metadata). This module only turns its problems into `Status` causes.
 *
 * @module
 */
import {
  admitObject,
  type FieldProblem,
  type JSONSchemaProps,
  schemaProblems,
} from "../client/schema.ts";
import { isObject, type JsonObject } from "./_patch.ts";
import type { StatusCause } from "./_status.ts";

const PREFIXES: Record<string, string> = {
  FieldValueInvalid: "Invalid value",
  FieldValueTypeInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueTooLong: "Too long",
  FieldValueTooMany: "Too many",
  FieldValueDuplicate: "Duplicate value",
  FieldValueForbidden: "Forbidden",
};

/** A problem as the `StatusCause` a real server would send. */
export function causeOf(problem: FieldProblem): StatusCause {
  const reason = problem.reason ?? "FieldValueInvalid";
  return {
    reason,
    field: problem.path,
    message: reason === "FieldValueRequired"
      ? "Required value"
      : `${PREFIXES[reason] ?? "Invalid value"}: ${problem.message}`,
  };
}

/**
 * Admits a custom object in place, as the server does on a write: after
 * this, `obj` (and its `metadata` object) holds what would be stored.
 * Returns the causes of refusal and the paths of the fields it pruned.
 */
export function admitCustomObject(
  schema: JSONSchemaProps,
  obj: JsonObject,
  options: { namespaced: boolean },
): { causes: StatusCause[]; pruned: string[] } {
  const admission = admitObject(schema, obj, {
    namespaced: options.namespaced,
  });
  const value = admission.value as JsonObject;
  const meta = obj.metadata;
  if (isObject(meta) && isObject(value.metadata)) {
    // Callers hold the metadata object: keep it, with the new content.
    for (const key of Object.keys(meta)) delete meta[key];
    Object.assign(meta, value.metadata);
    value.metadata = meta;
  }
  for (const key of Object.keys(obj)) delete obj[key];
  Object.assign(obj, value);
  return { causes: admission.problems.map(causeOf), pruned: admission.pruned };
}

/**
 * The problems a real server finds with a CRD version's schema, as
 * `[field, message]` pairs under `path`. Keywords a `JSONSchemaProps` lacks
 * are ignored, as the server drops them.
 */
export function crdSchemaProblems(
  schema: unknown,
  path: string,
): [string, string][] {
  return schemaProblems(schema, { path, refuseUnknownKeywords: false }).map((
    problem,
  ) => [problem.path, causeOf(problem).message]);
}
