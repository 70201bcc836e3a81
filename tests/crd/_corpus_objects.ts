/**
 * The corpus's objects generated from a schema: a full sample, a minimal
 * one, one with an unknown field, and per field the value absent, of the
 * wrong type, past its bounds, duplicated, or with unknown fields.
 *
 * @module
 */
import { normalize } from "../../crd/_normalize.ts";
import type { CorpusDefinition, CorpusObject } from "./corpus/definitions.ts";

type Json = unknown;
type Schema = Record<string, unknown>;

/** Whether `value` is a JSON object (a schema, or an object value). */
export function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const FORMAT_SAMPLES: Record<string, string> = {
  "date-time": "2024-01-02T03:04:05Z",
  date: "2024-01-02",
  duration: "5m",
  ipv4: "10.0.0.1",
  ipv6: "::1",
  cidr: "10.0.0.0/8",
  hostname: "example.com",
  mac: "00:11:22:33:44:55",
  uuid: "123e4567-e89b-12d3-a456-426614174000",
  byte: "aGVsbG8=",
  email: "a@example.com",
  uri: "https://example.com/x",
  hexcolor: "#abc",
};

function clampInt(s: Schema, wanted: number): number {
  let value = wanted;
  if (typeof s.minimum === "number") {
    const low = s.exclusiveMinimum === true
      ? Math.floor(s.minimum) + 1
      : Math.ceil(s.minimum);
    value = Math.max(value, low);
  }
  if (typeof s.maximum === "number") {
    const high = s.exclusiveMaximum === true
      ? Math.ceil(s.maximum) - 1
      : Math.floor(s.maximum);
    value = Math.min(value, high);
  }
  if (typeof s.multipleOf === "number" && Number.isInteger(s.multipleOf)) {
    value = Math.ceil(value / s.multipleOf) * s.multipleOf;
  }
  return value;
}

/** A typical value for a schema node. */
function sample(s: Schema, depth = 0): Json {
  if (s.default !== undefined) return structuredClone(s.default);
  if (Array.isArray(s.enum)) {
    return structuredClone(s.enum.find((v) => v !== null) ?? s.enum[0]);
  }
  if (s["x-kubernetes-int-or-string"] === true) return 8080;
  switch (s.type) {
    case "string": {
      const format = typeof s.format === "string"
        ? FORMAT_SAMPLES[s.format]
        : undefined;
      if (format !== undefined) return format;
      const min = typeof s.minLength === "number" ? s.minLength : 0;
      const max = typeof s.maxLength === "number" ? s.maxLength : 3;
      return "a".repeat(Math.min(Math.max(3, min), max));
    }
    case "integer":
      return clampInt(s, 1);
    case "number":
      return typeof s.minimum === "number" || typeof s.maximum === "number"
        ? ((s.minimum as number ?? 0) + (s.maximum as number ?? 2)) / 2
        : 1.5;
    case "boolean":
      return true;
    case "array": {
      if (!isSchema(s.items) || depth > 4) return [];
      const count = Math.max(
        1,
        typeof s.minItems === "number" ? s.minItems : 1,
      );
      const items = Array.from(
        { length: count },
        () => sample(s.items as Schema, depth + 1),
      );
      return items;
    }
    case "object":
    case undefined: {
      const out: Record<string, Json> = {};
      if (isSchema(s.properties)) {
        for (const [name, prop] of Object.entries(s.properties)) {
          if (isSchema(prop) && depth < 4) out[name] = sample(prop, depth + 1);
        }
      } else if (isSchema(s.additionalProperties)) {
        out.k1 = sample(s.additionalProperties, depth + 1);
      } else if (s["x-kubernetes-preserve-unknown-fields"] === true) {
        out.x = 1;
      }
      return out;
    }
    default:
      return {};
  }
}

/** The value with only required fields (those without a default). */
function minimal(s: Schema, depth = 0): Json {
  if (s.type !== "object" || !isSchema(s.properties) || depth > 4) {
    return sample(s, depth);
  }
  const out: Record<string, Json> = {};
  const required = Array.isArray(s.required) ? s.required : [];
  for (const [name, prop] of Object.entries(s.properties)) {
    if (
      required.includes(name) && isSchema(prop) && prop.default === undefined
    ) {
      out[name] = minimal(prop, depth + 1);
    }
  }
  return out;
}

interface Node {
  path: string[];
  schema: Schema;
}

function nodes(s: Schema, path: string[] = [], out: Node[] = []): Node[] {
  if (path.length > 3) return out;
  if (isSchema(s.properties)) {
    for (const [name, prop] of Object.entries(s.properties)) {
      if (!isSchema(prop)) continue;
      out.push({ path: [...path, name], schema: prop });
      nodes(prop, [...path, name], out);
    }
  }
  if (isSchema(s.items)) {
    out.push({ path: [...path, "0"], schema: s.items });
    nodes(s.items, [...path, "0"], out);
  }
  if (isSchema(s.additionalProperties)) {
    out.push({ path: [...path, "k1"], schema: s.additionalProperties });
    nodes(s.additionalProperties, [...path, "k1"], out);
  }
  return out;
}

function setAt(root: Json, path: string[], value: Json | undefined): boolean {
  let node = root as Record<string, Json>;
  for (const segment of path.slice(0, -1)) {
    const next = node?.[segment];
    if (typeof next !== "object" || next === null) return false;
    node = next as Record<string, Json>;
  }
  const last = path[path.length - 1];
  if (typeof node !== "object" || node === null) return false;
  if (value === undefined) {
    if (!(last in node)) return false;
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
  return true;
}

function getAt(root: Json, path: string[]): Json | undefined {
  let node = root;
  for (const segment of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, Json>)[segment];
  }
  return node;
}

function wrongType(s: Schema): Json {
  if (s["x-kubernetes-int-or-string"] === true) return true;
  switch (s.type) {
    case "string":
      return 7;
    case "integer":
    case "number":
      return "7";
    case "boolean":
      return "yes";
    case "array":
      return { a: 1 };
    default:
      return "text";
  }
}

function variants(s: Schema): { kind: string; value: Json }[] {
  const out: { kind: string; value: Json }[] = [
    { kind: "null", value: null },
    { kind: "type", value: wrongType(s) },
  ];
  if (Array.isArray(s.enum)) out.push({ kind: "not-enum", value: "zzz" });
  if (s.type === "integer" || s.type === "number") {
    if (typeof s.minimum === "number") {
      out.push({ kind: "below", value: s.minimum - 1 });
      out.push({ kind: "at-min", value: s.minimum });
    }
    if (typeof s.maximum === "number") {
      out.push({ kind: "above", value: s.maximum + 1 });
    }
    out.push({ kind: "huge", value: 1e20 });
    out.push({ kind: "fraction", value: 2.5 });
    out.push({ kind: "negative", value: -3 });
  }
  if (s.type === "string") {
    out.push({ kind: "empty", value: "" });
    out.push({ kind: "unicode", value: "é😀" });
    if (typeof s.maxLength === "number") {
      out.push({ kind: "too-long", value: "a".repeat(s.maxLength + 1) });
    }
    out.push({ kind: "spaces", value: " a b " });
  }
  if (s.type === "object" || s.type === undefined) {
    out.push({ kind: "empty-object", value: {} });
  }
  if (s.type === "array") {
    out.push({ kind: "empty-array", value: [] });
  }
  return out;
}

/** The objects of a definition: hand-written, then generated. */
export function objectsOf(def: CorpusDefinition): CorpusObject[] {
  const objects = [...(def.objects ?? [])];
  if (def.generate === false) return objects;
  const spec = normalize(def.spec) as Schema;
  const full = sample(spec);
  const generated: CorpusObject[] = [
    { id: "gen:full", spec: full },
    { id: "gen:minimal", spec: minimal(spec) },
    { id: "gen:unknown-field", spec: { ...(full as object), zzUnknown: 1 } },
  ];
  const candidates: CorpusObject[] = [];
  for (const node of nodes(spec)) {
    const at = node.path.join(".");
    const value = structuredClone(full);
    if (setAt(value, node.path, undefined)) {
      candidates.push({ id: `gen:absent:${at}`, spec: value });
    }
    for (const variant of variants(node.schema)) {
      const changed = structuredClone(full);
      if (setAt(changed, node.path, variant.value)) {
        candidates.push({ id: `gen:${variant.kind}:${at}`, spec: changed });
      }
    }
    const current = getAt(full, node.path);
    if (Array.isArray(current) && current.length > 0) {
      const changed = structuredClone(full);
      setAt(changed, node.path, [...current, structuredClone(current[0])]);
      candidates.push({ id: `gen:duplicate:${at}`, spec: changed });
    }
    if (isSchema(current) && isSchema(node.schema.properties)) {
      const changed = structuredClone(full);
      setAt(changed, node.path, { ...current, zzUnknown: { a: 1 } });
      candidates.push({ id: `gen:unknown:${at}`, spec: changed });
    }
  }
  // At most 14 generated variants per definition, spread over the list so
  // every field and every kind of change gets its turn.
  const limit = 14;
  const step = Math.max(1, candidates.length / limit);
  for (
    let i = 0;
    i < candidates.length && generated.length < limit + 3;
    i += step
  ) {
    generated.push(candidates[Math.floor(i)]);
  }
  const seen = new Set(objects.map((o) => JSON.stringify(o.spec)));
  for (const object of generated) {
    const key = JSON.stringify(object.spec);
    if (seen.has(key)) continue;
    seen.add(key);
    objects.push(object);
  }
  if (def.status !== undefined) {
    const status = normalize(def.status) as Schema;
    objects.push({ id: "gen:status", spec: full, status: sample(status) });
  }
  return objects;
}
