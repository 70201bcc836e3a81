/**
 * What the API server does to a custom object before it validates it, in
 * its order: prune unknown fields (apiextensions `pruning`), drop nulls of
 * non-nullable fields that have no default (`PruneNonNullableNullsWithoutDefaults`),
 * drop unknown fields of embedded `metadata` (`objectmeta.Coerce`), then
 * fill in defaults (`structuraldefaulting.Default`). All in place.
 *
 * @module
 */
import { child, index, isObject, type JsonObject } from "./_json.ts";
import { OBJECT_META_FIELDS } from "./_meta.ts";
import type { JSONSchemaProps } from "./schema.ts";

const META_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

/**
 * The schema that applies to the values of unnamed keys: `undefined` when
 * unnamed keys are unknown, `null` when they are allowed but have no schema
 * (`additionalProperties: true`, whose content the server prunes).
 */
function additional(
  schema: JSONSchemaProps,
): JSONSchemaProps | null | undefined {
  const value = schema.additionalProperties;
  if (value === undefined || value === false) return undefined;
  return isObject(value) ? value as JSONSchemaProps : null;
}

function prop(
  schema: JSONSchemaProps | null | undefined,
  key: string,
): JSONSchemaProps | null | undefined {
  if (schema === null || schema === undefined) return undefined;
  const properties = schema.properties;
  if (properties !== undefined && Object.hasOwn(properties, key)) {
    return properties[key];
  }
  return additional(schema);
}

/** Removes what the schema does not know; returns the removed paths. */
export function prune(
  value: unknown,
  schema: JSONSchemaProps | null | undefined,
  options: { path: string; root: boolean },
): string[] {
  const removed: string[] = [];
  const root = options.root && schema
    ? { ...schema, "x-kubernetes-embedded-resource": true }
    : schema;
  pruneNode(value, root ?? null, options.path, removed, options.root);
  return removed.sort();
}

function pruneNode(
  x: unknown,
  s: JSONSchemaProps | null,
  path: string,
  removed: string[],
  atRoot: boolean,
): void {
  if (s !== null && s["x-kubernetes-preserve-unknown-fields"] === true) {
    skipPrune(x, s, path, removed);
    return;
  }
  if (isObject(x)) {
    const embedded = s?.["x-kubernetes-embedded-resource"] === true;
    for (const key of Object.keys(x)) {
      if (embedded && META_FIELDS.has(key)) continue;
      const sub = prop(s, key);
      if (sub !== undefined) {
        pruneNode(x[key], sub, child(path, key), removed, false);
      } else {
        if (!(atRoot && META_FIELDS.has(key))) removed.push(child(path, key));
        delete x[key];
      }
    }
  } else if (Array.isArray(x)) {
    x.forEach((item, i) =>
      pruneNode(item, s?.items ?? null, index(path, i), removed, false)
    );
  }
}

function skipPrune(
  x: unknown,
  s: JSONSchemaProps,
  path: string,
  removed: string[],
): void {
  if (isObject(x)) {
    const embedded = s["x-kubernetes-embedded-resource"] === true;
    for (const key of Object.keys(x)) {
      if (embedded && META_FIELDS.has(key)) continue;
      const sub = prop(s, key);
      if (sub !== undefined) {
        pruneNode(x[key], sub, child(path, key), removed, false);
      }
    }
  } else if (Array.isArray(x) && s.items !== undefined) {
    x.forEach((item, i) => skipPrune(item, s.items!, index(path, i), removed));
  }
}

function nonNullableNullWithoutDefault(
  x: unknown,
  s: JSONSchemaProps | null | undefined,
): boolean {
  return x === null && s !== null && s !== undefined && s.nullable !== true &&
    (s.default === undefined || s.default === null);
}

/** Drops nulls of fields that are not nullable and have no default. */
export function pruneNulls(
  x: unknown,
  s: JSONSchemaProps | null | undefined,
): void {
  if (isObject(x)) {
    for (const key of Object.keys(x)) {
      const sub = prop(s, key);
      if (nonNullableNullWithoutDefault(x[key], sub)) delete x[key];
      else pruneNulls(x[key], sub);
    }
  } else if (Array.isArray(x)) {
    for (const item of x) pruneNulls(item, s?.items);
  }
}

/** Drops fields of embedded objects' `metadata` that `ObjectMeta` lacks. */
export function coerceEmbeddedMeta(
  x: unknown,
  s: JSONSchemaProps | null | undefined,
  removed: string[],
  path: string,
): void {
  if (s === null || s === undefined) return;
  if (isObject(x)) {
    if (s["x-kubernetes-embedded-resource"] === true && isObject(x.metadata)) {
      dropUnknownMeta(x.metadata, removed, child(path, "metadata"));
    }
    for (const key of Object.keys(x)) {
      if (
        s["x-kubernetes-embedded-resource"] === true && META_FIELDS.has(key)
      ) {
        continue;
      }
      coerceEmbeddedMeta(x[key], prop(s, key), removed, child(path, key));
    }
  } else if (Array.isArray(x)) {
    x.forEach((item, i) =>
      coerceEmbeddedMeta(item, s.items, removed, index(path, i))
    );
  }
}

function empty(value: unknown): boolean {
  return value === null || value === "" || value === 0 ||
    (Array.isArray(value) && value.length === 0) ||
    (isObject(value) && Object.keys(value).length === 0);
}

/**
 * What decoding into `ObjectMeta` and encoding back does: fields it does
 * not have are dropped (and reported), empty ones (null, "", 0, [], {})
 * are left out — but for `deletionGracePeriodSeconds`, a pointer whose 0
 * stays.
 */
export function dropUnknownMeta(
  meta: JsonObject,
  removed: string[],
  path: string,
): void {
  for (const key of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(key)) {
      removed.push(child(path, key));
      delete meta[key];
    } else if (
      empty(meta[key]) &&
      !(key === "deletionGracePeriodSeconds" && meta[key] === 0)
    ) {
      delete meta[key];
    }
  }
}

function isNonNullableNull(
  x: unknown,
  s: JSONSchemaProps | null | undefined,
): boolean {
  return x === null && s !== null && s !== undefined && s.nullable !== true;
}

function copyDefault(s: JSONSchemaProps | null | undefined): unknown {
  const value = s?.default;
  return value === undefined ? null : structuredClone(value);
}

/** Fills in defaults, also where a non-nullable field is null. */
export function applyDefaults(
  x: unknown,
  s: JSONSchemaProps | null | undefined,
): void {
  if (s === null || s === undefined) return;
  if (isObject(x)) {
    for (const [key, sub] of Object.entries(s.properties ?? {})) {
      if (sub.default === undefined || sub.default === null) continue;
      if (!Object.hasOwn(x, key) || isNonNullableNull(x[key], sub)) {
        x[key] = structuredClone(sub.default);
      }
    }
    const more = additional(s);
    for (const key of Object.keys(x)) {
      if (s.properties !== undefined && Object.hasOwn(s.properties, key)) {
        applyDefaults(x[key], s.properties[key]);
      } else if (more !== undefined) {
        if (isNonNullableNull(x[key], more)) x[key] = copyDefault(more);
        applyDefaults(x[key], more);
      }
    }
  } else if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      if (isNonNullableNull(x[i], s.items)) x[i] = copyDefault(s.items);
      applyDefaults(x[i], s.items);
    }
  }
}
